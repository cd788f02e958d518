import Foundation
import Synchronization
import XCTest

/// A real ffrtmp-master against idle sockets and a hostile body: /health keeps answering with
/// 2,000 idle connections open (some holding half a request), the idle ones are closed after
/// --idle-timeout, and 32 KB of nesting is refused as such.
final class MasterLimitsTests: MasterTestCase {
    var sockets: [Int32] = []

    override func tearDown() {
        for fd in sockets { close(fd) }
        sockets = []
        super.tearDown()
    }

    func connectIdle(_ count: Int, partial: Bool) throws {
        for i in 0..<count {
            let fd = Harness.connectLoopback(port)
            guard fd >= 0 else { throw NSError(domain: "connect #\(i): errno \(errno)", code: 1) }
            sockets.append(fd)
            if partial && i % 2 == 0 { _ = "GET /health HTTP/1.1\r\nHo".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        }
    }

    /// Seconds a GET /health took (curl, bounded at 5 s), and whether it said ok.
    func health() throws -> (Double, Bool) {
        let t0 = Date()
        let body = try Harness.output("/usr/bin/curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(port)/health"]).stdout
        return (Date().timeIntervalSince(t0), body.contains("ok"))
    }

    func testIdleConnectionsAndAHostileBodyStallNothing() throws {
        // Room for 2,000 sockets here and in the master (which raises its soft limit to this hard one).
        var rl = rlimit(rlim_cur: 8192, rlim_max: 8192)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl), 0)
        try startMaster(extra: ["--idle-timeout", "3"])
        try connectIdle(2000, partial: true)
        var slowest = 0.0
        for _ in 0..<10 {
            let (t, ok) = try health()
            XCTAssertTrue(ok, "/health answered with 2,000 idle connections open")
            slowest = max(slowest, t)
            usleep(200_000)
        }
        XCTAssertLessThan(slowest, 1.0, "slowest /health beside 2,000 idle connections")

        // 32 KB of {"a": nesting, as a job's parameters: refused before any decoding or store work.
        let nested = #"{"id":"deep","parameters":"# + String(repeating: #"{"a":"#, count: 6500) + "1" + String(repeating: "}", count: 6500) + "}"
        let answer = try api("POST", "/api/jobs", nested)
        XCTAssertTrue(answer.contains("invalid body: arrays and objects nested deeper than 32 levels"), answer)
        XCTAssertTrue(try api("GET", "/api/jobs").contains("[]"), "nothing was stored")

        // The idle ones are closed by the master after --idle-timeout (3 s): EOF on every socket.
        sleep(5)
        var closed = 0
        var buf = [UInt8](repeating: 0, count: 64)
        for fd in sockets {
            var tv = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var n = recv(fd, &buf, buf.count, 0)
            while n > 0 { n = recv(fd, &buf, buf.count, 0) }  // an answer to half a request, then EOF
            if n == 0 || (n < 0 && errno == ECONNRESET) { closed += 1 }
            if closed == 0 { break }  // the first one still open: no need to wait on 2,000
        }
        XCTAssertEqual(closed, sockets.count, "idle connections the master closed after --idle-timeout 3")
        XCTAssertTrue(try health().1)
    }

    /// One HTTP/1.1 request on a fresh loopback connection; returns the status and the seconds
    /// it took (connect to the end of the answer). The test's own client, so that 50 callers in
    /// parallel cost no process spawns.
    static func request(port: Int, _ method: String, _ path: String, key: String, body: String) -> (Int, Double) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let fd = Harness.connectLoopback(port)
        guard fd >= 0 else { return (-1, 0) }
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return (-1, 0) }
            off += n
        }
        var answer: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            answer += buf[0..<n]
        }
        let status = Int(String(decoding: answer.prefix(12), as: UTF8.self).split(separator: " ").dropFirst().first ?? "") ?? -1
        return (status, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }

    /// While the 32 KB nested body is posted again and again, heartbeats of 50 nodes in parallel
    /// (each with its own node key) keep their p99 under 100 ms: the refusal costs the store nothing.
    func testHeartbeatsOf50NodesKeepTimeWhileTheHostileBodyIsPosted() throws {
        try startMaster()
        let nodes = (1...50).map { "hb-\($0)" }
        let keys = try nodes.map { try issueNodeKey($0) }
        let port = self.port
        for (n, k) in zip(nodes, keys) {
            let (status, _) = Self.request(port: port, "POST", "/api/nodes/register", key: k, body: #"{"node_id":"\#(n)","hostname":"\#(n)"}"#)
            XCTAssertEqual(status, 200, "register \(n)")
        }
        let hostile = #"{"id":"deep","parameters":"# + String(repeating: #"{"a":"#, count: 6500) + "1" + String(repeating: "}", count: 6500) + "}"
        let stop = Mutex(false), refusals = Mutex<[Int]>([])
        let poster = Thread {
            while !stop.withLock({ $0 }) {
                let (status, _) = Self.request(port: port, "POST", "/api/jobs", key: Self.key, body: hostile)
                refusals.withLock { $0.append(status) }
            }
        }
        poster.start()
        let latencies = Mutex<[Double]>([]), failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: nodes.count) { i in
            for _ in 0..<20 {
                let (status, t) = Self.request(port: port, "POST", "/api/nodes/\(nodes[i])/heartbeat", key: keys[i], body: #"{"running_jobs":[]}"#)
                if status != 200 { failures.withLock { $0.append("\(nodes[i]): \(status)") } }
                latencies.withLock { $0.append(t) }
            }
        }
        stop.withLock { $0 = true }
        while poster.isExecuting || !poster.isFinished { usleep(10_000) }
        let sorted = latencies.withLock { $0 }.sorted()
        let p99 = sorted[Int(Double(sorted.count) * 0.99) - 1], median = sorted[sorted.count / 2]
        print("heartbeats: \(sorted.count), median \(Int(median * 1000)) ms, p99 \(Int(p99 * 1000)) ms; hostile posts: \(refusals.withLock { $0.count })")
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(sorted.count, 1000)
        XCTAssertLessThan(p99, 0.1, "p99 of 1,000 heartbeats from 50 nodes beside the hostile body")
        let statuses = Set(refusals.withLock { $0 })
        XCTAssertEqual(statuses, [400], "every hostile post was refused")
        XCTAssertGreaterThan(refusals.withLock { $0.count }, 10, "the hostile body was posted throughout")
    }

    /// The server's own flags: out of range, half a pair, or an unreadable file is refused at
    /// start with the flag named, before anything listens.
    func testBadServerFlagsAreRefusedByName() throws {
        let db = "sqlite:\(h.stateDir)/flags.db"
        let cases: [([String], String)] = [
            (["--idle-timeout", "0"], "--idle-timeout must be 1 to 3600 seconds, not 0"),
            (["--max-connections", "5"], "--max-connections must be 16 to 1000000, not 5"),
            (["--idle-poll-rate=-1"], "--idle-poll-rate must be 0 (off) or 0.01 to 1000000 polls a second, not -1.0"),
            (["--idle-poll-rate", "nan"], "--idle-poll-rate must be 0 (off) or 0.01 to 1000000 polls a second, not nan"),
            (["--idle-poll-rate", "0.001"], "--idle-poll-rate must be 0 (off) or 0.01 to 1000000 polls a second, not 0.001"),
            (["--db-connections", "0"], "--db-connections must be 1 to 500, not 0"),
            (["--db-connections", "501"], "--db-connections must be 1 to 500, not 501"),
            (["--tls-cert", "/nonexistent.pem"], "--tls-cert and --tls-key go together"),
            (["--tls-client-ca", "/nonexistent.pem"], "--tls-client-ca needs --tls-cert and --tls-key"),
            (["--tls-cert", h.stateDir + "/none.pem", "--tls-key", h.stateDir + "/none.key"], "--tls-cert \(h.stateDir)/none.pem"),
        ]
        for (flags, text) in cases {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: h.binDir + "/ffrtmp-master")
            p.arguments = ["--listen", "127.0.0.1:0", "--db", db] + flags
            p.environment = ProcessInfo.processInfo.environment.merging(["FFRTMP_API_KEY": Self.key]) { $1 }
            let err = Pipe()
            p.standardOutput = FileHandle.nullDevice
            p.standardError = err
            try p.run()
            let text2 = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertNotEqual(p.terminationStatus, 0, "\(flags)")
            XCTAssertTrue(text2.contains(text), "\(flags): \(text2)")
        }
    }
}
