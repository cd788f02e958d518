import FFRTMPCore
import Foundation
import XCTest

/// A job that ends while its state dir's disk is full keeps its true outcome: the shim
/// writes exit.json into the space it reserved when the job started.
final class FullDiskTests: IntegrationTestCase {
    func testOutcomeIsKeptWhenTheDiskFillsWhileTheJobRuns() throws {
        let mnt = h.stateDir + "/tiny"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        guard mount("tmpfs", mnt, "tmpfs", 0, "size=512k") == 0 else {
            throw XCTSkip("skipped: cannot mount a tmpfs here (errno \(errno))")
        }
        defer { umount2(mnt, Int32(MNT_DETACH)) }
        let state = mnt + "/state"
        let run = try h.ffrtmp(["run", "--state-dir", state, "--detach", "--job-id", "full-2", "--", h.testload, "sleep", "2"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(h.waitUntil(5, "space reserved") { FileManager.default.fileExists(atPath: state + "/jobs/full-2/exit.json.reserve") })
        // Fill the disk to the last block.
        let fd = open(mnt + "/fill", O_WRONLY | O_CREAT, 0o600)
        var block = [UInt8](repeating: 0, count: 4096)
        while write(fd, &block, block.count) > 0 {}
        XCTAssertEqual(errno, ENOSPC)
        close(fd)
        XCTAssertTrue(h.waitUntil(10, "exit record") { FileManager.default.fileExists(atPath: state + "/jobs/full-2/exit.json") })
        let ps = try h.ffrtmp(["ps", "--state-dir", state, "--json"])
        let jobs = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]])
        let job = try XCTUnwrap(jobs.first { $0["job_id"] as? String == "full-2" })
        XCTAssertEqual(job["state"] as? String, "exited", "\(job)")
        XCTAssertEqual(job["exit_code"] as? Int, 0)
        XCTAssertEqual(job["platform_sla"] as? Bool, true)
        XCTAssertTrue(h.read(state + "/jobs/full-2/shim.log")?.contains("written into the space reserved at start") ?? false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: state + "/jobs/full-2/exit.json.reserve"))
    }
}
