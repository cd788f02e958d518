import ArgumentParser
import FFRTMPMaster
import Foundation
import Glibc
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL

/// The server: the default subcommand, so `ffrtmp-master --listen … --db …` works as before.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the job API (the default subcommand).",
        discussion: """
            Serves the job API under /api (see docs/API.md). Every route but /health and /metrics \
            needs Authorization: Bearer KEY. The admin key comes from $FFRTMP_API_KEY or --api-key-file \
            (never from argv); the optional read-only key from --read-key-file; each node has its own key \
            (`ffrtmp-master nodes add NODE_ID`). Stores: sqlite:PATH (embedded, default) or \
            postgres://USER:PASS@HOST:PORT/DB (fleets; several masters can share one database).
            """)

    @Option(help: "Address and port to listen on.")
    var listen: String = "0.0.0.0:8080"

    @OptionGroup var store: StoreOptions

    @Option(name: .customLong("api-key-file"), help: "A file holding the admin API key (overrides $FFRTMP_API_KEY).")
    var apiKeyFile: String?

    @Option(name: .customLong("read-key-file"), help: "A file holding a read-only key: GET /api/jobs, /api/jobs/ID, /api/nodes (and /metrics) only.")
    var readKeyFile: String?

    @Flag(name: .customLong("allow-shared-node-key"), help: "Migration aid: let the admin key call the node routes for any node, as before node keys (logged once a minute).")
    var allowSharedNodeKey = false

    @Flag(name: .customLong("metrics-auth"), help: "Put /metrics behind the API key too.")
    var metricsAuth = false

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS (with --tls-key). Without it the master speaks plain http, for loopback and tests.")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(name: .customLong("tls-client-ca"), help: "PEM CA: every client must present a certificate it signed (mutual TLS), and a node key is accepted only with a certificate whose CN or SAN DNS name is its node id. Needs --tls-cert.")
    var tlsClientCA: String?

    @Option(name: .customLong("idle-timeout"), help: "Seconds after which an idle connection is closed.")
    var idleTimeout: Int = 30

    @Option(name: .customLong("max-connections"), help: "Connections open at once; more wait in the kernel's backlog.")
    var maxConnections: Int = 10_000

    @Option(name: .customLong("node-lost-after"), help: "Seconds without a heartbeat after which a node is lost and its running jobs become unknown.")
    var nodeLostAfter: Double = 30

    @Option(name: .customLong("dispatch-lease"), help: "Seconds an assignment waits for its node to acknowledge the start; then it is requeued as a new attempt.")
    var dispatchLease: Double = 30

    @Option(name: .customLong("idle-poll-rate"), help: "About how many empty polls a second the whole idle fleet makes: an empty poll answer asks its node to wait (online nodes / this) seconds, at least its POLL_INTERVAL. 0: no pacing (every node polls at its POLL_INTERVAL).")
    var idlePollRate: Double = 500

    func validate() throws {
        guard let _ = Self.hostPort(listen) else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8080, not \(listen)") }
        guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 1 to 3600 seconds, not \(idleTimeout)") }
        guard (16...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be 16 to 1000000, not \(maxConnections)") }
        guard nodeLostAfter > 0 else { throw ValidationError("--node-lost-after must be greater than 0") }
        guard dispatchLease.isFinite, (0.5...3600).contains(dispatchLease) else { throw ValidationError("--dispatch-lease must be 0.5 to 3600 seconds, not \(dispatchLease)") }
        guard idlePollRate.isFinite, idlePollRate == 0 || (0.01...1_000_000).contains(idlePollRate) else { throw ValidationError("--idle-poll-rate must be 0 (off) or 0.01 to 1000000 polls a second, not \(idlePollRate)") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard tlsClientCA == nil || tlsCert != nil else { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
    }

    static func hostPort(_ s: String) -> (String, Int)? {
        guard let i = s.lastIndex(of: ":"), let p = Int(s[s.index(after: i)...]), (0...65535).contains(p) else { return nil }
        return (String(s[..<i]), p)
    }

    func run() async throws {
        var logger = Logger(label: "ffrtmp-master")
        logger.logLevel = .info
        let key = try Self.apiKey(file: apiKeyFile)
        let readKey = try readKeyFile.map { try Self.readKey(file: $0, adminKey: key) }
        let store = try await self.store.open(logger: logger)
        let (host, port) = Self.hostPort(listen)!
        let api = MasterAPI(store: store, apiKey: key, readKey: readKey, allowSharedNodeKey: allowSharedNodeKey,
                            bindNodeCertificates: tlsClientCA != nil, metricsNeedKey: metricsAuth,
                            nodeLostAfterSeconds: nodeLostAfter, dispatchLeaseSeconds: dispatchLease, idlePollRate: idlePollRate)
        if allowSharedNodeKey {
            logger.warning("--allow-shared-node-key: the admin key may act for any node; issue node keys (ffrtmp-master nodes add NODE_ID) and drop the flag")
        }
        let limits = ServerLimits(idleTimeoutSeconds: idleTimeout, maxConnections: maxConnections)
        let files = ServerLimits.raiseOpenFileLimit()
        if files < maxConnections + 64 {
            logger.warning("open-file limit \(files) is below --max-connections \(maxConnections): raise LimitNOFILE (the unit sets 65536)")
        }
        let server: HTTPServerBuilder = try tlsConfiguration().map { try .tls(limits.http1, tlsConfiguration: $0) } ?? limits.http1
        var app = Application(router: api.router(), server: server,
                              configuration: limits.configuration(host: host, port: port, logger: logger), logger: logger)
        logger.info("serving \(tlsCert == nil ? "http" : "https")://\(listen)\(tlsClientCA == nil ? "" : " (client certificates required)")")
        app.addServices(NodeLivenessService(store: store, lostAfterSeconds: nodeLostAfter, leaseSeconds: dispatchLease, logger: logger))
        try await app.runService()
        await store.close()
    }

    /// HTTPS from --tls-cert/--tls-key (NIOSSL); --tls-client-ca adds mutual TLS. A file that
    /// cannot be read is an error naming its option.
    func tlsConfiguration() throws -> TLSConfiguration? {
        guard let tlsCert, let tlsKey else { return nil }
        func load<T>(_ option: String, _ path: String, _ read: (String) throws -> T) throws -> T {
            do { return try read(path) } catch { throw ValidationError("\(option) \(path): \(error)") }
        }
        let chain = try load("--tls-cert", tlsCert) { try NIOSSLCertificate.fromPEMFile($0) }
        guard !chain.isEmpty else { throw ValidationError("--tls-cert \(tlsCert): no PEM certificate in it") }
        let key = try load("--tls-key", tlsKey) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        if let ca = tlsClientCA {
            let roots = try load("--tls-client-ca", ca) { try NIOSSLCertificate.fromPEMFile($0) }
            guard !roots.isEmpty else { throw ValidationError("--tls-client-ca \(ca): no PEM certificate in it") }
            tls.trustRoots = .certificates(roots)
            // A client certificate is required and checked against the CA (clients have no
            // host name to verify).
            tls.certificateVerification = .noHostnameVerification
        }
        return tls
    }

    /// The key never comes from argv (it would show in ps): a file, or the environment.
    static func apiKey(file: String?) throws -> String {
        let raw: String?
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read --api-key-file \(file)") }
            raw = text
        } else {
            raw = ProcessInfo.processInfo.environment["FFRTMP_API_KEY"]
        }
        let key = (raw ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard key.count >= 16 else {
            throw ValidationError("an API key of at least 16 characters is required: set FFRTMP_API_KEY or --api-key-file")
        }
        return key
    }

    static func readKey(file: String, adminKey: String) throws -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read --read-key-file \(file)") }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard key.count >= 16 else { throw ValidationError("--read-key-file \(file): the key must be at least 16 characters") }
        guard key != adminKey else { throw ValidationError("--read-key-file \(file): the read-only key must differ from the admin key") }
        guard !key.hasPrefix(NodeKeys.prefix) else { throw ValidationError("--read-key-file \(file): that is a node key (\(NodeKeys.prefix)…), not a read-only key") }
        return key
    }
}
