import FFRTMPCore
import XCTest

final class JobIDTests: XCTestCase {
    func testAccepts() throws {
        for ok in ["a", "job-1", "A.b_c-9", String(repeating: "x", count: 128)] {
            XCTAssertEqual(try JobID(ok).value, ok)
        }
    }

    func testRejectsPathsAndJunkWithFieldName() {
        let bad = ["", ".", "..", "../../x", ".hidden", "a/b", "a b", "a\u{0}b", "ü", String(repeating: "x", count: 129), "a\nb", "$(id)"]
        for b in bad {
            XCTAssertThrowsError(try JobID(b), b) { e in
                XCTAssertTrue("\(e)".hasPrefix("invalid job id"), "\(e)")
            }
        }
    }

    func testGeneratedIdsAreValidAndDistinct() {
        let a = JobID.generate(), b = JobID.generate()
        XCTAssertNotEqual(a, b)
        XCTAssertNoThrow(try JobID(a.value))
    }

    func testDecodingValidates() {
        let json = Data(#"{"id":"../etc"}"#.utf8)
        struct W: Decodable { var id: JobID }
        XCTAssertThrowsError(try JSONDecoder().decode(W.self, from: json))
    }
}
