import ArgumentParser
import FFRTMPMaster
import Foundation
import Glibc
import Hummingbird
import Logging

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

    @Option(name: .customLong("node-lost-after"), help: "Seconds without a heartbeat after which a node is lost and its running jobs become unknown.")
    var nodeLostAfter: Double = 30

    func validate() throws {
        guard let _ = Self.hostPort(listen) else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8080, not \(listen)") }
        guard nodeLostAfter > 0 else { throw ValidationError("--node-lost-after must be greater than 0") }
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
        var app = Application(router: api.router(), configuration: .init(address: .hostname(host, port: port), serverName: "ffrtmp-master"), logger: logger)
        app.addServices(NodeLivenessService(store: store, lostAfterSeconds: nodeLostAfter, logger: logger))
        try await app.runService()
        await store.close()
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
