import FFRTMPCore
import Foundation
import XCTest

final class CLITests: IntegrationTestCase {
    func testHelpExplainsEveryCommand() throws {
        let root = try h.ffrtmp(["--help"])
        XCTAssertEqual(root.status, 0)
        for sub in ["run", "attach", "ps", "kill", "orphans"] { XCTAssertTrue(root.stdout.contains(sub), sub) }
        let expectations = [
            "run": ["--cpu-max", "--memory-max-mb", "--detach", "--json", "--require-governance", "SIGHUP", "128+N"],
            "attach": ["--pid", "--pgid", "--start-time", "came from", "exit_code null"],
            "ps": ["--json", "orphaned", "lost"],
            "kill": ["--signal", "--grace", "setsid"],
            "orphans": ["ffmpeg", "attach --pgid"],
        ]
        for (sub, words) in expectations {
            let out = try h.ffrtmp([sub, "--help"])
            XCTAssertEqual(out.status, 0, sub)
            for w in words { XCTAssertTrue(out.stdout.contains(w), "\(sub) --help lacks \(w)") }
        }
    }

    func testBadConstraintsAndIdsNameTheFieldAndCreateNothing() throws {
        let cases: [([String], String)] = [
            (["--job-id", "../../x"], "invalid job id"),
            (["--job-id", ".hidden"], "invalid job id"),
            (["--job-id", String(repeating: "a", count: 129)], "invalid job id"),
            (["--cpu-max", "5"], "invalid cpu_max"),
            (["--cpu-max", "20000 100000", "--cpu-percent", "20"], "not both"),
            (["--cpu-weight", "0"], "invalid cpu_weight"),
            (["--memory-max-mb", "0"], "invalid memory_max_mb"),
            (["--io-max", "4095:4095 rbps=1"], "invalid io_max"),
            (["--io-max", "8:0 fast=1"], "invalid io_max"),
            (["--cpu-percent", "0"], "invalid cpu percent"),
        ]
        for (flags, expected) in cases {
            let out = try h.ffrtmp(["run"] + flags + ["--", "true"])
            XCTAssertEqual(out.status, 125, "\(flags)")
            XCTAssertTrue(out.stderr.contains(expected), "\(flags): \(out.stderr)")
        }
        let jobs = (try? FileManager.default.contentsOfDirectory(atPath: h.stateDir + "/jobs")) ?? []
        XCTAssertEqual(jobs, [], "a rejected job left files")
        for d in h.parentDirs {
            let left = (try? FileManager.default.contentsOfDirectory(atPath: d))?.filter { !$0.contains(".") && !$0.hasPrefix("cgroup") && !$0.hasPrefix("notify") && !$0.hasPrefix("tasks") } ?? []
            XCTAssertEqual(left, [], "a rejected job left cgroups in \(d)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/x"))
        let noCmd = try h.ffrtmp(["run"])
        XCTAssertTrue(noCmd.stderr.contains("after --"), noCmd.stderr)
    }

    func testDuplicateJobIdIsRejectedWhileTheFirstRunsAndAfter() throws {
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "same", "--", h.testload, "sleep", "30"]).status, 0)
        let running = try h.ffrtmp(["run", "--job-id", "same", "--", "true"])
        XCTAssertEqual(running.status, 125)
        XCTAssertTrue(running.stderr.contains("already exists"), running.stderr)
        XCTAssertEqual(try h.psJob("same")?["state"] as? String, "running", "the first job was disturbed")
        XCTAssertEqual(try h.ffrtmp(["kill", "same", "--grace", "1"]).status, 0)
        let after = try h.ffrtmp(["run", "--job-id", "same", "--", "true"])
        XCTAssertTrue(after.stderr.contains("already exists"), after.stderr)
    }

    func testWithoutCgroupsTheJobRunsDegradedOrIsRefusedOnRequest() throws {
        let env = ["FFRTMP_CGROUP_DRIVER": "none"]
        let out = try h.ffrtmp(["run", "--json", "--memory-max-mb", "64", "--", "true"], env: env)
        XCTAssertEqual(out.status, 0, out.stderr)
        let r = try h.json(out.stdout)
        XCTAssertEqual(r["governance"] as? String, "degraded")
        XCTAssertTrue((r["governance_reason"] as? String ?? "").contains("FFRTMP_CGROUP_DRIVER=none"))
        XCTAssertEqual((r["constraints_applied"] as? [String: Any])?.count, 0, "nothing was enforced, so nothing may be reported as applied")
        let strict = try h.ffrtmp(["run", "--require-governance", "--job-id", "strict", "--", "true"], env: env)
        XCTAssertEqual(strict.status, 125)
        XCTAssertTrue(strict.stderr.contains("--require-governance"), strict.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.stateDir + "/jobs/strict"))
    }

    func testPsShowsLiveUsageAgainstLimits() throws {
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "busy", "--cpu-max", "30000 100000", "--memory-max-mb", "256", "--", h.testload, "spin", "20"]).status, 0)
        h.waitUntil(10, "workload started") { h.workloadPID("busy").map(h.alive) ?? false }
        let out = try h.ffrtmp(["ps", "--json", "--interval", "1"])
        let arr = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]])
        let job = try XCTUnwrap(arr.first { $0["job_id"] as? String == "busy" })
        XCTAssertEqual(job["state"] as? String, "running")
        let u = try XCTUnwrap(job["usage"] as? [String: Any])
        XCTAssertEqual(u["cpu_limit_percent"] as? Double, 30)
        let cpu = try XCTUnwrap(u["cpu_percent"] as? Double)
        XCTAssertGreaterThan(cpu, 10)
        XCTAssertLessThan(cpu, 45)
        XCTAssertEqual(u["memory_limit_bytes"] as? Int, 256 * 1024 * 1024)
        XCTAssertGreaterThan(u["throttled_percent"] as? Double ?? 0, 0)
        let table = try h.ffrtmp(["ps"])
        XCTAssertTrue(table.stdout.contains("busy"), table.stdout)
        XCTAssertTrue(table.stdout.contains("/30%"), table.stdout)
        XCTAssertEqual(try h.ffrtmp(["kill", "busy", "--grace", "1"]).status, 0)
    }
}
