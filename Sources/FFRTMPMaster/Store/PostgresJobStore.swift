import FFRTMPWire
import Logging
import PostgresNIO

/// The fleet store: PostgreSQL through postgres-nio. Several masters may share one
/// database: every change runs in a transaction that locks the rows it reads
/// (FOR UPDATE), and dispatch claims with FOR UPDATE SKIP LOCKED, so concurrent
/// pollers never get the same job and never wait on each other's row.
public final class PostgresJobStore: JobStore {
    let client: PostgresClient
    let logger: Logger
    let runner: Task<Void, Never>

    /// `url`: postgres://user:password@host:port/database (TLS off; use loopback or a tunnel).
    public init(url: String, logger: Logger) throws {
        let cfg = try Self.configuration(url)
        client = PostgresClient(configuration: cfg, backgroundLogger: logger)
        self.logger = logger
        let c = client
        runner = Task { await c.run() }
    }

    static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        func bad(_ why: String) -> WireError { .invalidField(field: "--db", reason: "\(why); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE") }
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else { throw bad("not a postgres:// URL") }
        let rest = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard rest.count == 4, !rest[3].isEmpty else { throw bad("no database name") }
        let authority = String(rest[2])
        let at = authority.lastIndex(of: "@")
        let userinfo = at.map { String(authority[..<$0]) } ?? ""
        let hostport = at.map { String(authority[authority.index(after: $0)...]) } ?? authority
        let up = userinfo.split(separator: ":", maxSplits: 1).map(String.init)
        guard let user = up.first, !user.isEmpty else { throw bad("no user") }
        let hp = hostport.split(separator: ":").map(String.init)
        guard let host = hp.first, !host.isEmpty else { throw bad("no host") }
        let port = hp.count > 1 ? Int(hp[1]) : 5432
        guard let port else { throw bad("bad port") }
        let db = String(rest[3].split(separator: "?").first ?? "")
        return PostgresClient.Configuration(host: host, port: port, username: user, password: up.count > 1 ? up[1] : nil,
                                            database: db, tls: .disable)
    }

    public func migrate() async throws {
        // One advisory lock so two masters starting together do not race on CREATE TABLE.
        try await client.withTransaction(logger: logger) { c in
            try await c.query("SELECT pg_advisory_xact_lock(727274)", logger: logger)
            for sql in [
                """
                CREATE TABLE IF NOT EXISTS jobs (
                  id TEXT PRIMARY KEY, engine TEXT NOT NULL, parameters TEXT NOT NULL,
                  wrapper_enabled BOOLEAN, wrapper_constraints TEXT, status TEXT NOT NULL, node_id TEXT,
                  attempt INTEGER NOT NULL, cancel_requested BOOLEAN NOT NULL, created_ms BIGINT NOT NULL,
                  updated_ms BIGINT NOT NULL, result TEXT, platform_sla BOOLEAN, platform_sla_reason TEXT, failure_reason TEXT)
                """,
                "CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(status, created_ms)",
                "CREATE INDEX IF NOT EXISTS jobs_node ON jobs(node_id)",
                """
                CREATE TABLE IF NOT EXISTS results (
                  job_id TEXT NOT NULL, attempt INTEGER NOT NULL, received_ms BIGINT NOT NULL, body TEXT NOT NULL,
                  PRIMARY KEY (job_id, attempt))
                """,
                """
                CREATE TABLE IF NOT EXISTS nodes (
                  id TEXT PRIMARY KEY, hostname TEXT, status TEXT NOT NULL, wrapper_enabled BOOLEAN,
                  registered_ms BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL, running_jobs TEXT NOT NULL)
                """,
            ] + Self.nodeKeysSchema {
                try await c.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            }
        }
    }

    static func jobRow(_ row: PostgresRow) throws -> JobRow {
        let r = row.makeRandomAccess()
        return JobRow(id: try r["id"].decode(String.self), engine: try r["engine"].decode(String.self),
                      parameters: try r["parameters"].decode(String.self), wrapperEnabled: try r["wrapper_enabled"].decode(Bool?.self),
                      wrapperConstraints: try r["wrapper_constraints"].decode(String?.self), status: try r["status"].decode(String.self),
                      nodeID: try r["node_id"].decode(String?.self), attempt: Int(try r["attempt"].decode(Int32.self)),
                      cancelRequested: try r["cancel_requested"].decode(Bool.self), createdMs: try r["created_ms"].decode(Int64.self),
                      updatedMs: try r["updated_ms"].decode(Int64.self), result: try r["result"].decode(String?.self),
                      platformSLA: try r["platform_sla"].decode(Bool?.self), platformSLAReason: try r["platform_sla_reason"].decode(String?.self),
                      failureReason: try r["failure_reason"].decode(String?.self))
    }

    func fetchJob(_ c: PostgresConnection, _ id: String, lock: Bool) async throws -> JobRow? {
        let sql = "SELECT \(JobRow.columns) FROM jobs WHERE id = $1" + (lock ? " FOR UPDATE" : "")
        var b = PostgresBindings()
        b.append(id)
        for try await row in try await c.query(PostgresQuery(unsafeSQL: sql, binds: b), logger: logger) {
            return try Self.jobRow(row)
        }
        return nil
    }

    func requireJob(_ c: PostgresConnection, _ id: String) async throws -> JobRow {
        guard let r = try await fetchJob(c, id, lock: true) else { throw WireError.notFound(what: "job", id: id) }
        return r
    }

    func save(_ c: PostgresConnection, _ r: JobRow, insert: Bool = false) async throws {
        var b = PostgresBindings()
        b.append(r.engine); b.append(r.parameters); b.append(r.wrapperEnabled); b.append(r.wrapperConstraints)
        b.append(r.status); b.append(r.nodeID); b.append(Int32(r.attempt)); b.append(r.cancelRequested)
        b.append(r.createdMs); b.append(r.updatedMs); b.append(r.result); b.append(r.platformSLA)
        b.append(r.platformSLAReason); b.append(r.failureReason); b.append(r.id)
        let sql = insert
            ? """
              INSERT INTO jobs (engine, parameters, wrapper_enabled, wrapper_constraints, status, node_id, attempt, cancel_requested,
                created_ms, updated_ms, result, platform_sla, platform_sla_reason, failure_reason, id)
              VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
              """
            : """
              UPDATE jobs SET engine=$1, parameters=$2, wrapper_enabled=$3, wrapper_constraints=$4, status=$5, node_id=$6, attempt=$7,
                cancel_requested=$8, created_ms=$9, updated_ms=$10, result=$11, platform_sla=$12, platform_sla_reason=$13, failure_reason=$14
              WHERE id=$15
              """
        try await c.query(PostgresQuery(unsafeSQL: sql, binds: b), logger: logger)
    }

    /// postgres-nio wraps whatever the body threw in PostgresTransactionError; callers get
    /// the body's own error (a WireError maps to 400/404/409), the wrapper only for SQL failures.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { c in try await body(c) }
        } catch let e as PostgresTransactionError {
            if let inner = e.closureError, e.rollbackError == nil { throw inner }
            throw e
        }
    }

    public func create(_ job: NewJob) async throws -> MasterJob {
        let row = try JobRules.newRow(job, now: JobRules.now())
        return try await transaction { c in
            // ON CONFLICT instead of check-then-insert: two masters may race on one id.
            var b = PostgresBindings()
            b.append(row.id)
            let rows = try await c.query(PostgresQuery(unsafeSQL: "INSERT INTO jobs (id, engine, parameters, status, attempt, cancel_requested, created_ms, updated_ms) VALUES ($1, '', '', '', 0, false, 0, 0) ON CONFLICT (id) DO NOTHING RETURNING id", binds: b), logger: logger).collect()
            guard !rows.isEmpty else { throw WireError.conflict(reason: "job \"\(row.id)\" already exists") }
            try await self.save(c, row)
            return JobRules.job(row)
        }
    }

    public func job(_ id: String) async throws -> MasterJob {
        let id = try WireValidation.jobID(id)
        guard let r = try await client.withConnection({ c in try await self.fetchJob(c, id, lock: false) }) else {
            throw WireError.notFound(what: "job", id: id)
        }
        return JobRules.job(r)
    }

    public func list(status: MasterJobStatus?, nodeID: String?, limit: Int) async throws -> [MasterJob] {
        var sql = "SELECT \(JobRow.columns) FROM jobs WHERE TRUE"
        var b = PostgresBindings()
        if let s = status { b.append(s.rawValue); sql += " AND status = $\(b.count)" }
        if let n = nodeID { b.append(n); sql += " AND node_id = $\(b.count)" }
        b.append(Int64(limit))
        sql += " ORDER BY created_ms DESC, id LIMIT $\(b.count)"
        let query = PostgresQuery(unsafeSQL: sql, binds: b)
        return try await client.withConnection { c in
            var out: [MasterJob] = []
            for try await row in try await c.query(query, logger: self.logger) { out.append(JobRules.job(try Self.jobRow(row))) }
            return out
        }
    }

    public func cancel(_ id: String) async throws -> MasterJob {
        let id = try WireValidation.jobID(id)
        return try await transaction { c in
            let r = try JobRules.cancel(try await self.requireJob(c, id), now: JobRules.now())
            try await self.save(c, r)
            return JobRules.job(r)
        }
    }

    public func dispatch(nodeID: String) async throws -> MasterJob? {
        let node = try WireValidation.nodeID(nodeID)
        return try await transaction { c in
            try await self.requireNode(c, node)
            let claim = "SELECT \(JobRow.columns) FROM jobs WHERE status = 'queued' ORDER BY created_ms, id LIMIT 1 FOR UPDATE SKIP LOCKED"
            var row: JobRow?
            for try await r in try await c.query(PostgresQuery(unsafeSQL: claim), logger: self.logger) { row = try Self.jobRow(r) }
            guard let row else { return nil }
            let assigned = JobRules.assign(row, to: node, now: JobRules.now())
            try await self.save(c, assigned)
            return JobRules.job(assigned)
        }
    }

    func requireNode(_ c: PostgresConnection, _ node: String) async throws {
        let rows = try await c.query("SELECT 1 FROM nodes WHERE id = \(node)", logger: logger).collect()
        if rows.isEmpty { throw WireError.notFound(what: "node (register it first)", id: node) }
    }

    public func record(_ report: JobResultReport) async throws -> (job: MasterJob, duplicate: Bool) {
        let rep = try report.validated()
        return try await transaction { c in
            let now = JobRules.now()
            let current = try await self.requireJob(c, rep.jobID)
            let seen = try await c.query("SELECT 1 FROM results WHERE job_id = \(rep.jobID) AND attempt = \(Int32(rep.attempt))", logger: self.logger).collect()
            if !seen.isEmpty { return (JobRules.job(current), true) }
            let r = try JobRules.apply(rep, to: current, now: now)
            let body = JobRules.encode(rep)
            try await c.query("INSERT INTO results (job_id, attempt, received_ms, body) VALUES (\(rep.jobID), \(Int32(rep.attempt)), \(now), \(body))", logger: self.logger)
            try await self.save(c, r)
            return (JobRules.job(r), false)
        }
    }

    public func register(_ reg: NodeRegistration) async throws -> Node {
        let id = try WireValidation.nodeID(reg.nodeID)
        let running = try JobRules.validateRunning(reg.runningJobs ?? [])
        return try await transaction { c in
            let now = JobRules.now()
            let encoded = JobRules.encode(running)
            let rows = try await c.query("""
                INSERT INTO nodes (id, hostname, status, wrapper_enabled, registered_ms, last_seen_ms, running_jobs)
                VALUES (\(id), \(reg.hostname), 'online', \(reg.wrapperEnabled), \(now), \(now), \(encoded))
                ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname, status = 'online',
                  wrapper_enabled = EXCLUDED.wrapper_enabled, last_seen_ms = EXCLUDED.last_seen_ms, running_jobs = EXCLUDED.running_jobs
                RETURNING registered_ms
                """, logger: self.logger).collect()
            let registered = try rows.first?.makeRandomAccess()["registered_ms"].decode(Int64.self) ?? now
            try await self.reconcile(c, node: id, running: running, now: now)
            return JobRules.node(NodeRow(id: id, hostname: reg.hostname, status: "online", wrapperEnabled: reg.wrapperEnabled,
                                         registeredMs: registered, lastSeenMs: now, runningJobs: encoded))
        }
    }

    func reconcile(_ c: PostgresConnection, node: String, running: [String], now: Int64) async throws {
        for jid in running {
            guard let row = try await fetchJob(c, jid, lock: true) else { continue }
            if let r = JobRules.reconcile(row, node: node, now: now) { try await save(c, r) }
        }
    }

    public func heartbeat(nodeID: String, _ beat: Heartbeat) async throws -> HeartbeatReply {
        let id = try WireValidation.nodeID(nodeID)
        let running = try JobRules.validateRunning(beat.runningJobs)
        return try await transaction { c in
            try await self.requireNode(c, id)
            let now = JobRules.now()
            let encoded = JobRules.encode(running)
            try await c.query("UPDATE nodes SET status = 'online', last_seen_ms = \(now), running_jobs = \(encoded) WHERE id = \(id)", logger: self.logger)
            try await self.reconcile(c, node: id, running: running, now: now)
            var cancels: [String] = []
            let q: PostgresQuery = "SELECT id FROM jobs WHERE node_id = \(id) AND cancel_requested AND status IN ('assigned','running','unknown') ORDER BY id"
            for try await r in try await c.query(q, logger: self.logger) { cancels.append(try r.decode(String.self)) }
            return HeartbeatReply(cancel: cancels)
        }
    }

    public func nodes() async throws -> [Node] {
        try await client.withConnection { c in
            var out: [Node] = []
            for try await row in try await c.query(PostgresQuery(unsafeSQL: "SELECT \(NodeRow.columns) FROM nodes ORDER BY id"), logger: self.logger) {
                let r = row.makeRandomAccess()
                out.append(JobRules.node(NodeRow(
                    id: try r["id"].decode(String.self), hostname: try r["hostname"].decode(String?.self), status: try r["status"].decode(String.self),
                    wrapperEnabled: try r["wrapper_enabled"].decode(Bool?.self), registeredMs: try r["registered_ms"].decode(Int64.self),
                    lastSeenMs: try r["last_seen_ms"].decode(Int64.self), runningJobs: try r["running_jobs"].decode(String.self))))
            }
            return out
        }
    }

    public func sweep(lostAfterSeconds seconds: Double) async throws -> (nodes: Int, jobs: Int) {
        try await transaction { c in
            let now = JobRules.now()
            let cutoff = now - Int64(seconds * 1000)
            var lost: [String] = []
            let q: PostgresQuery = "UPDATE nodes SET status = 'lost' WHERE status = 'online' AND last_seen_ms < \(cutoff) RETURNING id"
            for try await r in try await c.query(q, logger: self.logger) { lost.append(try r.decode(String.self)) }
            var jobs = 0
            for n in lost {
                let changed = try await c.query("UPDATE jobs SET status = 'unknown', updated_ms = \(now) WHERE node_id = \(n) AND status IN ('assigned','running') RETURNING id", logger: self.logger).collect()
                jobs += changed.count
            }
            return (lost.count, jobs)
        }
    }

    public func stats() async throws -> FleetStats {
        try await client.withConnection { c in
            var byStatus: [MasterJobStatus: Int] = [:]
            var oldest: [MasterJobStatus: Int64] = [:]
            for try await (s, n, o) in try await c.query("SELECT status, COUNT(*), MIN(updated_ms) FROM jobs GROUP BY status", logger: self.logger).decode((String, Int64, Int64).self) {
                if let st = MasterJobStatus(rawValue: s) {
                    byStatus[st] = Int(n)
                    oldest[st] = o
                }
            }
            var ok = 0, total = 0
            for try await (a, b) in try await c.query("SELECT COUNT(*) FILTER (WHERE platform_sla), COUNT(platform_sla) FROM jobs", logger: self.logger).decode((Int64, Int64).self) {
                ok = Int(a); total = Int(b)
            }
            var nodes: [NodeStatus: Int] = [:]
            for try await (s, n) in try await c.query("SELECT status, COUNT(*) FROM nodes GROUP BY status", logger: self.logger).decode((String, Int64).self) {
                if let st = NodeStatus(rawValue: s) { nodes[st] = Int(n) }
            }
            return FleetStats(jobsByStatus: byStatus, slaCompliant: ok, slaTotal: total, nodesByStatus: nodes, oldestChangeMs: oldest)
        }
    }

    public func close() async {
        runner.cancel()
    }
}

extension PostgresJobStore {
    /// Tests only: empties every table of the (throwaway) test database.
    public func truncateForTests() async throws {
        try await client.withConnection { c in
            try await c.query("TRUNCATE jobs, results, nodes, node_keys", logger: self.logger)
        }
    }
}
