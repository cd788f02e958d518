import FFRTMPCore
import Foundation
import XCTest

/// exit.json has two writers (the shim in C, the core in Swift) and one reader (Swift): one
/// fixture and the real shim keep them from drifting.
final class ExitRecordFormatTests: IntegrationTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/exit-record.v1.json").path

    func keys(_ text: String) throws -> Set<String> {
        Set((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]).keys)
    }

    func testTheFixtureHoldsEveryKeyTheReaderKnowsAndDecodes() throws {
        let text = try String(contentsOfFile: Self.fixture, encoding: .utf8)
        XCTAssertEqual(try keys(text), ExitRecord.allKeys, "Tests/Fixtures/exit-record.v1.json and ExitRecord.CodingKeys differ")
        let rec = try JSONDecoder().decode(ExitRecord.self, from: Data(text.utf8))
        XCTAssertEqual(rec.version, ExitRecord.currentVersion)
        XCTAssertEqual(rec.signal, 9)
        XCTAssertEqual(rec.stragglersKilled, 2)
        XCTAssertEqual(rec.notes, ["a note"])
    }

    /// The real shim, without cgroups, writes exactly the keys the reader knows minus the ones
    /// only Swift writers add; and its record reads back through the journal.
    func testTheShimWritesTheKeysTheReaderExpects() throws {
        let journal = JobJournal(stateDir: h.stateDir)
        let id = try JobID("format")
        try journal.claim(id)
        let dir = journal.dir(id)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: h.binDir + "/ffrtmp-shim")
        p.arguments = ["--job-dir", dir, "--", "/bin/sh", "-c", "exit 3"]
        try p.run()
        h.waitUntil(20, "the shim wrote exit.json") { FileManager.default.fileExists(atPath: dir + "/exit.json") }
        p.waitUntilExit()
        let text = try XCTUnwrap(h.read(dir + "/exit.json"))
        let written = try keys(text)
        XCTAssertEqual(written, ExitRecord.allKeys.subtracting(ExitRecord.swiftOnlyKeys),
                       "shim-only: \(written.subtracting(ExitRecord.allKeys)), missing: \(ExitRecord.allKeys.subtracting(ExitRecord.swiftOnlyKeys).subtracting(written))")
        let rec = try XCTUnwrap(try journal.exitRecord(id))
        XCTAssertEqual(rec.exitCode, 3)
        XCTAssertEqual(rec.version, ExitRecord.currentVersion)
    }

    func testAReaderRefusesANewerVersion() throws {
        let journal = JobJournal(stateDir: h.stateDir)
        let id = try JobID("future")
        try journal.claim(id)
        let text = try String(contentsOfFile: Self.fixture, encoding: .utf8).replacingOccurrences(of: #""version":1"#, with: #""version":2"#)
        try text.write(toFile: journal.file(id, "exit.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try journal.exitRecord(id)) { e in
            XCTAssertTrue("\(e)".contains("exit record version 2"), "\(e)")
        }
    }
}
