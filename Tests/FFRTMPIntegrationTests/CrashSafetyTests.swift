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
    }
}
