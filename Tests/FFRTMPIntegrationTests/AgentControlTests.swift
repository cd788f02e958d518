import FFRTMPCore
import Foundation
import XCTest

/// A standalone agent (no MASTER_URL): its control socket, WRAPPER_ENABLED persisted to
/// worker.env, a wrapped test transcode, SO_PEERCRED refusal, and sd_notify.
final class AgentControlTests: IntegrationTestCase {
    func ctl(_ json: String) throws -> Harness.Output { try h.ffrtmp(["ctl", json]) }

    /// /metrics answers at once with 50 idle connections held open to the port (the server it
    /// replaced took one connection at a time: 16 idle sockets made every scrape time out), and
    /// listens on loopback unless METRICS_LISTEN says otherwise.
    func testMetricsAnswersBesideFiftyIdleConnectionsOnLoopbackOnly() throws {
        let port = 21_400 + Int(getpid() % 400)
        let env = h.stateDir + "/worker.env"
        try "NODE_ID=metrics-node\nFFMPEG_PATH=/usr/bin/ffmpeg\nMETRICS_PORT=\(port)\n".write(toFile: env, atomically: true, encoding: .utf8)
        let agent = try h.start(["agent", "--config", env])
        defer { kill(agent.pid, SIGTERM); _ = try? h.finish(agent) }
        func connect() -> Int32 { Harness.connectLoopback(port) }
        XCTAssertTrue(h.waitUntil(10, "metrics port open") { let fd = connect(); if fd >= 0 { close(fd) }; return fd >= 0 })
        let idle = (0..<50).map { _ in connect() }
        defer { for fd in idle where fd >= 0 { close(fd) } }
        XCTAssertEqual(idle.filter { $0 < 0 }.count, 0, "all 50 idle connections accepted")
        let (status, body) = try Harness.output("/usr/bin/curl", ["-s", "-m", "1", "http://127.0.0.1:\(port)/metrics"])
        XCTAssertEqual(status, 0, "curl -m 1 /metrics beside 50 idle connections")
        XCTAssertTrue(body.contains("ffrtmp_platform_sla_total"), body)
        let ss = Process()
        ss.executableURL = URL(fileURLWithPath: "/usr/bin/ss")
        ss.arguments = ["-Hltn", "sport = :\(port)"]
        let listing = Pipe()
        ss.standardOutput = listing
        try ss.run()
        let text = String(decoding: listing.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ss.waitUntilExit()
        XCTAssertTrue(text.contains("127.0.0.1:\(port)") && !text.contains("0.0.0.0:\(port)") && !text.contains("*:\(port)"), text)
    }

    /// The installed unit loads worker.env as its EnvironmentFile too: the agent starts with
    /// the file's values also in its environment. A SIGHUP must still apply an edited file,
    /// and a console (control socket) toggle must survive it.
    func testReloadAppliesTheFileEvenWhenItIsAlsoTheEnvironment() throws {
        let env = h.stateDir + "/worker.env"
        let first = "NODE_ID=reload-node\nWRAPPER_ENABLED=false\nMAX_JOBS=3\nFFMPEG_PATH=/usr/bin/ffmpeg\n"
        try first.write(toFile: env, atomically: true, encoding: .utf8)
        let agent = try h.start(["agent", "--config", env],
                                env: ["NODE_ID": "reload-node", "WRAPPER_ENABLED": "false", "MAX_JOBS": "3", "FFMPEG_PATH": "/usr/bin/ffmpeg",
                                      "HEARTBEAT_INTERVAL": "7"])
        defer { kill(agent.pid, SIGTERM); _ = try? h.finish(agent) }
        func wrapper() -> String? {
            let out = (try? ctl(#"{"op":"status"}"#))?.stdout ?? ""
            return out.contains(#""wrapper_enabled":true"#) ? "true" : out.contains(#""wrapper_enabled":false"#) ? "false" : nil
        }
        XCTAssertTrue(h.waitUntil(10, "control socket answers") { wrapper() == "false" })
        // The operator edits the file and reloads.
        try first.replacingOccurrences(of: "WRAPPER_ENABLED=false", with: "WRAPPER_ENABLED=true").write(toFile: env, atomically: true, encoding: .utf8)
        kill(agent.pid, SIGHUP)
        XCTAssertTrue(h.waitUntil(10, "the edited file is in force after SIGHUP") { wrapper() == "true" }, "wrapper_enabled: \(wrapper() ?? "?")")
        // The console switches it off (persisted to the file), then a reload happens.
        XCTAssertTrue(try ctl(#"{"op":"set_wrapper","enabled":false}"#).stdout.contains(#""persisted":true"#))
        kill(agent.pid, SIGHUP)
        usleep(500_000)
        XCTAssertTrue(h.waitUntil(5, "the toggle survives the reload") { wrapper() == "false" }, "wrapper_enabled: \(wrapper() ?? "?")")
    }

    func testControlSocketAndNotify() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg"), "skipped: ffmpeg is not installed")
        let env = h.stateDir + "/worker.env"
        try "# test node\nNODE_ID=ctl-node\nWRAPPER_ENABLED=false\nFFMPEG_PATH=/usr/bin/ffmpeg\n".write(toFile: env, atomically: true, encoding: .utf8)
        let notify = try NotifySocket(path: h.stateDir + "/notify.sock")
        let agent = try h.start(["agent", "--config", env], env: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"])
        var messages = ""
        while !(messages.contains("READY=1") && messages.contains("WATCHDOG=1")), let m = notify.receive(timeout: 10) {
            messages += m.text + "\n"
        }
        XCTAssertTrue(messages.contains("READY=1"), messages)
        XCTAssertTrue(messages.contains("WATCHDOG=1"), messages)

        let status = try ctl(#"{"op":"status"}"#)
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains(#""node_id":"ctl-node""#) && status.stdout.contains(#""wrapper_enabled":false"#), status.stdout)
        let set = try ctl(#"{"op":"set_wrapper","enabled":true}"#)
        XCTAssertTrue(set.stdout.contains(#""persisted":true"#), set.stdout)
        let file = try String(contentsOfFile: env, encoding: .utf8)
        XCTAssertTrue(file.contains("WRAPPER_ENABLED=true\n") && file.contains("# test node\n") && !file.contains("WRAPPER_ENABLED=false"), file)
        XCTAssertTrue(try ctl(#"{"op":"get_wrapper"}"#).stdout.contains(#""wrapper_enabled":true"#))

        let launched = try ctl(#"{"op":"launch_test","duration_seconds":1,"cpu_max":"50000 100000","memory_max_mb":256}"#)
        XCTAssertEqual(launched.status, 0, launched.stdout)
        let job = try XCTUnwrap(launched.stdout.components(separatedBy: #""job":""#).last?.split(separator: "\"").first.map(String.init))
        h.waitUntil(20, "test transcode exited") { (try? self.h.psJob(job))?["state"] as? String == "exited" }
        let r = try XCTUnwrap(try h.psJob(job))
        XCTAssertEqual(r["exit_code"] as? Int, 0)
        XCTAssertEqual((r["constraints_applied"] as? [String: Any])?["cpu_max"] as? String, "50000 100000")

        let bad = try ctl(#"{"op":"reboot"}"#)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stdout.contains("unknown op"), bad.stdout)
        let junk = try ctl("not json")
        XCTAssertTrue(junk.stdout.contains("bad request"), junk.stdout)
        let killBad = try ctl(#"{"op":"kill","job":"../../etc"}"#)
        XCTAssertTrue(killBad.stdout.contains("invalid job id"), killBad.stdout)

        // SO_PEERCRED: an unprivileged peer that can reach the socket is still refused.
        chmod(h.stateDir, 0o755)
        chmod(h.stateDir + "/agent.sock", 0o666)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", h.binDir + "/ffrtmp", "ctl", "--state-dir", h.stateDir, #"{"op":"status"}"#]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let answer = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 1)
        XCTAssertTrue(answer.contains("unauthorised peer"), answer)

        kill(agent.pid, SIGTERM)
        XCTAssertEqual(try h.finish(agent).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.stateDir + "/agent.sock"))
    }
}

/// One agent per state dir: a second one is refused and names the first; the lock dies with
/// its holder, even on kill -9, so a restart is never blocked.
final class AgentLockTests: IntegrationTestCase {
    func testASecondAgentOnTheSameStateDirIsRefused() throws {
        let env = h.stateDir + "/worker.env"
        try "NODE_ID=lock-node\n".write(toFile: env, atomically: true, encoding: .utf8)
        let first = try h.start(["agent", "--config", env])
        XCTAssertTrue(h.waitUntil(10, "first agent up") { FileManager.default.fileExists(atPath: self.h.stateDir + "/agent.sock") })
        let second = try h.ffrtmp(["agent", "--config", env])
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(second.stderr.contains("another ffrtmp agent (pid \(first.pid)) is running on this state dir"), second.stderr)
        // The first one still owns its socket and answers.
        XCTAssertTrue(try h.ffrtmp(["ctl", #"{"op":"status"}"#]).stdout.contains(#""node_id":"lock-node""#))
        kill(first.pid, SIGKILL)
        _ = try h.finish(first)
        let third = try h.start(["agent", "--config", env])
        XCTAssertTrue(h.waitUntil(10, "a restarted agent takes the lock") {
            (try? self.h.ffrtmp(["ctl", #"{"op":"status"}"#]).stdout.contains(#""ok":true"#)) ?? false
        })
        kill(third.pid, SIGTERM)
        XCTAssertEqual(try h.finish(third).status, 0)
    }
}
