@testable import FFRTMPCore
import XCTest
import FFRTMPTestSupport

final class ResultTests: XCTestCase {
    func record(exit: Int32? = nil, signal: Int32? = nil, oom: Bool = false, timedOut: Bool = false, forwarded: Int32? = nil,
                killedBy: String? = nil, spawn: ExitRecord.SpawnError? = nil, unknown: String? = nil) -> ExitRecord {
        ExitRecord(pid: 10, pidStartTime: 5, pgid: 10, exitCode: exit, signal: signal, oomKilled: oom, oomKillCount: oom ? 1 : 0,
                   timedOut: timedOut, forwardedSignal: forwarded, killedBy: killedBy, startedAtUnixNs: 1_000_000_000,
                   endedAtUnixNs: 3_500_000_000, durationNs: 2_500_000_000, cpuUsageNs: 1, peakMemoryBytes: 2,
                   usageSource: "cgroup", spawnError: spawn, exitUnknownReason: unknown)
    }

    func testSLATable() {
        let cases: [(ExitRecord, Bool, String)] = [
            (record(exit: 0), true, "success"),
            (record(exit: 7), true, "workload_exit_nonzero"),
            (record(signal: 9, oom: true), true, "oom_own_limit"),
            (record(signal: 15, timedOut: true), true, "job_timeout"),
            (record(signal: 15, killedBy: "operator user=root"), true, "operator_cancel"),
            (record(signal: 2, forwarded: 2), true, "operator_cancel"),
            (record(signal: 11), true, "workload_signaled"),
            (record(spawn: .init(stage: "exec", errno: ENOENT, message: "x")), true, "command_not_found"),
            (record(spawn: .init(stage: "exec", errno: EACCES, message: "x")), true, "command_not_executable"),
            (record(spawn: .init(stage: "cgroup", errno: EINVAL, message: "x")), false, "spawn_failed_cgroup"),
            (record(spawn: .init(stage: "fork", errno: EAGAIN, message: "x")), false, "spawn_failed_fork"),
            (record(unknown: "adopted"), true, "adopted_exit_unknown"),
            (record(), false, "outcome_lost"),
        ]
        for (r, sla, reason) in cases {
            let v = PlatformSLA.classify(r, mode: .run)
            XCTAssertEqual(v.compliant, sla, reason)
            XCTAssertEqual(v.reason, reason)
        }
    }

    /// The shim stopped the job at its max_output_mb: the job's own limit, not our fault.
    func testOutputLimitIsTheJobsOwnResourceError() throws {
        var r = record(signal: 9)
        r.outputLimitExceeded = true
        XCTAssertEqual(PlatformSLA.classify(r, mode: .run), PlatformSLA.Verdict(compliant: true, reason: "output_limit"))
        var s = try spec()
        s.constraintsApplied = WireConstraints(maxOutputMB: 5)
        let result = JobResult(spec: s, exit: r, state: .exited, workload: nil)
        XCTAssertTrue(result.outputLimitExceeded)
        XCTAssertEqual(result.error?.hasPrefix("max_output_mb=5 reached"), true, result.error ?? "nil")
        // Older records have no such key: decoded as nil, not as a reached limit.
        let old = try JSONDecoder().decode(ExitRecord.self, from: Data(try JSONEncoder().encode(record(exit: 0))))
        XCTAssertNil(old.outputLimitExceeded)
    }

    func spec() throws -> JobSpec {
        JobSpec(jobID: try JobID("r1"), mode: .run, argv: ["x"], constraints: WireConstraints(cpuMax: "20000 100000"),
                cgroup: nil, governance: Governance(level: .degraded, reason: "no cgroups"), createdAtUnixNs: 1_000_000_000)
    }

    func testResultJSONHasEveryKeyAndTheSignalName() throws {
        let r = JobResult(spec: try spec(), exit: record(signal: 15), state: .exited, workload: nil)
        let obj = try JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as! [String: Any]
        for key in ["job_id", "pid", "mode", "exit_code", "signal", "oom_killed", "started_at", "ended_at", "duration_seconds",
                    "constraints_applied", "governance", "platform_sla", "platform_sla_reason"] {
            XCTAssertNotNil(obj.index(forKey: key), key)
        }
        XCTAssertEqual(obj["signal"] as? String, "SIGTERM")
        XCTAssertTrue(obj["exit_code"] is NSNull)
        XCTAssertEqual(obj["governance"] as? String, "degraded")
        XCTAssertEqual(obj["governance_reason"] as? String, "no cgroups")
        XCTAssertEqual(obj["duration_seconds"] as? Double, 2.5)
        XCTAssertEqual(obj["started_at"] as? String, "1970-01-01T00:00:01.000Z")
        XCTAssertEqual(r.summaryLine, "JOB r1 | sla=true | reason=workload_signaled | exit=SIGTERM | runtime=2.500s")
    }

    func testLostJobIsAPlatformFaultWithNullExit() throws {
        let r = JobResult(spec: try spec(), exit: nil, state: .lost, workload: nil)
        XCTAssertNil(r.exitCode)
        XCTAssertEqual(r.platformSLA, false)
        XCTAssertEqual(r.platformSLAReason, "outcome_lost")
    }

    func testShimRecordDecodes() throws {
        let line = #"{"version":1,"pid":123,"pid_start_time":456,"pgid":123,"exit_code":null,"signal":9,"core_dumped":false,"oom_killed":true,"oom_kill_count":1,"timed_out":false,"forwarded_signal":null,"killed_by":"operator user=\"x\"","started_at_unix_ns":1700000000000000000,"ended_at_unix_ns":1700000001000000000,"duration_ns":1000000000,"cpu_usage_ns":12345,"peak_memory_bytes":4096,"usage_source":"cgroup","spawn_error":null}"#
        let r = try JSONDecoder().decode(ExitRecord.self, from: Data(line.utf8))
        XCTAssertEqual(r.signal, 9)
        XCTAssertEqual(r.shellStatus, 137)
        XCTAssertEqual(r.killedBy, "operator user=\"x\"")
        XCTAssertTrue(r.oomKilled)
    }

    func testTornRecordIsReportedAsCorrupt() throws {
        let t = try TempDir()
        let j = JobJournal(stateDir: t.path)
        try j.create(try spec())
        t.write("jobs/r1/exit.json", #"{"version":1,"pid":12"#)
        XCTAssertThrowsError(try j.exitRecord(try JobID("r1"))) { e in
            XCTAssertTrue("\(e)".contains("is corrupt"), "\(e)")
        }
        XCTAssertThrowsError(try j.create(try spec())) { e in
            XCTAssertTrue("\(e)".contains("already exists"), "\(e)")
        }
    }

    func testSignalParsing() throws {
        XCTAssertEqual(try Signals.parse("TERM"), SIGTERM)
        XCTAssertEqual(try Signals.parse("sigkill"), SIGKILL)
        XCTAssertEqual(try Signals.parse("2"), SIGINT)
        XCTAssertThrowsError(try Signals.parse("NOPE")) { e in XCTAssertTrue("\(e)".contains("--signal")) }
        XCTAssertThrowsError(try Signals.parse("0"))
    }
}
