import FFRTMPConsole
import FFRTMPCore
import Foundation
import XCTest

/// The collector and the audit log over a real journal in a temp dir (no cgroups needed:
/// the jobs here have ended, or their supervisor is a process this test controls).
final class ConsoleCollectorTests: XCTestCase {
    var dir = ""
    var journal: JobJournal!

    override func setUpWithError() throws {
        var t = Array("/tmp/ffrtmp-console-XXXXXX".utf8CString)
        dir = String(cString: mkdtemp(&t)!)
        journal = JobJournal(stateDir: dir)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func spec(_ id: String, ageSeconds: Int64 = 5) throws -> JobSpec {
        JobSpec(jobID: try JobID(id), mode: .run, argv: ["/usr/bin/ffmpeg", "-progress", "pipe:6", "-i", "x"], constraints: WireConstraints(cpuMax: "50000 100000", memoryMaxMB: 256),
                cgroup: nil, governance: Governance(level: .full), createdAtUnixNs: Clock.realtimeNanoseconds() - ageSeconds * 1_000_000_000)
    }

    func ended(_ id: String, exit: Int32?, signal: Int32? = nil, lostSupervisor: Bool = false) throws {
        let s = try spec(id)
        try journal.create(s)
        var r = ExitRecord(pid: 100, pidStartTime: 1, pgid: 100, exitCode: exit, signal: signal, oomKilled: false, oomKillCount: 0, killedBy: nil,
                           startedAtUnixNs: s.createdAtUnixNs, endedAtUnixNs: s.createdAtUnixNs + 1_000_000_000, durationNs: 1_000_000_000,
                           cpuUsageNs: 500_000_000, peakMemoryBytes: 1 << 20, usageSource: "cgroup")
        if lostSupervisor { r.supervisorLost = true; r.exitUnknownReason = "supervisor lost" }
        try journal.writeExitRecord(s.jobID, r)
    }

    func collector() -> ConsoleCollector {
        ConsoleCollector(inspector: JobInspector(journal: journal, driver: UnavailableCgroupDriver(reason: "test")),
                         governance: GovernanceProbe(version: .unavailable, level: .none, reason: "test"), host: "box")
    }

    func testEndedJobsUptimeAndUnreadableJournal() throws {
        try ended("ok-1", exit: 0)
        try ended("bad-exit", exit: 3)
        try ended("gone", exit: nil, lostSupervisor: true)
        try FileManager.default.createDirectory(atPath: dir + "/jobs/torn", withIntermediateDirectories: true)
        try "{not json".write(toFile: dir + "/jobs/torn/spec.json", atomically: true, encoding: .utf8)
        let c = collector()
        let s = c.snapshot(agent: .down(reason: "no agent socket"), wrapperEnabled: false, detailFor: "bad-exit")
        let byID = Dictionary(uniqueKeysWithValues: s.jobs.map { ($0.id, $0) })
        XCTAssertEqual(byID["ok-1"]?.state, "exited")
        XCTAssertEqual(byID["ok-1"]?.outcome, JobOutcome(.ok, "ok"))
        XCTAssertEqual(byID["bad-exit"]?.outcome, JobOutcome(.exitNonZero, "exit 3"))
        XCTAssertEqual(byID["bad-exit"]?.mode, "run", "the mode names are ps's")
        XCTAssertEqual(byID["bad-exit"]?.command, "/usr/bin/ffmpeg -progress pipe:6 -i x")
        XCTAssertEqual(byID["gone"]?.outcome.kind, .lost)
        XCTAssertTrue(byID["gone"]?.isProblem ?? false)
        XCTAssertEqual(s.header.stateDir, dir)
        XCTAssertEqual(byID["ok-1"]?.sla, true)
        XCTAssertEqual(byID["bad-exit"]?.sla, true, "a workload's own non-zero exit is not a platform fault")
        XCTAssertEqual(byID["gone"]?.sla, false, "a lost supervisor is a platform fault")
        XCTAssertEqual(byID["gone"]?.slaReason, "supervisor_lost")
        XCTAssertEqual(byID["torn"]?.state, "unreadable")
        XCTAssertTrue(byID["torn"]?.note?.contains("spec.json") ?? false, byID["torn"]?.note ?? "nil")
        XCTAssertEqual(byID["torn"]?.outcome.kind, .unreadable)
        XCTAssertEqual(s.header.slaFinished, 3)
        XCTAssertEqual(s.header.slaUptime!, 2.0 / 3.0, accuracy: 1e-9)
        XCTAssertEqual(s.header.governance, .none)
        XCTAssertEqual(s.detail?.id, "bad-exit")
        XCTAssertTrue(s.detail?.exitSummary.first == "exit code 3", "\(s.detail?.exitSummary ?? [])")
        XCTAssertTrue(s.detail?.facts.contains { $0.contains("cpu.max=50000 100000 memory=256MB") } ?? false)
        // A job removed from the journal disappears; a new one appears.
        try FileManager.default.removeItem(atPath: dir + "/jobs/ok-1")
        try ended("new-1", exit: 0)
        let ids = Set(c.snapshot(agent: .down(reason: "x"), wrapperEnabled: nil, detailFor: nil).jobs.map(\.id))
        XCTAssertEqual(ids, ["bad-exit", "gone", "torn", "new-1"])
    }

    func testLiveJobTurnsEndedWhenItsRecordAppearsAndProgressIsRead() throws {
        // This test process stands in for the job's supervisor (alive), so the job is running.
        let s = try spec("live-1")
        try journal.create(s)
        try journal.writeSupervisor(s.jobID, ProcessIdentity.current(getpid())!)
        try "frame=10\nfps=25.0\nspeed=1.01x\nprogress=continue\nframe=20\nfps=29.5\nspeed=0.99x\nprogress=continue\nframe=21\nfps=".write(
            toFile: journal.file(s.jobID, "progress"), atomically: true, encoding: .utf8)
        let c = collector()
        var j = c.snapshot(agent: .down(reason: "x"), wrapperEnabled: nil, detailFor: nil).jobs[0]
        XCTAssertEqual(j.state, "running")
        XCTAssertEqual(j.fps, 29.5, "the last complete progress block counts")
        XCTAssertEqual(j.speed, "0.99x")
        XCTAssertNil(j.sla)
        try journal.writeExitRecord(s.jobID, ExitRecord(pid: 1, pidStartTime: 1, pgid: 1, exitCode: nil, signal: 9, oomKilled: false, oomKillCount: 0,
                                                        killedBy: nil, startedAtUnixNs: 0, endedAtUnixNs: 1, durationNs: 1, cpuUsageNs: 0,
                                                        peakMemoryBytes: 0, usageSource: "cgroup"))
        j = c.snapshot(agent: .down(reason: "x"), wrapperEnabled: nil, detailFor: nil).jobs[0]
        XCTAssertEqual(j.state, "exited")
        XCTAssertEqual(j.outcome, JobOutcome(.signal, "SIGKILL"))
    }

    func testTailStartsAtALineBoundary() throws {
        let p = dir + "/log"
        try (1...1000).map { "line \($0)" }.joined(separator: "\n").write(toFile: p, atomically: true, encoding: .utf8)
        let t = ConsoleCollector.tail(p, bytes: 100)!
        XCTAssertTrue(t.hasPrefix("line "), t)
        XCTAssertTrue(t.hasSuffix("line 1000"))
        XCTAssertNil(ConsoleCollector.tail(dir + "/missing", bytes: 10))
    }

    func testAuditLogRecordsWhoWhatWhenAndOutcome() throws {
        let log = AuditLog(stateDir: dir)
        try log.append(tool: "console", action: "kill", target: "cam1", succeeded: true, detail: "killed cam1: killed",
                       environment: ["SUDO_USER": "alice", "USER": "root", "SSH_CLIENT": "203.0.113.9 51234 22"])
        try log.append(tool: "console", action: "set_wrapper", target: "on", succeeded: false, detail: "no worker.env", environment: ["USER": "bob"])
        let e = try log.entries()
        XCTAssertEqual(e.count, 2)
        XCTAssertEqual(e[0].user, "alice")
        XCTAssertEqual(e[0].sshClient, "203.0.113.9 51234")
        XCTAssertEqual(e[0].action, "kill")
        XCTAssertEqual(e[0].outcome, "ok")
        XCTAssertTrue(e[0].time.hasPrefix("20"))
        XCTAssertEqual(e[1].user, "bob")
        XCTAssertNil(e[1].sshClient)
        XCTAssertEqual(e[1].outcome, "failed")
        try FileIO.appendLine(log.path, "garbage")
        XCTAssertThrowsError(try log.entries()) { XCTAssertTrue("\($0)".contains("line 3"), "\($0)") }
    }
}

extension ConsoleCollectorTests {
    /// A lost outcome counts against uptime; malformed progress values never trap.
    func testLostJobsCountAgainstUptimeAndOddProgressIsIgnored() throws {
        try ended("ok-1", exit: 0)
        let s = try spec("lost-1", ageSeconds: 60)
        try journal.create(s)
        // Its supervisor: a pid no process has (above pid_max), so it is dead and wrote no record.
        try journal.writeSupervisor(s.jobID, ProcessIdentity(pid: 999_999_999, startTime: 1))
        let live = try spec("odd-progress")
        try journal.create(live)
        try journal.writeSupervisor(live.jobID, ProcessIdentity.current(getpid())!)
        try "fps=nan\nspeed=inf\nprogress=continue\n".write(toFile: journal.file(live.jobID, "progress"), atomically: true, encoding: .utf8)
        let snap = collector().snapshot(agent: .down(reason: "x"), wrapperEnabled: nil, detailFor: nil)
        XCTAssertEqual(snap.jobs.first { $0.id == "lost-1" }?.state, "lost")
        XCTAssertEqual(snap.header.slaFinished, 2)
        XCTAssertEqual(snap.header.slaUptime!, 0.5, accuracy: 1e-9)
        XCTAssertNil(snap.jobs.first { $0.id == "odd-progress" }?.fps)
        // The whole frame renders at a width that shows PROGRESS.
        let f = ConsoleView.render(snap, ConsoleUIState(), width: 200, height: 20, glyphs: .utf8)
        XCTAssertTrue(f.text.contains("odd-progress"))
    }
}

extension ConsoleCollectorTests {
    /// A job directory without its spec.json yet is a launch in progress, not an unreadable job;
    /// past the start grace it is unreadable, and says so.
    func testALaunchInProgressIsNotUnreadableUntilTheGraceEnds() throws {
        let dir = journal.jobsDir + "/launching-1"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let c = collector()
        XCTAssertEqual(c.snapshot(agent: .down(reason: "x"), wrapperEnabled: nil, detailFor: nil).jobs.map(\.id), [])
        var times = [timeval(tv_sec: time(nil) - 60, tv_usec: 0), timeval(tv_sec: time(nil) - 60, tv_usec: 0)]
        XCTAssertEqual(utimes(dir, &times), 0)
        let jobs = c.snapshot(agent: .down(reason: "x"), wrapperEnabled: nil, detailFor: nil).jobs
        XCTAssertEqual(jobs.map(\.state), ["unreadable"])
        XCTAssertEqual(jobs.first?.id, "launching-1")
    }
}
