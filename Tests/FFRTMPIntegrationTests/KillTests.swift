import FFRTMPCore
import Foundation
import XCTest

final class KillTests: IntegrationTestCase {
    /// The grandchild calls setsid (escaping the process group) and ignores SIGTERM:
    /// only a cgroup-wide SIGKILL (v1: freezer) takes it.
    func escapeAndKill(id: String, env: [String: String] = [:]) throws -> (parent: Int32, escaped: Int32, kill: Harness.Output) {
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", id, "--", h.testload, "escape", "60"], env: env).status, 0)
        var escaped: Int32?
        var parent: Int32?
        h.waitUntil(10, "escaped child reported") {
            let log = h.read(h.jobFile(id, "stdout.log")) ?? ""
            for line in log.split(separator: "\n") {
                let f = line.split(separator: " ")
                if f.count == 2, f[0] == "escaped" { escaped = Int32(f[1]) }
                if f.count == 2, f[0] == "parent" { parent = Int32(f[1]) }
            }
            return escaped != nil && parent != nil
        }
        let e = try XCTUnwrap(escaped), p = try XCTUnwrap(parent)
        XCTAssertNotEqual(ProcFS.stat(e)?.pgrp, ProcFS.stat(p)?.pgrp, "the child did not leave the process group")
        let out = try h.ffrtmp(["kill", id, "--grace", "1", "--json"], env: env)
        return (p, e, out)
    }

    func testKillTakesAGrandchildThatEscapedThroughSetsid() throws {
        let (p, e, out) = try escapeAndKill(id: "esc")
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertFalse(h.alive(p))
        XCTAssertFalse(h.alive(e), "the escaped grandchild survived")
        for m in Set(h.v1Mounts.values) { XCTAssertFalse(FileManager.default.fileExists(atPath: m + h.parent + "/esc")) }
        let r = try h.json(out.stdout)
        XCTAssertEqual(r["state"] as? String, "killed")
        XCTAssertTrue((r["killed_by"] as? String ?? "").hasPrefix("operator user="), "\(r)")
        XCTAssertEqual(r["platform_sla"] as? Bool, true)
        XCTAssertEqual(r["platform_sla_reason"] as? String, "operator_cancel")
    }

    func testKillEscalatesToACgroupWideSIGKILLAfterTheGrace() throws {
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "stub", "--", h.testload, "stubborn", "60"]).status, 0)
        let pid = try XCTUnwrap(h.workloadPID("stub"))
        h.waitUntil(10, "stubborn started") { (h.read(h.jobFile("stub", "stdout.log")) ?? "").hasPrefix("stubborn") }
        let out = try h.ffrtmp(["kill", "stub", "--grace", "0.5", "--json"])
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertTrue(out.stderr.contains("escalated to SIGKILL after 0.5s"), out.stderr)
        XCTAssertFalse(h.alive(pid))
        let r = try h.json(out.stdout)
        XCTAssertEqual(r["signal"] as? String, "SIGKILL")
        XCTAssertEqual(r["state"] as? String, "killed")
    }

    func testKillRefusesJobsThatAreNotLiveAndBadIds() throws {
        XCTAssertEqual(try h.ffrtmp(["run", "--job-id", "done", "--", "true"]).status, 0)
        let again = try h.ffrtmp(["kill", "done"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("this one is exited"), again.stderr)
        let bad = try h.ffrtmp(["kill", "../../etc"])
        XCTAssertTrue(bad.stderr.contains("invalid job id"), bad.stderr)
        let missing = try h.ffrtmp(["kill", "nope"])
        XCTAssertTrue(missing.stderr.contains("no job \"nope\""), missing.stderr)
        let sig = try h.ffrtmp(["kill", "done", "--signal", "BOGUS"])
        XCTAssertTrue(sig.stderr.contains("--signal"), sig.stderr)
    }

    /// A journal entry whose recorded workload pid now belongs to another process (start
    /// time differs) must never be signalled, even while the job counts as running.
    func testReusedPIDInTheJournalIsNeverSignalled() throws {
        let victim = try h.startPlain(h.testload, ["sleep", "30"])
        let pid = victim.processIdentifier
        let st = try XCTUnwrap(ProcFS.stat(pid))
        let journal = JobJournal(stateDir: h.stateDir)
        let id = try JobID("reused")
        try journal.create(JobSpec(jobID: id, mode: .run, argv: ["x"], constraints: WireConstraints(), cgroup: nil,
                                   governance: Governance(level: .degraded, reason: "test"), createdAtUnixNs: Clock.realtimeNanoseconds()))
        // A live supervisor (this test process) keeps the job "running", so kill really tries.
        try journal.writeSupervisor(id, try XCTUnwrap(ProcessIdentity.current(getpid())))
        try journal.writeWorkload(id, WorkloadPID(identity: ProcessIdentity(pid: pid, startTime: st.startTime + 1), pgid: pid))
        XCTAssertEqual(try h.psJob("reused")?["state"] as? String, "running")
        let out = try h.ffrtmp(["kill", "reused", "--grace", "0"])
        XCTAssertEqual(out.status, 0, out.stderr)
        usleep(100_000)
        XCTAssertTrue(h.alive(pid), "a process that merely reused the pid was killed")
        XCTAssertThrowsError(try ProcessIdentity(pid: pid, startTime: st.startTime + 1).signal(SIGKILL)) { e in
            XCTAssertTrue("\(e)".contains("different process"), "\(e)")
        }
        XCTAssertTrue(h.alive(pid))
    }

    func testKillRefusesACgroupPathTheJournalShouldNotName() throws {
        let journal = JobJournal(stateDir: h.stateDir)
        let id = try JobID("tampered")
        let foreign = JobCgroup(version: .v1, dirs: ["freezer": "/sys/fs/cgroup/freezer/system.slice"], path: "/system.slice")
        try journal.create(JobSpec(jobID: id, mode: .run, argv: ["x"], constraints: WireConstraints(), cgroup: foreign,
                                   governance: Governance(level: .full), createdAtUnixNs: Clock.realtimeNanoseconds()))
        try journal.writeSupervisor(id, try XCTUnwrap(ProcessIdentity.current(getpid())))
        let out = try h.ffrtmp(["kill", "tampered", "--grace", "0"])
        XCTAssertEqual(out.status, 1)
        XCTAssertTrue(out.stderr.contains("invalid cgroup in"), out.stderr)
        XCTAssertNil(h.read(h.jobFile("tampered", "kill-request")), "nothing may happen before the check")
    }
}

/// Changing CLI actions are audited like the console's: who, what, outcome.
final class CLIAuditTests: IntegrationTestCase {
    func testKillAndAttachFromTheCLIAreAudited() throws {
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "aud-1", "--", h.testload, "sleep", "60"]).status, 0)
        XCTAssertEqual(try h.ffrtmp(["kill", "aud-1", "--grace", "2"], env: ["SUDO_USER": "alice", "SSH_CLIENT": "198.51.100.7 40000 22"]).status, 0)
        XCTAssertEqual(try h.ffrtmp(["kill", "no-such-job"]).status, 1)
        XCTAssertEqual(try h.ffrtmp(["attach", "--pgid", "999999999"]).status, 1)
        let e = try AuditLog(stateDir: h.stateDir).entries()
        XCTAssertEqual(e.map { "\($0.tool):\($0.action):\($0.target ?? "-"):\($0.outcome)" },
                       ["cli:kill:aud-1:ok", "cli:kill:no-such-job:failed", "cli:attach:pgid 999999999:failed"])
        XCTAssertEqual(e.first?.user, "alice")
        XCTAssertEqual(e.first?.sshClient, "198.51.100.7 40000")
        XCTAssertTrue(e[1].detail?.contains("no-such-job") ?? false, e[1].detail ?? "nil")
        // Reading is not a change: ps leaves no line.
        _ = try h.ffrtmp(["ps"])
        XCTAssertEqual(try AuditLog(stateDir: h.stateDir).entries().count, 3)
    }
}
