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

    private func rssKiB(_ pid: Int32) -> Int {
        let line = h.read("/proc/\(pid)/status")?.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// A process group of three: a shell (the leader), a `sleep` it waits on, and a testload it
    /// started in the background. `attach --pid` adopts only the testload.
    private func groupWithOneTarget() throws -> (shell: Int32, target: Int32, bystander: Int32) {
        let shell = try h.startPlain("/bin/sh", ["-c", "\(h.testload) sleep 60 & exec sleep 60"]).processIdentifier
        var target: Int32 = 0, bystander: Int32 = 0
        h.waitUntil(10, "the group's members started") {
            let members = ProcFS.allPIDs().compactMap { ProcFS.stat($0) }.filter { $0.pgrp == shell && !$0.isZombie }
            target = members.first { $0.comm == "ffrtmp-testload" }?.pid ?? 0
            bystander = members.first { $0.comm == "sleep" }?.pid ?? 0
            return target > 0 && bystander > 0
        }
        h.track(target)
        return (shell, target, bystander)
    }

    func testKillOfAPidAdoptionSignalsOnlyWhatItAdopted() throws {
        let g = try groupWithOneTarget()
        XCTAssertEqual(ProcFS.stat(g.target)?.pgrp, ProcFS.stat(g.bystander)?.pgrp, "the test needs one group")
        let attach = try h.start(["attach", "--pid", String(g.target), "--job-id", "one"])
        h.waitUntil(10, "adopted") { h.cgroupPath(g.target, "freezer") == h.parent + "/one" }
        let k = try h.ffrtmp(["kill", "one", "--grace", "5"])
        XCTAssertEqual(k.status, 0, k.stderr)
        h.waitUntil(10, "the adopted process is gone") { !h.alive(g.target) }
        // TERM to the group would have ended both: the leader's `sleep` is exec'ed sh itself.
        XCTAssertTrue(h.alive(g.bystander), "kill of an attach --pid job signalled a process it never adopted (its group's leader)")
        _ = try h.finish(attach)
        let r = try XCTUnwrap(h.psJob("one"))
        XCTAssertEqual(r["state"] as? String, "killed")
    }

    func testKillOfAGroupAdoptionSignalsTheGroup() throws {
        let g = try groupWithOneTarget()
        let attach = try h.start(["attach", "--pgid", String(g.shell), "--job-id", "grp"])
        h.waitUntil(10, "adopted") { h.cgroupPath(g.bystander, "freezer") == h.parent + "/grp" }
        let spec = try XCTUnwrap(h.read(h.jobFile("grp", "spec.json")))
        XCTAssertTrue(spec.contains("\"adopted_pgid\":\(g.shell)"), spec)
        XCTAssertEqual(try h.ffrtmp(["kill", "grp", "--grace", "5"]).status, 0)
        h.waitUntil(10, "the whole group is gone") { !h.alive(g.target) && !h.alive(g.bystander) }
        _ = try h.finish(attach)
    }

    /// v1: memory a process already uses is charged to its new cgroup only with
    /// memory.move_charge_at_immigrate, which Linux 6.x deprecates and newer kernels refuse.
    /// Either it is set before the move, or the job says its memory is not charged.
    func testAttachWithAMemoryLimitChargesTheMemoryOrSaysItIsNot() throws {
        guard let mem = h.v1Mounts["memory"] else { throw XCTSkip("no v1 memory controller") }
        let target = try h.startPlain(h.testload, ["alloc", "96", "30"])
        let pid = target.processIdentifier
        h.waitUntil(10, "allocated") { rssKiB(pid) > 90 * 1024 }
        let attach = try h.start(["attach", "--pid", String(pid), "--job-id", "mem", "--memory-max-mb", "256"])
        h.waitUntil(10, "adopted") { h.cgroupPath(pid, "memory") == h.parent + "/mem" }
        let dir = mem + h.parent + "/mem"
        let moved = h.read(dir + "/memory.move_charge_at_immigrate")?.trimmingCharacters(in: .whitespacesAndNewlines)
        let usage = UInt64(h.read(dir + "/memory.usage_in_bytes")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        let job = try XCTUnwrap(h.psJob("mem"))
        let gov = job["governance"] as? String, reason = job["governance_reason"] as? String ?? ""
        if moved == "3" {
            XCTAssertGreaterThan(usage, 80 * 1024 * 1024, "move_charge_at_immigrate is set but the adopted memory was not charged")
            XCTAssertEqual(gov, "full", reason)
        } else {
            XCTAssertLessThan(usage, 80 * 1024 * 1024, "the kernel refused move_charge but the memory moved anyway?")
            XCTAssertEqual(gov, "degraded", "governance says full although the adopted memory is not charged")
            XCTAssertTrue(reason.contains("memory not charged"), reason)
        }
        kill(attach.pid, SIGINT)
        _ = try h.finish(attach)
    }
}
