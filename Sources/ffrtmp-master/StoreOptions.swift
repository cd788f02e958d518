import ArgumentParser
import FFRTMPMaster
import Foundation
import Glibc
import Logging

/// `--db` / $MASTER_DB and opening (and migrating) the store: shared by the server and `nodes`.
struct StoreOptions: ParsableArguments {
    @Option(help: "sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB. Default: $MASTER_DB, else sqlite:$FFRTMP_STATE_DIR/master.db (or /var/lib/ffrtmp/master.db). A URL with a password belongs in MASTER_DB (environment), not here: argv is visible to every user in ps.")
    var db: String?

    @Option(name: .customLong("db-connections"), help: "PostgreSQL only: this master's connection pool (1-500). Every master sharing the database opens up to this many, and their sum must stay below the server's max_connections (100 by default).")
    var dbConnections: Int = 16

    /// The store URL: --db, else $MASTER_DB, else the default SQLite file.
    var url: String {
        db ?? ProcessInfo.processInfo.environment["MASTER_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultDB()
    }

    /// Opens and migrates the store (the node_keys table included).
    func open(logger: Logger) async throws -> JobStore {
        if let d = db, d.hasPrefix("postgres"), d.contains("@"), d.split(separator: "@")[0].contains(":") {
            logger.warning("--db carries a password, which every user can read in ps: set MASTER_DB in the environment (master.env) instead")
        }
        guard (1...500).contains(dbConnections) else { throw ValidationError("--db-connections must be 1 to 500, not \(dbConnections)") }
        let store = try Self.openStore(url, connections: dbConnections, logger: logger)
        try await store.migrate()
        return store
    }

    static func defaultDB() -> String {
        let env = ProcessInfo.processInfo.environment
        let dir = env["FFRTMP_STATE_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? (geteuid() == 0 ? "/var/lib/ffrtmp" : (env["HOME"] ?? "/tmp") + "/.local/state/ffrtmp")
        return "sqlite:" + dir + "/master.db"
    }

    static func openStore(_ url: String, connections: Int, logger: Logger) throws -> JobStore {
        if url.hasPrefix("sqlite:") {
            let path = String(url.dropFirst(7))
            guard !path.isEmpty else { throw ValidationError("--db sqlite: needs a path, e.g. sqlite:/var/lib/ffrtmp/master.db") }
            let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            return try SQLiteJobStore(path: path)
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") { return try PostgresJobStore(url: url, connections: connections, logger: logger) }
        throw ValidationError("--db must be sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB")
    }
}
