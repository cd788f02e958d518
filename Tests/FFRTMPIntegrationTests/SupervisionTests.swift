import FFRTMPCore
import Foundation
import XCTest

/// What must still hold once a job's supervisor is gone: its timeout, the removal of its cgroups,
/// its ownership after a change of cgroup parent, and a verdict that names the platform's fault.
final class SupervisionTests: MasterTestCase {
    private func submitTimed(_ id: String, wrapper: Bool, timeout: Int, seconds: Int) throws {
        let body = #"{"id":"\#(id)","engine":"ffmpeg","wrapper_enabled":\#(wrapper),"parameters":{"input":"testsrc","resolution":"160x120","fps":10,"# +
            #""duration_seconds":\#(seconds),"realtime":true,"resource_limits":{"timeout_sec":\#(timeout)}}}"#
        XCTAssertTrue(try api("POST", "/api/jobs", body).contains(#""status":"queued""#))
    }

    /// A wrapper job whose shim is killed with -9, and a legacy job whose agent is killed with -9
    /// and restarted: both still end at their timeout (4 s of 60), and the master hears that the
    /// supervisor was lost, a platform fault, before anything else.
    func testTimeoutsOutliveTheSupervisorOnBothPaths() throws {
        try requireFFmpeg()
        try startMaster()
        try submitTimed("tw", wrapper: true, timeout: 4, seconds: 60)
        try submitTimed("tl", wrapper: false, timeout: 4, seconds: 60)
        var env = agentEnv
        env["MAX_JOBS"] = "4"
        let first = try h.start(["agent"], env: env)
        h.waitUntil(30, "both running") { ["tw.a1", "tl.a1"].allSatisfy { h.workloadPID($0).map(h.alive) ?? false } }
        let w = try XCTUnwrap(h.workloadPID("tw.a1")), l = try XCTUnwrap(h.workloadPID("tl.a1"))
        h.track(w)
        h.track(l)
        let shim = try XCTUnwrap(h.read(h.jobFile("tw.a1", "shim.pid")).flatMap { WorkloadPID.parse($0)?.identity })
        kill(shim.pid, SIGKILL)
        kill(first.pid, SIGKILL)
        _ = try h.finish(first)
        let second = try h.start(["agent"], env: env)
        h.waitUntil(40, "both ended at their timeout") { !h.alive(w) && !h.alive(l) }
        h.waitUntil(30, "both reported") { ["tw", "tl"].allSatisfy { ((try? self.job($0))?["status"] as? String) == "timed_out" } }
        for id in ["tw", "tl"] {
            let j = try job(id)
            XCTAssertEqual(j["platform_sla"] as? Bool, false, "\(id): \(j)")
            XCTAssertEqual(j["platform_sla_reason"] as? String, "supervisor_lost", "\(id)")
        }
        for d in h.parentDirs { XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/tw.a1"), "tw's cgroup left in \(d)") }
        kill(second.pid, SIGTERM)
        XCTAssertEqual(try h.finish(second).status, 0)
    }

    /// FFMPEG_PATH names the node's engine: when it cannot be run, that is the node's
    /// configuration failing, not the submitter's command, on the wrapper and the legacy path.
    func testAMissingEngineIsAPlatformFaultOnBothPaths() throws {
        try startMaster()
        try submit("ew", wrapper: true)
        try submit("el", wrapper: false)
        var env = agentEnv
        env["FFMPEG_PATH"] = "/usr/bin/ffmpeg-not-installed"
        let agent = try h.start(["agent"], env: env)
        h.waitUntil(30, "both reported") { ["ew", "el"].allSatisfy { ((try? self.job($0))?["status"] as? String) == "failed" } }
        for id in ["ew", "el"] {
            let j = try job(id)
            XCTAssertEqual(j["platform_sla"] as? Bool, false, "\(id): \(j)")
            XCTAssertEqual(j["platform_sla_reason"] as? String, "engine_unavailable", "\(id)")
            XCTAssertEqual(j["failure_reason"] as? String, "platform_error", "\(id)")
        }
        kill(agent.pid, SIGTERM)
        XCTAssertEqual(try h.finish(agent).status, 0)
    }

    /// `ffrtmp orphans` ends an orphan past its timeout when no agent is there to.
    func testOrphansEndsAnOrphanPastItsTimeout() throws {
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "to", "--timeout", "2", "--", h.testload, "sleep", "60"]).status, 0)
        let shim = try XCTUnwrap(h.read(h.jobFile("to", "shim.pid")).flatMap { WorkloadPID.parse($0)?.identity })
        let workload = try XCTUnwrap(h.workloadPID("to"))
        kill(shim.pid, SIGKILL)
        h.waitUntil(10, "shim gone") { !shim.isAlive }
        // Before its deadline an orphan is listed and left alone.
        let early = try h.ffrtmp(["orphans", "--json"])
        XCTAssertTrue(early.stdout.contains(#""job_id":"to""#), early.stdout)
        XCTAssertTrue(h.alive(workload))
        usleep(2_200_000)
        let late = try h.ffrtmp(["orphans", "--json"])
        XCTAssertEqual(late.status, 0, late.stderr)
        XCTAssertTrue(late.stdout.contains("ended at its timeout"), late.stdout)
        XCTAssertFalse(h.alive(workload), "the orphan outlived its timeout")
        let r = try XCTUnwrap(h.psJob("to"))
        XCTAssertEqual(r["timed_out"] as? Bool, true)
        XCTAssertEqual(r["platform_sla"] as? Bool, false)
        XCTAssertEqual(r["platform_sla_reason"] as? String, "supervisor_lost")
        for d in h.parentDirs { XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/to"), "cgroup left in \(d)") }
    }

    /// An orphan killed by an operator: the supervisor was lost first, and that decides.
    func testAKilledOrphanSaysItsSupervisorWasLost() throws {
        let workload = try h.orphanedSleeper("ko", seconds: 60)
        let k = try h.ffrtmp(["kill", "ko", "--grace", "2", "--json"])
        XCTAssertEqual(k.status, 0, k.stderr)
        XCTAssertFalse(h.alive(workload))
        let r = try h.json(k.stdout)
        XCTAssertEqual(r["platform_sla"] as? Bool, false, "\(r)")
        XCTAssertEqual(r["platform_sla_reason"] as? String, "supervisor_lost")
        XCTAssertNotNil(r["killed_by"] as? String)
    }

    /// A job keeps the cgroup parent it was created under: after FFRTMP_CGROUP_PARENT changes,
    /// kill still finds, verifies and ends it, and removes its cgroup.
    func testKillAfterTheCgroupParentChanged() throws {
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "moved", "--", h.testload, "sleep", "60"]).status, 0)
        let workload = try XCTUnwrap(h.workloadPID("moved"))
        let other = h.parent + "-renamed"
        defer { for m in Set(h.v1Mounts.values) { rmdir(m + other) } }
        let k = try h.ffrtmp(["kill", "moved", "--grace", "2"], env: ["FFRTMP_CGROUP_PARENT": other])
        XCTAssertEqual(k.status, 0, k.stderr)
        h.waitUntil(10, "the job is gone") { !h.alive(workload) }
        for d in h.parentDirs { XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/moved"), "cgroup left in \(d)") }
        // A path that only looks like one of ours is still refused: not the job's own id.
        let forged = try h.ffrtmp(["run", "--detach", "--job-id", "victim", "--", h.testload, "sleep", "60"])
        XCTAssertEqual(forged.status, 0)
        let spec = try XCTUnwrap(h.read(h.jobFile("victim", "spec.json")))
        try spec.replacingOccurrences(of: h.parent + "/victim", with: h.parent + "/someone-else")
            .write(toFile: h.jobFile("victim", "spec.json"), atomically: true, encoding: .utf8)
        let refused = try h.ffrtmp(["kill", "victim", "--grace", "1"], env: ["FFRTMP_CGROUP_PARENT": other])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("cgroup"), refused.stderr)
    }
}
