import Foundation
import XCTest

/// A master cancel survives an agent that dies during the kill's grace period: the restarted
/// agent finds the kill request, re-arms the escalation from the request's own time, and the
/// workload (an engine that ignores SIGTERM) dies; the job ends canceled at the master.
final class CancelRestartTests: MasterTestCase {
    func testACancelSurvivesAnAgentKilledDuringItsGracePeriod() throws {
        try startMaster()
        let engine = h.stateDir + "/stubborn-ffmpeg"  // ffrtmp-testload under that name: ignores SIGTERM
        XCTAssertEqual(symlink(h.testload, engine), 0)
        var env = agentEnv
        env["FFMPEG_PATH"] = engine
        try submit("stub1", wrapper: true, seconds: 60)
        let first = try h.start(["agent"], env: env)
        XCTAssertTrue(h.waitUntil(20, "the stubborn engine runs") { h.workloadPID("stub1.a1").map(h.alive) ?? false })
        let pid = try XCTUnwrap(h.workloadPID("stub1.a1"))
        _ = try api("POST", "/api/jobs/stub1/cancel")
        XCTAssertTrue(h.waitUntil(10, "the agent took the cancel") { FileManager.default.fileExists(atPath: h.jobFile("stub1.a1", "kill-request")) })
        kill(first.pid, SIGKILL)
        _ = try h.finish(first)
        sleep(1)
        XCTAssertTrue(h.alive(pid), "SIGTERM is ignored: the workload outlived the agent that was killing it")

        let second = try h.start(["agent"], env: env)
        // The grace (10 s) counts from the request: the workload dies within it, plus margin.
        XCTAssertTrue(h.waitUntil(20, "the re-armed kill ended the workload") { !h.alive(pid) })
        XCTAssertTrue(h.waitUntil(20, "canceled at the master") { (try? self.job("stub1"))?["status"] as? String == "canceled" })
        let r = try XCTUnwrap(try h.psJob("stub1.a1"))
        XCTAssertEqual(r["signal"] as? String, "SIGKILL", "escalated: \(r)")
        kill(second.pid, SIGTERM)
        let out = try h.finish(second)
        XCTAssertTrue(out.stderr.contains("re-armed after a restart"), out.stderr)
    }
}
