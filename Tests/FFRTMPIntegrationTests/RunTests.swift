import FFRTMPCore
import Foundation
import XCTest

final class RunTests: IntegrationTestCase {
    func testCPUMaxHoldsABusyLoopToAbout20PercentOfACore() throws {
        let out = try h.ffrtmp(["run", "--cpu-max", "20000 100000", "--", h.testload, "spin", "3"])
        XCTAssertEqual(out.status, 0, out.stderr)
        // The workload measures itself: its own CPU time over its wall time.
        let fields = Dictionary(uniqueKeysWithValues: out.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { kv -> (String, Double)? in
            let p = kv.split(separator: "=")
            return p.count == 2 ? (String(p[0]), Double(p[1]) ?? -1) : nil
        })
        let cpu = try XCTUnwrap(fields["cpu_ms"]), wall = try XCTUnwrap(fields["wall_ms"])
        let share = cpu / wall
        XCTAssertGreaterThan(share, 0.12, "cpu \(cpu) ms over wall \(wall) ms")
        XCTAssertLessThan(share, 0.28, "cpu \(cpu) ms over wall \(wall) ms")
    }

    func testMemoryLimitOOMKillIsReportedAs137AndOOM() throws {
        let out = try h.ffrtmp(["run", "--json", "--memory-max-mb", "64", "--", h.testload, "alloc", "300"])
        XCTAssertEqual(out.status, 137, out.stderr)
        let r = try h.json(out.stdout)
        XCTAssertEqual(r["oom_killed"] as? Bool, true)
        XCTAssertEqual(r["signal"] as? String, "SIGKILL")
        XCTAssertEqual(r["platform_sla"] as? Bool, true)
        XCTAssertEqual(r["platform_sla_reason"] as? String, "oom_own_limit")
        XCTAssertEqual((r["constraints_applied"] as? [String: Any])?["memory_max_mb"] as? Int, 64)
    }

    /// v1: memory.limit_in_bytes bounds RAM only; memsw bounds RAM plus swap. With swap accounting
    /// on (memory.memsw.* present), a memory limit allows no swap unless --memory-swap-max-mb does.
    func testMemoryLimitAlsoBoundsSwapThroughMemsw() throws {
        guard let mem = h.v1Mounts["memory"] else { throw XCTSkip("no v1 memory controller") }
        for (swap, want) in [(nil, 64), (32, 96)] as [(Int?, Int)] {
            let id = "memsw\(swap ?? 0)"
            var args = ["run", "--detach", "--job-id", id, "--memory-max-mb", "64"]
            if let s = swap { args += ["--memory-swap-max-mb", String(s)] }
            XCTAssertEqual(try h.ffrtmp(args + ["--", h.testload, "sleep", "5"]).status, 0)
            let dir = mem + h.parent + "/" + id
            let memsw = h.read(dir + "/memory.memsw.limit_in_bytes")?.trimmingCharacters(in: .whitespacesAndNewlines)
            let job = try XCTUnwrap(h.psJob(id))
            if FileManager.default.fileExists(atPath: dir + "/memory.memsw.limit_in_bytes") {
                XCTAssertEqual(memsw, String(want * 1024 * 1024), "memsw for swap allowance \(swap ?? 0)")
                XCTAssertEqual(job["governance"] as? String, "full", job["governance_reason"] as? String ?? "")
                let usage = try XCTUnwrap(job["usage"] as? [String: Any])
                XCTAssertNotNil(usage["swap_current_bytes"], "ps shows no swap figure although the kernel accounts swap")
            } else {
                XCTAssertEqual(job["governance"] as? String, (h.read("/proc/swaps")?.split(separator: "\n").count ?? 1) > 1 ? "degraded" : "full")
            }
            XCTAssertEqual(try h.ffrtmp(["kill", id, "--grace", "1"]).status, 0)
        }
        let bad = try h.ffrtmp(["run", "--memory-swap-max-mb", "32", "--", "true"])
        XCTAssertEqual(bad.status, 125, bad.stderr)  // a refused job: docs/CLI.md
        XCTAssertTrue(bad.stderr.contains("memory_swap_max_mb"), bad.stderr)
    }

    func testWorkloadIsInTheJobCgroupOfEveryHierarchy() throws {
        let out = try h.ffrtmp(["run", "--job-id", "cgcheck", "--cpu-percent", "50", "--", "cat", "/proc/self/cgroup"])
        XCTAssertEqual(out.status, 0, out.stderr)
        let lines = ProcFS.parseCgroupFile(out.stdout)
        let governed = CgroupLayout.v1Controllers.filter { h.v1Mounts[$0] != nil }
        XCTAssertFalse(governed.isEmpty)
        for c in governed {
            let path = lines.first { $0.key.split(separator: ",").contains(Substring(c)) }?.value
            XCTAssertEqual(path, h.parent + "/cgcheck", "hierarchy \(c): \(out.stdout)")
        }
        // The shim removed the job cgroups after the job ended.
        for m in Set(h.v1Mounts.values) { XCTAssertFalse(FileManager.default.fileExists(atPath: m + h.parent + "/cgcheck")) }
        // v1 has one cgroup per hierarchy, which clone3(CLONE_INTO_CGROUP) cannot name: the child joins them before exec.
        let log = h.read(h.jobFile("cgcheck", "shim.log")) ?? ""
        XCTAssertTrue(log.contains("exec succeeded (cgroups joined before exec)"), log)
    }

    func testExitCodeAndSignalDeath() throws {
        let seven = try h.ffrtmp(["run", "--json", "--", h.testload, "exit", "7"])
        XCTAssertEqual(seven.status, 7)
        let r7 = try h.json(seven.stdout)
        XCTAssertEqual(r7["exit_code"] as? Int, 7)
        XCTAssertEqual(r7["platform_sla_reason"] as? String, "workload_exit_nonzero")
        XCTAssertTrue(seven.stderr.contains("| sla=true | reason=workload_exit_nonzero | exit=7 | runtime="), seven.stderr)

        let term = try h.ffrtmp(["run", "--json", "--", h.testload, "signal", "15"])
        XCTAssertEqual(term.status, 143)
        let rt = try h.json(term.stdout)
        XCTAssertEqual(rt["signal"] as? String, "SIGTERM")
        XCTAssertTrue(rt["exit_code"] is NSNull)
    }

    func testForegroundStreamsStdoutAndStderrSeparately() throws {
        let file = h.stateDir + "/input.txt"
        try "hello from a file\nsecond line\n".write(toFile: file, atomically: true, encoding: .utf8)
        let cat = try h.ffrtmp(["run", "--", "cat", file])
        XCTAssertEqual(cat.stdout, "hello from a file\nsecond line\n")
        let both = try h.ffrtmp(["run", "--job-id", "pr", "--", h.testload, "print", "3"])
        XCTAssertEqual(both.stdout, "line 1\nline 2\nline 3\n")
        XCTAssertTrue(both.stderr.hasPrefix("err 1\nerr 2\nerr 3\n"), both.stderr)
        XCTAssertEqual(h.read(h.jobFile("pr", "stdout.log")), "line 1\nline 2\nline 3\n")
    }

    func testJSONIsTheLastLineAfterTheJobsOutput() throws {
        let out = try h.ffrtmp(["run", "--json", "--", h.testload, "print", "2"])
        let lines = out.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[0], "line 1")
        let r = try h.json(out.stdout)
        for key in ["job_id", "pid", "mode", "exit_code", "signal", "oom_killed", "started_at", "ended_at", "duration_seconds",
                    "constraints_applied", "governance", "platform_sla", "platform_sla_reason"] {
            XCTAssertNotNil(r.index(forKey: key), "missing \(key)")
        }
        XCTAssertEqual(r["mode"] as? String, "run")
        XCTAssertEqual(r["governance"] as? String, "full")
    }

    func testCommandNotFoundIs127AndNotAPlatformFault() throws {
        let out = try h.ffrtmp(["run", "--json", "--", "/nonexistent/ffmpeg-x"])
        XCTAssertEqual(out.status, 127)
        let r = try h.json(out.stdout)
        XCTAssertEqual(r["platform_sla"] as? Bool, true)
        XCTAssertEqual(r["platform_sla_reason"] as? String, "command_not_found")
        XCTAssertTrue(r["exit_code"] is NSNull)
    }

    func testTimeoutStopsTheJobAndSaysSo() throws {
        let out = try h.ffrtmp(["run", "--json", "--timeout", "0.5", "--grace", "2", "--", h.testload, "sleep", "30"])
        XCTAssertEqual(out.status, 143, out.stderr)
        let r = try h.json(out.stdout)
        XCTAssertEqual(r["timed_out"] as? Bool, true)
        XCTAssertEqual(r["platform_sla_reason"] as? String, "job_timeout")
    }

    func testGraceEscalatesATimeoutToSIGKILL() throws {
        let out = try h.ffrtmp(["run", "--json", "--timeout", "0.3", "--grace", "0.5", "--", h.testload, "stubborn", "60"])
        XCTAssertEqual(out.status, 137, out.stderr)
        let r = try h.json(out.stdout)
        XCTAssertEqual(r["timed_out"] as? Bool, true)
        XCTAssertEqual(r["signal"] as? String, "SIGKILL")
        // Bounds, not timing: the default grace is 10 s, so this proves --grace reached the shim.
        XCTAssertLessThan(r["duration_seconds"] as? Double ?? 99, 5)
    }

    func testTinyTimeoutIsPassedAsFixedPointSeconds() throws {
        let out = try h.ffrtmp(["run", "--json", "--timeout", "0.00001", "--", h.testload, "sleep", "30"])
        XCTAssertEqual(out.status, 143, out.stderr)
        XCTAssertEqual(try h.json(out.stdout)["timed_out"] as? Bool, true)
        let bad = try h.ffrtmp(["run", "--timeout", "1e12", "--job-id", "long", "--", "true"])
        XCTAssertEqual(bad.status, 125)
        XCTAssertTrue(bad.stderr.contains("invalid --timeout"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.stateDir + "/jobs/long"))
    }

    /// The job is its leader: what it leaves behind in its cgroup (here a child that called
    /// setsid and ignores SIGTERM) is killed when it ends, and the cgroup is removed.
    func testStragglersLeftByTheLeaderAreKilledAndCounted() throws {
        let out = try h.ffrtmp(["run", "--json", "--job-id", "strag", "--", h.testload, "escape", "60", "0"])
        XCTAssertEqual(out.status, 0, out.stderr)
        let escaped = try XCTUnwrap(out.stdout.split(separator: "\n").first { $0.hasPrefix("escaped ") }.flatMap { Int32($0.dropFirst(8)) })
        h.waitUntil(5, "straggler gone") { !h.alive(escaped) }
        let rec = try XCTUnwrap(h.read(h.jobFile("strag", "exit.json")))
        XCTAssertTrue(rec.contains("\"stragglers_killed\":1"), rec)
        for m in Set(h.v1Mounts.values) { XCTAssertFalse(FileManager.default.fileExists(atPath: m + h.parent + "/strag")) }
    }

    func testDetachReportsAFailedStartInsteadOfAnId() throws {
        let out = try h.ffrtmp(["run", "--detach", "--json", "--", "/nonexistent/x"])
        XCTAssertEqual(out.status, 127, out.stderr)
        XCTAssertEqual(try h.json(out.stdout)["platform_sla_reason"] as? String, "command_not_found")
    }

    func testCtrlCIsForwardedToTheJob() throws {
        let run = try h.start(["run", "--json", "--job-id", "ctrlc", "--", h.testload, "sleep", "30"])
        h.waitUntil(10, "workload started") { h.workloadPID("ctrlc").map(h.alive) ?? false }
        kill(run.pid, SIGINT)
        let out = try h.finish(run)
        XCTAssertEqual(out.status, 130, out.stderr)
        let r = try h.json(out.stdout)
        XCTAssertEqual(r["signal"] as? String, "SIGINT")
        XCTAssertEqual(r["platform_sla_reason"] as? String, "operator_cancel")
    }

    func testDetachPrintsTheIdAndTheJobRuns() throws {
        let out = try h.ffrtmp(["run", "--detach", "--job-id", "bg1", "--", h.testload, "sleep", "0.3", "4"])
        XCTAssertEqual(out.status, 0)
        XCTAssertEqual(out.stdout, "bg1\n")
        h.waitUntil(10, "exit record") { FileManager.default.fileExists(atPath: h.jobFile("bg1", "exit.json")) }
        let ps = try XCTUnwrap(h.psJob("bg1"))
        XCTAssertEqual(ps["exit_code"] as? Int, 4)
        XCTAssertEqual(ps["state"] as? String, "exited")
    }
}
