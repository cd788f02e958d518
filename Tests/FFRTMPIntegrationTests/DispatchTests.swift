import Foundation
import XCTest

/// The agent's side of dispatch against a real master: one poll fills every free slot; a
/// HEARTBEAT_INTERVAL the master's --node-lost-after cannot tolerate is refused by name; after a
/// restart with a changed NODE_ID (and the new id's own key) the jobs dispatched under the old
/// id still get their cancels and their results land.
final class DispatchTests: MasterTestCase {
    func log(_ p: Harness.Running) -> String { p.stderrSoFar }

    func testOnePollFillsEveryFreeSlot() throws {
        try requireFFmpeg()
        try startMaster()
        for i in 1...5 { try submit("slot\(i)", wrapper: true, seconds: 20) }
        var env = agentEnv
        env["MAX_JOBS"] = "4"
        // One poll a minute: with one job per poll, only one job would start in this test's time.
        env["POLL_INTERVAL"] = "60"
        let agent = try h.start(["agent"], env: env)
        defer { kill(agent.pid, SIGTERM); _ = try? h.finish(agent) }
        XCTAssertTrue(h.waitUntil(15, "four jobs running after one poll") {
            (1...5).filter { (try? self.job("slot\($0)"))?["status"] as? String == "running" }.count == 4
        }, (1...5).map { (try? self.job("slot\($0)"))?["status"] as? String ?? "?" }.joined(separator: " "))
        XCTAssertEqual(try job("slot5")["status"] as? String, "queued", "the fifth waits: no slot is free")
        for i in 1...5 { _ = try api("POST", "/api/jobs/slot\(i)/cancel") }
        XCTAssertTrue(h.waitUntil(30, "all canceled") { (1...5).allSatisfy { (try? self.job("slot\($0)"))?["status"] as? String == "canceled" } })
    }

    /// The master's idle pace holds a real agent back: with one node at 0.05 empty polls a
    /// second, an empty answer asks for 20 s (the agent's own POLL_INTERVAL is 0.1 s, which
    /// would make about 30 polls in these 3 s). A job submitted meanwhile is still taken long
    /// before that wait ends: the next heartbeat reply says work is queued.
    func testAnIdleAgentFollowsTheMastersPaceAndWakesForQueuedWork() throws {
        try requireFFmpeg()
        try startMaster(extra: ["--idle-poll-rate", "0.05"])
        let agent = try h.start(["agent"], env: agentEnv)
        defer { kill(agent.pid, SIGTERM); _ = try? h.finish(agent) }
        func emptyPolls() throws -> Int {
            let m = try api("GET", "/metrics")
            let line = m.split(separator: "\n").first { $0.hasPrefix(#"ffrtmp_master_polls_total{answer="empty"}"#) }
            return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? -1
        }
        XCTAssertTrue(h.waitUntil(10, "the agent polled once") { (try? emptyPolls()) ?? 0 >= 1 }, log(agent))
        sleep(3)
        let polls = try emptyPolls()
        XCTAssertTrue((1...3).contains(polls), "empty polls in 3 s at a 20 s pace: \(polls)")
        try submit("woken", wrapper: true, seconds: 1)
        XCTAssertTrue(h.waitUntil(10, "the queued job is taken at the next heartbeat, not after the 15-25 s wait") {
            ["running", "completed"].contains((try? self.job("woken"))?["status"] as? String ?? "")
        }, log(agent))
    }

    func testAHeartbeatIntervalAtOrAboveNodeLostAfterIsRefusedByName() throws {
        try startMaster(extra: ["--node-lost-after", "2"])
        try submit("hb1", wrapper: true)
        var env = agentEnv
        env["HEARTBEAT_INTERVAL"] = "3"
        let agent = try h.start(["agent"], env: env)
        defer { kill(agent.pid, SIGTERM); _ = try? h.finish(agent) }
        XCTAssertTrue(h.waitUntil(10, "the refusal is logged") {
            self.log(agent).contains("HEARTBEAT_INTERVAL=3.0 is not below the master's --node-lost-after=2.0")
        }, log(agent))
        sleep(1)
        XCTAssertEqual(try job("hb1")["status"] as? String, "queued", "a refused node takes no job")
        XCTAssertFalse(try api("GET", "/api/nodes").contains("edge-test"), "and is not registered")
    }

    func testJobsOfAnEarlierNodeIDGetTheirCancelsAndResults() throws {
        try requireFFmpeg()
        try startMaster()
        try submit("renamed1", wrapper: true, seconds: 60)
        let first = try h.start(["agent"], env: agentEnv)
        XCTAssertTrue(h.waitUntil(20, "running under edge-test") { (try? self.job("renamed1"))?["status"] as? String == "running" })
        kill(first.pid, SIGTERM)
        _ = try h.finish(first)
        // The box is renamed: a new NODE_ID with its own key; the old key is revoked.
        var env = agentEnv
        env["NODE_ID"] = "edge-renamed"
        env["FFRTMP_API_KEY"] = try issueNodeKey("edge-renamed")
        let revoke = try Harness.output(h.binDir + "/ffrtmp-master", ["nodes", "revoke", "edge-test", "--db", "sqlite:\(h.stateDir)/master.db"])
        XCTAssertEqual(revoke.status, 0)
        let second = try h.start(["agent"], env: env)
        defer { kill(second.pid, SIGTERM); _ = try? h.finish(second) }
        XCTAssertTrue(h.waitUntil(10, "the renamed node registered") { (try? self.api("GET", "/api/nodes"))?.contains("edge-renamed") ?? false })
        _ = try api("POST", "/api/jobs/renamed1/cancel")
        XCTAssertTrue(h.waitUntil(30, "canceled at the master, reported for the node it was dispatched to") {
            let j = try? self.job("renamed1")
            return j?["status"] as? String == "canceled" && j?["node_id"] as? String == "edge-test"
        }, "\((try? job("renamed1")) ?? [:])\n\(log(second).suffix(2000))")
        XCTAssertFalse(log(second).contains("refused by the master"), log(second))
    }
}
