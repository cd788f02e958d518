import FFRTMPCore
import Foundation
import XCTest

/// The shim's new flags, given hostile values directly: each is refused with usage status 2 and
/// a message naming the flag, before anything runs.
final class ShimFlagTests: IntegrationTestCase {
    func shim(_ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: h.binDir + "/ffrtmp-shim")
        p.arguments = ["--job-dir", h.stateDir] + args + ["--", "/bin/true"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    func testHostileValuesAreUsageErrorsNamingTheFlag() throws {
        for (args, flag) in [(["--user", "nobody"], "--user"), (["--user", "0"], "--user"), (["--user", "-1:0"], "--user"),
                             (["--user", "4294967295:0"], "--user"), (["--user", "1:2:3"], "--user"), (["--user", "1:2", "--user", "1:2"], "--user"),
                             (["--pass-fd", "3"], "--pass-fd"), (["--pass-fd", "1"], "--pass-fd"), (["--pass-fd", "999"], "--pass-fd"),
                             (["--pass-fd", "x"], "--pass-fd"), (["--max-output-bytes", "0"], "--max-output-bytes"),
                             (["--max-output-bytes", "-5"], "--max-output-bytes"), (["--max-output-bytes", " 5"], "--max-output-bytes"),
                             (["--max-output-bytes", "99999999999999999999999"], "--max-output-bytes")] {
            let (status, text) = try shim(args)
            XCTAssertEqual(status, 2, "\(args): \(text)")
            XCTAssertTrue(text.contains(flag), "\(args): \(text)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.stateDir + "/exit.json"), "nothing ran")
    }
}
