import Glibc

/// MASTER_URL, parsed once: http(s)://HOST[:PORT][/PREFIX]. Nothing else is accepted (no user
/// info, query or fragment), so a key can never end up in a URL or a log line.
public struct MasterEndpoint: Sendable, Equatable {
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var url: String
        public var description: String {
            "MASTER_URL \"\(Self.shown(url))\" is not an https://HOST[:PORT][/PATH] or http://HOST[:PORT][/PATH] URL (no user info, query or fragment)"
        }

        /// The URL as it may be logged: user info (a password, often) is never repeated.
        public static func shown(_ url: String) -> String {
            guard let at = url.lastIndex(of: "@") else { return String(url.prefix(200)) }
            let scheme = url.hasPrefix("https://") ? "https://" : url.hasPrefix("http://") ? "http://" : ""
            return String((scheme + "…@" + url[url.index(after: at)...]).prefix(200))
        }
    }

    public let url: String
    public let isHTTPS: Bool
    public let host: String
    public let port: Int

    public init(_ url: String) throws {
        let tls = url.hasPrefix("https://")
        guard tls || url.hasPrefix("http://") else { throw Invalid(url: url) }
        let rest = url.dropFirst(tls ? 8 : 7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        guard !authority.isEmpty, !url.contains(where: { "@?# \t\r\n\0".contains($0) }) else { throw Invalid(url: url) }
        var host = Substring(authority), port: Int? = nil
        if authority.hasPrefix("[") {
            // [v6]:port
            guard let close = authority.firstIndex(of: "]") else { throw Invalid(url: url) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { throw Invalid(url: url) }
                port = p
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]) else { throw Invalid(url: url) }
            port = p
        }
        guard !host.isEmpty, (1...65535).contains(port ?? 1) else { throw Invalid(url: url) }
        var trimmed = url
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.url = trimmed
        self.isHTTPS = tls
        self.host = String(host)
        self.port = port ?? (tls ? 443 : 80)
    }

    /// 127.0.0.0/8, ::1 and localhost: the only hosts plain http is fine for (the key and
    /// every job would cross a network in clear text otherwise).
    public var isLoopback: Bool {
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        var a4 = in_addr(), a6 = in6_addr()
        if inet_pton(AF_INET, host, &a4) == 1 { return UInt32(bigEndian: a4.s_addr) >> 24 == 127 }
        if inet_pton(AF_INET6, host, &a6) == 1 {
            var lo = in6addr_loopback
            return memcmp(&a6, &lo, MemoryLayout<in6_addr>.size) == 0
        }
        return false
    }
}
