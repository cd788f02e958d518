@testable import FFRTMPCore
import Foundation
import XCTest
import FFRTMPTestSupport

/// The legacy path's spawn (a fork in the agent): the workload gets none of the agent's open
/// files and a session of its own, whatever the agent holds.
final class LegacySpawnTests: XCTestCase {
    func testNoInheritedDescriptorAndASessionOfItsOwn() throws {
        let d = try TempDir()
        // Deliberately without O_CLOEXEC: what a careless open (or an accept) in the agent leaves.
        let leak = open(d.path + "/secret", O_RDWR | O_CREAT, 0o600)
        XCTAssertGreaterThan(leak, 2)
        defer { close(leak) }
        let out = open(d.path + "/out", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(out); close(null) }
        let media = open(d.path + "/media", O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
        defer { close(media) }
        let pid = try Sys.spawnLogged(path: "/bin/sh", argv: ["sh", "-c", "ls /proc/$$/fd | tr '\\n' ' '; echo; cut -d' ' -f6 /proc/$$/stat"],
                                      stdout: out, stderr: null, files: [PassedFD(source: media, target: WorkloadFD.input)])
        var st: Int32 = 0
        waitpid(pid, &st, 0)
        XCTAssertEqual(st, 0)
        let lines = (d.read("out") ?? "").split(separator: "\n").map(String.init)
        let fds = Set(lines.first?.split(separator: " ").compactMap { Int32($0) } ?? [])
        XCTAssertFalse(fds.contains(leak), "the agent's fd \(leak) reached the workload: \(fds.sorted())")
        XCTAssertTrue(fds.contains(WorkloadFD.input), "the job's own file is passed: \(fds.sorted())")
        XCTAssertEqual(lines.dropFirst().first.flatMap { Int32($0) }, pid, "the workload leads its own session (no controlling terminal)")
    }
}
