import FFRTMPCore
import Foundation
import XCTest

final class AttachTests: IntegrationTestCase {
    func testAttachThenDetachRestoresTheOriginalCgroups() throws {
        let target = try h.startPlain(h.testload, ["sleep", "30"])
        let pid = target.processIdentifier
        let before = try XCTUnwrap(ProcFS.cgroups(pid))
        let attach = try h.start(["attach", "--pid", String(pid), "--job-id", "adopt", "--cpu-percent", "50", "--memory-max-mb", "128", "--json"])
        h.waitUntil(10, "process moved into the job cgroup") {
            h.cgroupPath(pid, "cpu") == h.parent + "/adopt"
        }
        for c in ["cpu", "memory", "pids", "freezer"] where h.v1Mounts[c] != nil {
            XCTAssertEqual(h.cgroupPath(pid, c), h.parent + "/adopt", c)
        }
        let cpuDir = try XCTUnwrap(h.v1Mounts["cpu"]) + h.parent + "/adopt"
        XCTAssertEqual(h.read(cpuDir + "/cpu.cfs_quota_us")?.trimmingCharacters(in: .whitespacesAndNewlines), "50000")
        let ps = try XCTUnwrap(h.psJob("adopt"))
        XCTAssertEqual(ps["mode"] as? String, "attach")
        XCTAssertEqual(ps["state"] as? String, "running")
        kill(attach.pid, SIGINT)
        let out = try h.finish(attach)
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertTrue(h.alive(pid), "detach killed the adopted process")
        XCTAssertEqual(ProcFS.cgroups(pid), before, "cgroups not restored")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cpuDir))
        let r = try h.json(out.stdout)
        XCTAssertEqual(r["state"] as? String, "detached")
    }

    func testAttachWatchesUntilExitAndAdmitsTheExitCodeIsUnknown() throws {
        let target = try h.startPlain(h.testload, ["sleep", "0.8", "3"])
        let out = try h.ffrtmp(["attach", "--pid", String(target.processIdentifier), "--json"])
        XCTAssertEqual(out.status, 0, out.stderr)
        let r = try h.json(out.stdout)
        XCTAssertTrue(r["exit_code"] is NSNull, "an exit code was invented for a non-child")
        XCTAssertEqual(r["platform_sla_reason"] as? String, "adopted_exit_unknown")
        XCTAssertEqual(r["mode"] as? String, "attach")
    }

    func testAttachRefusesAReusedPIDAndZombiesAndNothingIsCreated() throws {
        let target = try h.startPlain(h.testload, ["sleep", "30"])
        let pid = target.processIdentifier
        let st = try XCTUnwrap(ProcFS.stat(pid))
        let before = ProcFS.cgroups(pid)
        let out = try h.ffrtmp(["attach", "--pid", String(pid), "--start-time", String(st.startTime + 7), "--job-id", "wrong"])
        XCTAssertEqual(out.status, 1)
        XCTAssertTrue(out.stderr.contains("different process"), out.stderr)
        XCTAssertEqual(ProcFS.cgroups(pid), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.jobFile("wrong", "spec.json")))
        let none = try h.ffrtmp(["attach", "--pid", "4194303"])
        XCTAssertTrue(none.stderr.contains("no running process with pid 4194303"), none.stderr)
        let both = try h.ffrtmp(["attach", "--pid", "5", "--pgid", "5"])
        XCTAssertTrue(both.stderr.contains("exactly one of --pid"), both.stderr)
    }
}
