import FoundationEssentials
import Glibc
import NIOSSL

/// MASTER_URL, parsed once: http(s)://HOST[:PORT][/PREFIX]. Nothing else is accepted (no user
/// info, query or fragment), so a key can never end up in a URL or a log line.
public struct MasterEndpoint: Sendable, Equatable {
    public let url: String
    public let isHTTPS: Bool
    public let host: String
    public let port: Int

    public init(_ url: String) throws {
        let tls = url.hasPrefix("https://")
        guard tls || url.hasPrefix("http://") else { throw MasterClient.ClientError.badURL(url) }
        let rest = url.dropFirst(tls ? 8 : 7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        guard !authority.isEmpty, !url.contains(where: { "@?# \t\r\n\0".contains($0) }) else { throw MasterClient.ClientError.badURL(url) }
        var host = Substring(authority), port: Int? = nil
        if authority.hasPrefix("[") {
            // [v6]:port
            guard let close = authority.firstIndex(of: "]") else { throw MasterClient.ClientError.badURL(url) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { throw MasterClient.ClientError.badURL(url) }
                port = p
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]) else { throw MasterClient.ClientError.badURL(url) }
            port = p
        }
        guard !host.isEmpty, (1...65535).contains(port ?? 1) else { throw MasterClient.ClientError.badURL(url) }
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

/// How the agent checks the master, and proves itself: MASTER_CA_FILE pins a private CA (else
/// the system trust store), MASTER_CLIENT_CERT and MASTER_CLIENT_KEY give mutual TLS. The
/// files are read here, once, so a bad one is a start-up error naming its key.
public struct MasterTLS: Sendable, Equatable {
    public var caFile: String?
    public var clientCert: String?
    public var clientKey: String?

    public init(caFile: String? = nil, clientCert: String? = nil, clientKey: String? = nil) {
        self.caFile = caFile
        self.clientCert = clientCert
        self.clientKey = clientKey
    }

    func configuration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        // Full verification: the chain up to a trusted root, and the master's name (or IP) in
        // its certificate's SAN.
        tls.certificateVerification = .fullVerification
        if let ca = caFile {
            let roots = try Self.load("MASTER_CA_FILE", ca) { try NIOSSLCertificate.fromPEMFile($0) }
            guard !roots.isEmpty else { throw MasterClient.ClientError.tlsFile(key: "MASTER_CA_FILE", path: ca, why: "no PEM certificate in it") }
            tls.trustRoots = .certificates(roots)
        }
        switch (clientCert, clientKey) {
        case (nil, nil): break
        case let (cert?, key?):
            let chain = try Self.load("MASTER_CLIENT_CERT", cert) { try NIOSSLCertificate.fromPEMFile($0) }
            guard !chain.isEmpty else { throw MasterClient.ClientError.tlsFile(key: "MASTER_CLIENT_CERT", path: cert, why: "no PEM certificate in it") }
            tls.certificateChain = chain.map { .certificate($0) }
            tls.privateKey = .privateKey(try Self.load("MASTER_CLIENT_KEY", key) { try NIOSSLPrivateKey(file: $0, format: .pem) })
        case (_?, nil):
            throw MasterClient.ClientError.tlsFile(key: "MASTER_CLIENT_KEY", path: "", why: "MASTER_CLIENT_CERT is set: mutual TLS needs its key too")
        case (nil, _?):
            throw MasterClient.ClientError.tlsFile(key: "MASTER_CLIENT_CERT", path: "", why: "MASTER_CLIENT_KEY is set: mutual TLS needs its certificate too")
        }
        return tls
    }

    static func load<T>(_ key: String, _ path: String, _ read: (String) throws -> T) throws -> T {
        do { return try read(path) } catch {
            throw MasterClient.ClientError.tlsFile(key: key, path: path, why: "\(error)")
        }
    }
}
