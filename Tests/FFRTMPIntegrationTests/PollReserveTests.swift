import Foundation
import XCTest

/// With its state dir full, the agent takes no job from the master (each would fail to be
/// journaled and stay assigned); once there is room again, the queued jobs run.
final class PollReserveTests: MasterTestCase {
    func testAFullStateDirTakesNoJobUntilThereIsRoom() throws {
        try requireFFmpeg()
        let mnt = h.stateDir + "/tiny"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        guard mount("tmpfs", mnt, "tmpfs", 0, "size=4m,mode=0755") == 0 else {
            throw XCTSkip("skipped: cannot mount a tmpfs here (errno \(errno))")
        }
        defer { umount2(mnt, Int32(MNT_DETACH)) }
        try startMaster()
        var env = agentEnv
        env["FFRTMP_STATE_DIR"] = mnt + "/state"
        env["POLL_RESERVE_MB"] = "1"
        let agent = try h.start(["agent"], env: env)
        defer { kill(agent.pid, SIGTERM); _ = try? h.finish(agent) }
        XCTAssertTrue(h.waitUntil(10, "agent registered") { (try? self.api("GET", "/api/nodes"))?.contains("edge-test") ?? false })
        // Fill the tmpfs to the last block.
        let fill = mnt + "/fill"
        let fd = open(fill, O_WRONLY | O_CREAT, 0o600)
        var block = [UInt8](repeating: 0, count: 65536)
        while write(fd, &block, block.count) > 0 {}
        XCTAssertEqual(errno, ENOSPC)
        close(fd)
        try submit("room1", wrapper: true)
        try submit("room2", wrapper: true)
        sleep(3)
        for id in ["room1", "room2"] { XCTAssertEqual(try job(id)["status"] as? String, "queued", "\(id) was not taken with the state dir full") }
        let log = agent.stderrSoFar
        XCTAssertTrue(log.contains("not polling: the state dir \(mnt)/state has 0 MiB free, below POLL_RESERVE_MB=1"), log)
        XCTAssertEqual(unlink(fill), 0)
        XCTAssertTrue(h.waitUntil(30, "both jobs ran once there was room") {
            ["room1", "room2"].allSatisfy { (try? self.job($0))?["status"] as? String == "completed" }
        })
    }
}
