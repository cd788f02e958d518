import FFRTMPCore
import Glibc

/// GET /metrics and GET /health on METRICS_PORT, served from one background thread with
/// plain sockets: the edge binary carries no HTTP server stack (see BENCHMARKS.md on start-up).
public final class MetricsServer: @unchecked Sendable {
    let fd: Int32
    let render: @Sendable () -> String
    let health: @Sendable () -> String

    public init(port: Int, host: String = "0.0.0.0", render: @escaping @Sendable () -> String, health: @escaping @Sendable () -> String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FFRTMPError.io(path: "metrics socket", operation: "create", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            throw FFRTMPError.io(path: "\(host):\(port)", operation: "listen on (METRICS_PORT)", errno: e)
        }
        self.fd = fd
        self.render = render
        self.health = health
    }

    public func start() {
        SocketServer(fd: fd, handle: { [self] c in answer(c) }).start()
    }

    func answer(_ c: Int32) {
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 2048)
        let n = recv(c, &buf, buf.count, 0)
        let line = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? "" : ""
        let (status, type, body): (String, String, String)
        if line.hasPrefix("GET /metrics ") || line == "GET /metrics" {
            (status, type, body) = ("200 OK", "text/plain; version=0.0.4", render())
        } else if line.hasPrefix("GET /health") {
            (status, type, body) = ("200 OK", "application/json", health())
        } else {
            (status, type, body) = ("404 Not Found", "text/plain", "not found: GET /metrics or /health\n")
        }
        let resp = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = resp.withCString { send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }
}
