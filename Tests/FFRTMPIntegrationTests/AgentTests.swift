import FFRTMPCore
import Foundation
import XCTest

/// A real `ffrtmp-master` (SQLite) and a real `ffrtmp agent`, with real ffmpeg transcodes.
final class AgentTests: MasterTestCase {
    func testWrapperAndLegacyPathsEndToEnd() throws {
        try requireFFmpeg()
        try startMaster()
        try submit("wrapped", wrapper: true, extra: #","wrapper_constraints":{"cpu_max":"50000 100000","memory_max_mb":256}"#)
        try submit("old", wrapper: nil)
        _ = try api("POST", "/api/jobs", #"{"id":"hostile","parameters":{"input":"x.mp4; rm -rf /"}}"#)
        _ = try api("POST", "/api/jobs", #"{"id":"overwrite","parameters":{"input":"testsrc","output":"/etc/ffrtmp/worker.env"}}"#)
        let agent = try h.start(["agent"], env: agentEnv)
        h.waitUntil(30, "all jobs reported") {
            ["wrapped", "old", "hostile", "overwrite"].allSatisfy { ["completed", "failed"].contains((try? self.job($0))?["status"] as? String ?? "") }
        }
        // The wrapped job ran in its cgroup: the journal holds its cgroup path and the limits applied.
        let spec = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(h.read(h.jobFile("wrapped.a1", "spec.json"))).utf8)) as? [String: Any])
        XCTAssertEqual((spec["cgroup"] as? [String: Any])?["path"] as? String, "\(h.parent)/wrapped.a1")
        XCTAssertEqual((spec["constraints_applied"] as? [String: Any])?["memory_max_mb"] as? Int, 256)
        let w = try job("wrapped")
        XCTAssertEqual(w["wrapper_enabled"] as? Bool, true)
        XCTAssertEqual(w["status"] as? String, "completed")
        XCTAssertEqual(w["platform_sla"] as? Bool, true)
        let metrics = try XCTUnwrap((w["result"] as? [String: Any])?["metrics"] as? [String: Any])
        for k in ["exec_duration", "wrapper_enabled", "platform_sla", "exit_code", "pid", "cpu_seconds", "peak_memory_bytes", "oom_killed", "governance"] {
            XCTAssertNotNil(metrics.index(forKey: k), "metrics.\(k)")
        }
        XCTAssertEqual(metrics["wrapper_enabled"] as? Bool, true)
        XCTAssertEqual(metrics["governance"] as? String, "full")
        XCTAssertGreaterThan(metrics["peak_memory_bytes"] as? Double ?? 0, 1_000_000)
        let o = try job("old")
        XCTAssertNil(o.index(forKey: "wrapper_enabled"), "the old job still does not say")
        XCTAssertEqual(o["status"] as? String, "completed")
        XCTAssertEqual(((o["result"] as? [String: Any])?["metrics"] as? [String: Any])?["wrapper_enabled"] as? Bool, false)
        let hostile = try job("hostile")
        XCTAssertEqual(hostile["status"] as? String, "failed")
        XCTAssertEqual(hostile["failure_reason"] as? String, "user_error")
        XCTAssertTrue(String(describing: hostile["result"] ?? "").contains("parameters.input"), "\(hostile)")
        let overwrite = try job("overwrite")
        XCTAssertEqual(overwrite["failure_reason"] as? String, "user_error")
        XCTAssertTrue(String(describing: overwrite["result"] ?? "").contains("is outside MEDIA_ROOTS"), "\(overwrite)")
        kill(agent.pid, SIGTERM)
        XCTAssertEqual(try h.finish(agent).status, 0)
    }

    /// kill -9 of the agent while wrapped jobs run, some ending while it is down: every
    /// transcode survives and every job reaches the master once, with its true outcome.
    func testAgentKill9ThenRestartReportsEveryJobOnce() throws {
        try requireFFmpeg()
        try startMaster()
        let durations = [1.0, 1.5, 4, 5, 6]
        for (i, d) in durations.enumerated() { try submit("k\(i)", wrapper: true, seconds: d) }
        var env = agentEnv
        env["MAX_JOBS"] = "8"
        let first = try h.start(["agent"], env: env)
        h.waitUntil(20, "five jobs running") { (0..<5).allSatisfy { h.workloadPID("k\($0).a1").map(h.alive) ?? false } }
        let pids = (0..<5).compactMap { h.workloadPID("k\($0).a1") }
        kill(first.pid, SIGKILL)
        _ = try h.finish(first)
        let agentDied = Date()
        h.waitUntil(10, "k0 and k1 ended while no agent runs") {
            (0..<2).allSatisfy { FileManager.default.fileExists(atPath: self.h.jobFile("k\($0).a1", "exit.json")) }
        }
        XCTAssertTrue(pids[2...].allSatisfy(h.alive), "a transcode died with the agent")
        for i in 0..<2 {
            let rec = try XCTUnwrap(h.read(h.jobFile("k\(i).a1", "exit.json")).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
            let ended = ((rec["ended_at_unix_ns"] as? NSNumber)?.doubleValue ?? 0) / 1e9
            XCTAssertGreaterThan(ended, agentDied.timeIntervalSince1970 - 0.5, "k\(i) must end while the agent is down")
        }
        let second = try h.start(["agent"], env: env)
        h.waitUntil(30, "all five reported") { (0..<5).allSatisfy { (try? self.job("k\($0)"))?["status"] as? String == "completed" } }
        for i in 0..<5 {
            let j = try job("k\(i)")
            XCTAssertEqual(j["attempt"] as? Int, 1, "k\(i) was dispatched again")
            XCTAssertEqual(j["platform_sla"] as? Bool, true)
        }
        // Exactly once at the master: it never received a result twice.
        XCTAssertTrue(try api("GET", "/metrics").contains("ffrtmp_master_results_duplicate_total 0"))
        // And at the agent: one delivered outbox file per job, none pending.
        let delivered = try FileManager.default.contentsOfDirectory(atPath: h.stateDir + "/outbox/delivered").filter { $0.hasPrefix("k") }
        XCTAssertEqual(delivered.sorted(), (0..<5).map { "k\($0).1.json" })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.stateDir + "/outbox").filter { $0.hasSuffix(".json") }, [])
        kill(second.pid, SIGTERM)
        XCTAssertEqual(try h.finish(second).status, 0)
    }

    /// A control-socket kill of a job that ignores SIGTERM waits out its 10 s grace period off
    /// the agent's loop: heartbeats go on meanwhile, so the node's last_seen at the master keeps
    /// moving (with the kill on the loop it froze for the whole grace period).
    func testAControlSocketKillDoesNotStallHeartbeats() throws {
        try startMaster()
        let agent = try h.start(["agent"], env: agentEnv)
        defer { kill(agent.pid, SIGTERM); _ = try? h.finish(agent) }
        func lastSeen() -> String? {
            let nodes = (try? JSONSerialization.jsonObject(with: Data(try api("GET", "/api/nodes").utf8))) as? [[String: Any]]
            return nodes?.first { $0["id"] as? String == "edge-test" }?["last_seen"] as? String
        }
        XCTAssertTrue(h.waitUntil(10, "node registered") { lastSeen() != nil })
        let started = try h.ffrtmp(["run", "--detach", "--job-id", "stubborn", "--", h.testload, "stubborn", "60"])
        XCTAssertEqual(started.status, 0, started.stderr)
        let killing = try h.start(["ctl", #"{"op":"kill","job":"stubborn"}"#])
        var seen: Set<String> = []
        let until = Date().addingTimeInterval(6)
        while Date() < until {
            if let t = lastSeen() { seen.insert(t) }
            usleep(300_000)
        }
        let answer = try h.finish(killing)
        XCTAssertGreaterThanOrEqual(seen.count, 5, "last_seen during the kill's grace period: \(seen.sorted())")
        XCTAssertTrue(answer.stdout.contains(#""ok":true"#) && answer.stdout.contains(#""job":"stubborn""#), answer.stdout + answer.stderr)
        let r = try XCTUnwrap(try h.psJob("stubborn"))
        XCTAssertEqual(r["signal"] as? String, "SIGKILL", "escalated after the grace period: \(r)")
    }

    /// /metrics parses as Prometheus text, and the SLA counters move on a platform fault
    /// (a job whose shim is killed with -9 has no exit record: outcome lost, SLA false).
    func testMetricsAndAPlatformFault() throws {
        try requireFFmpeg()
        try startMaster()
        let metricsPort = port + 600
        var env = agentEnv
        env["METRICS_PORT"] = String(metricsPort)
        try submit("good", wrapper: true)
        try submit("doomed", wrapper: true, seconds: 30)
        let agent = try h.start(["agent"], env: env)
        h.waitUntil(20, "doomed running") { h.workloadPID("doomed.a1").map(h.alive) ?? false }
        let shim = try XCTUnwrap(h.read(h.jobFile("doomed.a1", "shim.pid")).flatMap { WorkloadPID.parse($0)?.identity })
        let workload = try XCTUnwrap(h.workloadPID("doomed.a1"))
        kill(shim.pid, SIGKILL)
        kill(workload, SIGKILL)
        h.waitUntil(30, "both reported") { (try? self.job("doomed"))?["status"] as? String == "failed" && (try? self.job("good"))?["status"] as? String == "completed" }
        let doomed = try job("doomed")
        XCTAssertEqual(doomed["platform_sla"] as? Bool, false)
        XCTAssertEqual(doomed["platform_sla_reason"] as? String, "outcome_lost")
        func curl(_ path: String) throws -> String { try Harness.output("/usr/bin/curl", ["-s", "http://127.0.0.1:\(metricsPort)\(path)"]).stdout }
        var text = ""
        h.waitUntil(10, "metrics show both outcomes") {
            text = (try? curl("/metrics")) ?? ""
            return text.contains(#"ffrtmp_platform_sla_total{compliant="false"} 1"#)
        }
        let sample = try NSRegularExpression(pattern: #"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? (-?[0-9.]+([eE][-+]?[0-9]+)?|NaN|[+-]Inf)$"#)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let l = String(line)
            XCTAssertNotNil(sample.firstMatch(in: l, range: NSRange(l.startIndex..., in: l)), "not Prometheus text: \(l)")
        }
        XCTAssertTrue(text.contains(#"ffrtmp_platform_sla_total{compliant="true"} 1"#), text)
        XCTAssertTrue(text.contains("ffrtmp_platform_sla_uptime_ratio 0.5"), text)
        XCTAssertTrue(text.contains(#"ffrtmp_jobs_started_total{mode="wrapper"} 2"#), text)
        XCTAssertFalse(text.contains("job_id=\"doomed.a1\""), "a finished job's gauges must be gone")
        XCTAssertTrue(try curl("/health").contains(#""status":"ok""#))
        kill(agent.pid, SIGTERM)
        XCTAssertEqual(try h.finish(agent).status, 0)
    }

    /// A cancel at the master reaches the node on its next heartbeat and ends the job cgroup-wide.
    func testMasterCancelStopsTheRunningJob() throws {
        try requireFFmpeg()
        try startMaster()
        try submit("long", wrapper: true, seconds: 60)
        let agent = try h.start(["agent"], env: agentEnv)
        h.waitUntil(20, "job running") { h.workloadPID("long.a1").map(h.alive) ?? false }
        let pid = try XCTUnwrap(h.workloadPID("long.a1"))
        XCTAssertTrue(try api("POST", "/api/jobs/long/cancel").contains(#""cancel_requested":true"#))
        h.waitUntil(30, "canceled at the master") { (try? self.job("long"))?["status"] as? String == "canceled" }
        let j = try job("long")
        XCTAssertEqual(j["platform_sla"] as? Bool, true)
        XCTAssertEqual(j["platform_sla_reason"] as? String, "operator_cancel")
        XCTAssertFalse(h.alive(pid))
        kill(agent.pid, SIGTERM)
        _ = try h.finish(agent)
    }

    func testResultsWaitOutAMasterOutage() throws {
        try requireFFmpeg()
        try startMaster()
        try submit("out1", wrapper: true, seconds: 2)
        let agent = try h.start(["agent"], env: agentEnv)
        h.waitUntil(20, "job running") { h.workloadPID("out1.a1").map(h.alive) ?? false }
        master?.terminate()
        master?.waitUntilExit()
        h.waitUntil(20, "result queued while the master is down") {
            ((try? FileManager.default.contentsOfDirectory(atPath: h.stateDir + "/outbox")) ?? []).contains("out1.1.json")
        }
        try startMaster()
        h.waitUntil(40, "result delivered after the outage") { (try? self.job("out1"))?["status"] as? String == "completed" }
        kill(agent.pid, SIGTERM)
        _ = try h.finish(agent)
    }
}
