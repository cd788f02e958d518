import FFRTMPCore
import Glibc

/// A small blocking HTTP/1.1 client over a TCP socket, for plain `http://` only.
///
/// Why not AsyncHTTPClient: linking SwiftNIO into the edge binary made every `ffrtmp run`
/// start about 1 ms slower (2.8 → 3.9 ms measured; the Swift runtime scans every protocol
/// conformance record of the binary on first dynamic cast, and NIO brings thousands). Job
/// start latency is what the edge binary is judged by. TLS to the master is expected from
/// the network (WireGuard, an SSH tunnel) or a local TLS-terminating proxy.
struct HTTPConnection {
    struct Response {
        var status: Int
        var body: [UInt8]
    }

    enum Failure: Error, CustomStringConvertible {
        case url(String), resolve(String), io(String), protocolError(String)
        var description: String {
            switch self {
            case .url(let s): return "bad URL: \(s)"
            case .resolve(let s): return "cannot resolve \(s)"
            case .io(let s): return s
            case .protocolError(let s): return "bad HTTP response: \(s)"
            }
        }
    }

    /// Splits http://HOST[:PORT][/prefix] into parts.
    static func parse(_ url: String) throws -> (host: String, port: UInt16, prefix: String) {
        guard url.hasPrefix("http://") else {
            throw Failure.url("\(url) (only http:// is supported; put TLS in the network or a local proxy)")
        }
        let rest = url.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var prefix = String(rest[slash...])
        if prefix.hasSuffix("/") { prefix.removeLast() }
        let hp = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = hp.first, !host.isEmpty, hp.count <= 2 else { throw Failure.url(url) }
        let port = hp.count == 2 ? UInt16(hp[1]) : 80
        guard let port else { throw Failure.url(url) }
        return (String(host), port, prefix)
    }

    static func request(url: String, method: String, path: String, headers: [(String, String)], body: [UInt8]?,
                        timeoutSeconds: Int) throws -> Response {
        let (host, port, prefix) = try parse(url)
        let fd = try connect(host: host, port: port, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }
        var head = "\(method) \(prefix)\(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nUser-Agent: ffrtmp\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "Content-Length: \(body?.count ?? 0)\r\n\r\n"
        try sendAll(fd, Array(head.utf8) + (body ?? []))
        return try parseResponse(readAll(fd, deadlineSeconds: timeoutSeconds))
    }

    static func connect(host: String, port: UInt16, timeoutSeconds: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else { throw Failure.resolve("\(host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(res) }
        var lastError: Int32 = 0
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd >= 0 {
                var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
                lastError = errno
                close(fd)
            }
            ai = a.pointee.ai_next
        }
        throw Failure.io("connect to \(host):\(port): \(errnoText(lastError))")
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; throw Failure.io("send: \(errnoText(errno))") }
            off += n
        }
    }

    /// Reads to EOF; the deadline bounds the whole answer, not each recv (a server that
    /// drips one byte per second must not hold the agent's loop).
    static func readAll(_ fd: Int32, limit: Int = 16 << 20, deadlineSeconds: Int = 15) throws -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = Clock.monotonicNanoseconds() + Int64(deadlineSeconds) * 1_000_000_000
        while out.count < limit {
            if Clock.monotonicNanoseconds() > deadline { throw Failure.io("the master took longer than \(deadlineSeconds) s to answer") }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure.io(errno == EAGAIN ? "timed out waiting for the master" : "recv: \(errnoText(errno))")
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    /// Status line, headers, then a Content-Length or chunked body (the server closes after).
    static func parseResponse(_ raw: [UInt8]) throws -> Response {
        let sep: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, raw.count - 3)).first(where: { Array(raw[$0..<($0 + 4)]) == sep }) else {
            throw Failure.protocolError("no header end in \(raw.count) bytes")
        }
        let head = String(decoding: raw[..<end], as: UTF8.self)
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure.protocolError(String(lines.first ?? "")) }
        var chunked = false
        var length: Int?
        for l in lines.dropFirst() {
            let kv = l.split(separator: ":", maxSplits: 1)
            guard kv.count == 2 else { continue }
            let key = kv[0].lowercased(), value = kv[1].trimmingCharacters(in: " ")
            if key == "transfer-encoding" && value.lowercased().contains("chunked") { chunked = true }
            if key == "content-length" { length = Int(value) }
        }
        var body = Array(raw[(end + 4)...])
        if chunked {
            body = try dechunk(body)
        } else if let length {
            // A short body is an error, never a silently truncated answer.
            guard length >= 0, length <= body.count else { throw Failure.protocolError("body of \(body.count) bytes, Content-Length \(length)") }
            body = Array(body[..<length])
        }
        return Response(status: status, body: body)
    }

    static func dechunk(_ b: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            guard let lineEnd = (i..<max(i, b.count - 1)).first(where: { b[$0] == 13 && b[$0 + 1] == 10 }) else { break }
            let sizeText = String(decoding: b[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: " "), radix: 16), size >= 0, size <= 16 << 20 else {
                throw Failure.protocolError("bad chunk size")
            }
            if size == 0 { break }
            let start = lineEnd + 2
            guard size <= b.count - start else { throw Failure.protocolError("truncated chunk") }
            out.append(contentsOf: b[start..<(start + size)])
            i = start + size + 2
        }
        return out
    }
}
