import Foundation
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
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw NSError(domain: "socket #\(i): errno \(errno)", code: 1) }
            sockets.append(fd)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { throw NSError(domain: "connect #\(i): errno \(errno)", code: 1) }
            if partial && i % 2 == 0 { _ = "GET /health HTTP/1.1\r\nHo".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        }
    }

    /// Seconds a GET /health took (curl, bounded at 5 s), and whether it said ok.
    func health() throws -> (Double, Bool) {
        let t0 = Date()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "--max-time", "5", "http://127.0.0.1:\(port)/health"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let body = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
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
}
