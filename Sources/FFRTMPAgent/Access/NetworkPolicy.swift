import FFRTMPCore
import FFRTMPWire
import Glibc

/// One entry of ALLOWED_INPUT_HOSTS / ALLOWED_OUTPUT_HOSTS: `host` (any port) or `host:port`
/// (`[v6]:port` for an IPv6 literal). Hosts compare case-insensitively, as written: no DNS.
public struct HostPattern: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int?

    public init(host: String, port: Int?) {
        self.host = host.lowercased()
        self.port = port
    }

    public var description: String { port.map { "\(host.contains(":") ? "[\(host)]" : host):\($0)" } ?? host }

    /// Parses a comma-separated list; `key` names the setting in errors.
    public static func list(_ raw: String, key: String) throws -> [HostPattern] {
        try raw.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }.filter { !$0.isEmpty }.map { entry in
            guard let (host, port) = NetworkPolicy.splitHostPort(entry), !host.isEmpty,
                  host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_:".contains($0)) }) else {
                throw WorkerConfig.Invalid(key: key, value: entry, expected: "host or host:port entries separated by ',' ([v6]:port for IPv6)")
            }
            return HostPattern(host: host, port: port)
        }
    }
}

/// Which network hosts a job may read from and push to. With no allow-list, inputs may come
/// from anywhere except this box itself (loopback, link-local, unspecified addresses: no SSRF
/// to services bound to 127.0.0.1 or the cloud metadata address); outputs may go anywhere.
/// With a list, the host must match an entry (which may name a loopback address on purpose).
public struct NetworkPolicy: Equatable, Sendable {
    public var inputHosts: [HostPattern]?
    public var outputHosts: [HostPattern]?

    public init(inputHosts: [HostPattern]? = nil, outputHosts: [HostPattern]? = nil) {
        self.inputHosts = inputHosts
        self.outputHosts = outputHosts
    }

    static let defaultPorts = ["rtmp": 1935, "rtmps": 443, "http": 80, "https": 443]

    public func check(_ url: String, field: String, output: Bool) throws {
        let u = Array(url.utf8)
        guard let sep = (0..<max(0, u.count - 2)).first(where: { u[$0] == 0x3a && u[$0 + 1] == 0x2f && u[$0 + 2] == 0x2f }) else { return }
        let scheme = String(decoding: u[..<sep], as: UTF8.self).lowercased()
        let rest = String(decoding: u[(sep + 3)...], as: UTF8.self)
        var authority = String(rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
        guard let (hostRaw, explicitPort) = Self.splitHostPort(authority), !hostRaw.isEmpty else {
            throw WireError.invalidField(field: field, reason: "the URL has no host, or a host[:port] ffmpeg would read differently")
        }
        let host = hostRaw.lowercased()
        let port = explicitPort ?? Self.defaultPorts[scheme]
        let list = output ? outputHosts : inputHosts
        if let list {
            guard list.contains(where: { $0.host == host && ($0.port == nil || $0.port == port) }) else {
                let key = output ? "ALLOWED_OUTPUT_HOSTS" : "ALLOWED_INPUT_HOSTS"
                throw WireError.invalidField(field: field, reason: "host \(host)\(port.map { ":\($0)" } ?? "") is not in \(key) (\(list.map(\.description).joined(separator: ",")))")
            }
            return
        }
        if !output, Self.isThisBox(host) {
            throw WireError.invalidField(field: field, reason: "host \(host) is this box (loopback or link-local); network inputs from it are refused unless ALLOWED_INPUT_HOSTS names it")
        }
    }

    /// "host", "host:port", "[v6]" or "[v6]:port"; nil when the port is not a number 1-65535.
    static func splitHostPort(_ s: String) -> (String, Int?)? {
        func port(_ p: Substring) -> Int?? {
            guard let n = Int(p), (1...65535).contains(n), p.allSatisfy(\.isNumber) else { return nil }
            return .some(n)
        }
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return nil }
            let host = String(s[s.index(after: s.startIndex)..<close])
            let rest = s[s.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.hasPrefix(":"), let p = port(rest.dropFirst()) else { return nil }
            return (host, p)
        }
        let colons = s.filter { $0 == ":" }.count
        if colons == 0 { return (s, nil) }
        // More than one colon without brackets: ffmpeg would read "127.0.0.1:80:1" as host
        // 127.0.0.1, port 80. Only a bare IPv6 literal (inet_pton says so) is taken as a host.
        if colons > 1 {
            var v6 = in6_addr()
            return inet_pton(AF_INET6, s, &v6) == 1 ? (s, nil) : nil
        }
        let i = s.firstIndex(of: ":")!
        guard let p = port(s[s.index(after: i)...]) else { return nil }
        return (String(s[..<i]), p)
    }

    /// Loopback, link-local and unspecified addresses, and the names that always mean this box.
    static func isThisBox(_ host: String) -> Bool {
        if host == "localhost" || host.hasSuffix(".localhost") || host == "localhost.localdomain" || host == "ip6-localhost" { return true }
        // This box's own name (Debian maps it to 127.0.1.1 in /etc/hosts).
        let me = Sys.hostname().lowercased()
        if !me.isEmpty, host == me || host == me.split(separator: ".").first.map(String.init) { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return isThisBoxV4(UInt32(bigEndian: v4.s_addr)) }
        var v6 = in6_addr()
        // A zone index (fe80::1%eth0) names an interface, not another address.
        let bare = host.split(separator: "%", maxSplits: 1).first.map(String.init) ?? host
        if inet_pton(AF_INET6, bare, &v6) == 1 {
            let b = withUnsafeBytes(of: v6) { Array($0) }
            if b.allSatisfy({ $0 == 0 }) { return true }                                   // ::
            if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return true }             // ::1
            if b[0] == 0xfe && (b[1] & 0xc0) == 0x80 { return true }                      // fe80::/10
            let v4 = UInt32(b[12]) << 24 | UInt32(b[13]) << 16 | UInt32(b[14]) << 8 | UInt32(b[15])
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff { return isThisBoxV4(v4) }  // ::ffff:a.b.c.d
            if b[0..<12].allSatisfy({ $0 == 0 }) { return isThisBoxV4(v4) }                                  // ::a.b.c.d
            return false
        }
        // inet_pton takes only dotted quads; "127.1" and "2130706433" also reach 127.0.0.1 in ffmpeg.
        var legacy = in_addr()
        if inet_aton(host, &legacy) != 0 { return isThisBoxV4(UInt32(bigEndian: legacy.s_addr)) }
        return false
    }

    static func isThisBoxV4(_ a: UInt32) -> Bool {
        a >> 24 == 127 || a >> 16 == 0xa9fe || a >> 24 == 0
    }
}
