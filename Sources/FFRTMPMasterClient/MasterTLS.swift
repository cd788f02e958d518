import NIOSSL

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
