import FFRTMPCore
import Foundation
import XCTest

final class CrashSafetyTests: IntegrationTestCase {
    func testKill9OfRunLeavesTheJobRunningAndItsTrueExitCodeRecorded() throws {
        let run = try h.start(["run", "--job-id", "k9", "--", h.testload, "sleep", "1.5", "7"])
        h.waitUntil(10, "workload started") { h.workloadPID("k9").map(h.alive) ?? false }
        let workload = try XCTUnwrap(h.workloadPID("k9"))
        kill(run.pid, SIGKILL)
        _ = try h.finish(run)
        XCTAssertTrue(h.alive(workload), "the job died with its wrapper")
        h.waitUntil(20, "exit record after the wrapper died") { FileManager.default.fileExists(atPath: h.jobFile("k9", "exit.json")) }
        let ps = try XCTUnwrap(h.psJob("k9"))
        XCTAssertEqual(ps["exit_code"] as? Int, 7)
        XCTAssertEqual(ps["state"] as? String, "exited")
        XCTAssertEqual(ps["platform_sla"] as? Bool, true)
    }

    func testSIGHUPDetachesAndTheJobRunsOn() throws {
        let run = try h.start(["run", "--job-id", "hup", "--", h.testload, "sleep", "1.5", "3"])
        h.waitUntil(10, "workload started") { h.workloadPID("hup").map(h.alive) ?? false }
        let workload = try XCTUnwrap(h.workloadPID("hup"))
        kill(run.pid, SIGHUP)
        let out = try h.finish(run)
        XCTAssertEqual(out.status, 129)
        XCTAssertTrue(out.stderr.contains("detached from job hup"), out.stderr)
        XCTAssertTrue(h.alive(workload), "SIGHUP to the wrapper reached the job")
        h.waitUntil(20, "exit record") { FileManager.default.fileExists(atPath: h.jobFile("hup", "exit.json")) }
        XCTAssertEqual(try h.psJob("hup")?["exit_code"] as? Int, 3)
    }

    func testSIGTERMToRunDetachesToo() throws {
        let run = try h.start(["run", "--job-id", "term", "--", h.testload, "sleep", "1", "0"])
        h.waitUntil(10, "workload started") { h.workloadPID("term").map(h.alive) ?? false }
        kill(run.pid, SIGTERM)
        XCTAssertEqual(try h.finish(run).status, 143)
        h.waitUntil(20, "exit record") { FileManager.default.fileExists(atPath: h.jobFile("term", "exit.json")) }
        XCTAssertEqual(try h.psJob("term")?["exit_code"] as? Int, 0)
    }

    func testShimKilledWithoutRecordIsLostAndAPlatformFault() throws {
        let workload = try h.orphanedSleeper("lost", seconds: 30)
        XCTAssertEqual(try h.psJob("lost")?["state"] as? String, "orphaned")
        kill(workload, SIGKILL)
        h.waitUntil(10, "workload gone") { !h.alive(workload) }
        let ps = try XCTUnwrap(h.psJob("lost"))
        XCTAssertEqual(ps["state"] as? String, "lost")
        XCTAssertTrue(ps["exit_code"] is NSNull, "an exit code was invented")
        XCTAssertEqual(ps["platform_sla"] as? Bool, false)
        XCTAssertEqual(ps["platform_sla_reason"] as? String, "outcome_lost")
        // Whoever first finds the job ended removes its cgroups (here: that ps).
        for d in h.parentDirs { XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/lost"), "cgroup left behind in \(d)") }
    }

    /// `ffrtmp run` killed with -9 after it created the job's cgroup and before its shim started:
    /// a stand-in shim that never answers holds the launcher exactly there.
    private func launchCutShort(_ id: String) throws {
        let fake = h.stateDir + "/stuck-shim"
        try "#!/bin/sh\nexec sleep 60\n".write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        let run = try h.start(["run", "--job-id", id, "--memory-max-mb", "64", "--", h.testload, "sleep", "5"], env: ["FFRTMP_SHIM": fake])
        var shim: Int32 = 0
        h.waitUntil(10, "the launcher waits on its shim") {
            shim = ProcFS.allPIDs().first { ProcFS.stat($0)?.ppid == run.pid } ?? 0
            return shim > 0
        }
        h.track(shim)
        XCTAssertTrue(h.parentDirs.contains { FileManager.default.fileExists(atPath: $0 + "/" + id) }, "no cgroup was created before the shim")
        kill(run.pid, SIGKILL)
        // The stand-in holds the launcher's stdout and stderr: end it before reading them to EOF.
        kill(shim, SIGKILL)
        _ = try h.finish(run)
        h.waitUntil(10, "stand-in shim gone") { !h.alive(shim) }
    }

    func testRunKilledBeforeItsShimStartedIsNeverStartedNotLost() throws {
        try launchCutShort("ns1")
        // Within the start grace it is still starting (a shim spawned at that moment may yet write shim.pid).
        XCTAssertEqual(try h.psJob("ns1")?["state"] as? String, "starting")
        let marker = try XCTUnwrap(h.read(h.jobFile("ns1", "launching")))
        XCTAssertTrue(marker.contains("\"kind\":\"cli\""), marker)
        h.waitUntil(15, "never_started after the grace") { (try? self.h.psJob("ns1")?["state"] as? String) == "never_started" }
        let ps = try XCTUnwrap(h.psJob("ns1"))
        XCTAssertEqual(ps["platform_sla"] as? Bool, true, "an operator's kill -9 of ffrtmp run is not a platform fault")
        XCTAssertEqual(ps["platform_sla_reason"] as? String, "launch_abandoned")
        XCTAssertTrue((ps["error"] as? String ?? "").contains("nothing ran"), "\(ps)")
        XCTAssertTrue(ps["exit_code"] is NSNull)
        // ps settled it: the record is on disk and the empty cgroup is gone from every hierarchy.
        XCTAssertTrue(h.read(h.jobFile("ns1", "exit.json"))?.contains("\"stage\":\"launch\"") ?? false)
        for d in h.parentDirs { XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/ns1"), "cgroup left behind in \(d)") }
    }

    func testKillAndOrphansSettleAJobThatNeverStarted() throws {
        try launchCutShort("ns2")
        try launchCutShort("ns3")
        h.waitUntil(15, "past the start grace") {
            ((try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: self.h.jobFile("ns2", "launching"))))) as? [String: Any])
                .flatMap { $0["created_at_unix_ns"] as? Int64 }.map { Int64(Date().timeIntervalSince1970 * 1e9) - $0 > 5_500_000_000 } ?? false
        }
        let k = try h.ffrtmp(["kill", "ns2", "--json"])
        XCTAssertEqual(k.status, 0, k.stderr)
        XCTAssertTrue(k.stderr.contains("never started"), k.stderr)
        XCTAssertEqual(try h.json(k.stdout)["state"] as? String, "never_started")
        for d in h.parentDirs { XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/ns2"), "kill left the cgroup in \(d)") }
        let o = try h.ffrtmp(["orphans", "--json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let settled = (try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any])?["settled"] as? [[String: Any]] ?? []
        let ns3 = try XCTUnwrap(settled.first { $0["job_id"] as? String == "ns3" }, o.stdout)
        XCTAssertEqual(ns3["state"] as? String, "never_started")
        XCTAssertEqual((ns3["actions"] as? [String])?.count, 2, "\(ns3)")
        for d in h.parentDirs { XCTAssertFalse(FileManager.default.fileExists(atPath: d + "/ns3"), "orphans left the cgroup in \(d)") }
        // Settled once: the next look finds nothing to do.
        let again = try h.ffrtmp(["orphans", "--json"])
        XCTAssertFalse(again.stdout.contains("ns3"), again.stdout)
    }
}
