import XCTest

/// XCTAssertEqual for an async expression (XCTest's autoclosures cannot await).
func eq<T: Equatable>(_ a: @autoclosure () async throws -> T, _ b: @autoclosure () -> T, _ message: String = "",
                      file: StaticString = #filePath, line: UInt = #line) async {
    do {
        let v = try await a()
        XCTAssertEqual(v, b(), message, file: file, line: line)
    } catch {
        XCTFail("threw \(error) \(message)", file: file, line: line)
    }
}
