import ArgumentParser
import FFRTMPMaster
import Foundation
import Glibc
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL

@main
struct MasterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ffrtmp-master",
        abstract: "The ffrtmp control plane: job API and job store.",
        discussion: """
            Serves the job API under /api (see docs/API.md). Every route but /health and /metrics \
            needs Authorization: Bearer KEY, where KEY comes from $FFRTMP_API_KEY or --api-key-file \
            (never from argv). Stores: sqlite:PATH (embedded, default) or postgres://USER:PASS@HOST:PORT/DB \
            (fleets; several masters can share one database).
            """)

    @Option(help: "Address and port to listen on.")
    var listen: String = "0.0.0.0:8080"

    @Option(help: "sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB. Default: $MASTER_DB, else sqlite:$FFRTMP_STATE_DIR/master.db (or /var/lib/ffrtmp/master.db). A URL with a password belongs in MASTER_DB (environment), not here: argv is visible to every user in ps.")
    var db: String?

    @Option(name: .customLong("api-key-file"), help: "A file holding the API key (overrides $FFRTMP_API_KEY).")
    var apiKeyFile: String?

    @Flag(name: .customLong("metrics-auth"), help: "Put /metrics behind the API key too.")
    var metricsAuth = false

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS (with --tls-key). Without it the master speaks plain http, for loopback and tests.")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(name: .customLong("tls-client-ca"), help: "PEM CA: every client must present a certificate it signed (mutual TLS). Needs --tls-cert.")
    var tlsClientCA: String?

    @Option(name: .customLong("idle-timeout"), help: "Seconds after which an idle connection is closed.")
    var idleTimeout: Int = 30

    @Option(name: .customLong("max-connections"), help: "Connections open at once; more wait in the kernel's backlog.")
    var maxConnections: Int = 10_000

    @Option(name: .customLong("node-lost-after"), help: "Seconds without a heartbeat after which a node is lost and its running jobs become unknown.")
    var nodeLostAfter: Double = 30

    func validate() throws {
        guard let _ = Self.hostPort(listen) else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8080, not \(listen)") }
        guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 1 to 3600 seconds, not \(idleTimeout)") }
        guard (16...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be 16 to 1000000, not \(maxConnections)") }
        guard nodeLostAfter > 0 else { throw ValidationError("--node-lost-after must be greater than 0") }
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
        let env = ProcessInfo.processInfo.environment
        if let d = db, d.hasPrefix("postgres"), d.contains("@"), d.split(separator: "@")[0].contains(":") {
            logger.warning("--db carries a password, which every user can read in ps: set MASTER_DB in the environment (master.env) instead")
        }
        let store = try Self.openStore(db ?? env["MASTER_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultDB(), logger: logger)
        try await store.migrate()
        let (host, port) = Self.hostPort(listen)!
        let api = MasterAPI(store: store, apiKey: key, metricsNeedKey: metricsAuth)
        let limits = ServerLimits(idleTimeoutSeconds: idleTimeout, maxConnections: maxConnections)
        let files = ServerLimits.raiseOpenFileLimit()
        if files < maxConnections + 64 {
            logger.warning("open-file limit \(files) is below --max-connections \(maxConnections): raise LimitNOFILE (the unit sets 65536)")
        }
        let server: HTTPServerBuilder = try tlsConfiguration().map { try .tls(limits.http1, tlsConfiguration: $0) } ?? limits.http1
        var app = Application(router: api.router(), server: server,
                              configuration: limits.configuration(host: host, port: port, logger: logger), logger: logger)
        logger.info("serving \(tlsCert == nil ? "http" : "https")://\(listen)\(tlsClientCA == nil ? "" : " (client certificates required)")")
        app.addServices(NodeLivenessService(store: store, lostAfterSeconds: nodeLostAfter, logger: logger))
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

    static func defaultDB() -> String {
        let env = ProcessInfo.processInfo.environment
        let dir = env["FFRTMP_STATE_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? (geteuid() == 0 ? "/var/lib/ffrtmp" : (env["HOME"] ?? "/tmp") + "/.local/state/ffrtmp")
        return "sqlite:" + dir + "/master.db"
    }

    static func openStore(_ url: String, logger: Logger) throws -> JobStore {
        if url.hasPrefix("sqlite:") {
            let path = String(url.dropFirst(7))
            guard !path.isEmpty else { throw ValidationError("--db sqlite: needs a path, e.g. sqlite:/var/lib/ffrtmp/master.db") }
            let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            return try SQLiteJobStore(path: path)
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") { return try PostgresJobStore(url: url, logger: logger) }
        throw ValidationError("--db must be sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB")
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
}
