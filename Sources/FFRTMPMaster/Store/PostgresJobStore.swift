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
    /// `connections`: the most this master opens at once (--db-connections); a request beyond
    /// them waits for one to be free.
    public init(url: String, connections: Int = 16, logger: Logger) throws {
        var cfg = try Self.configuration(url)
        cfg.options.maximumConnections = connections
        cfg.options.minimumConnections = min(cfg.options.minimumConnections, connections)
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
                // Columns added after the first release: leases, and the agent instance of a node.
                "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS lease_until_ms BIGINT",
                "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS dispatch_request TEXT",
                "ALTER TABLE nodes ADD COLUMN IF NOT EXISTS instance_id TEXT",
                "CREATE INDEX IF NOT EXISTS jobs_request ON jobs(node_id, dispatch_request)",
            ] + Self.nodeKeysSchema + Self.hotPathIndexes {
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
                      failureReason: try r["failure_reason"].decode(String?.self), leaseUntilMs: try r["lease_until_ms"].decode(Int64?.self),
                      dispatchRequest: try r["dispatch_request"].decode(String?.self))
    }

    static func nodeRow(_ row: PostgresRow) throws -> NodeRow {
        let r = row.makeRandomAccess()
        return NodeRow(id: try r["id"].decode(String.self), hostname: try r["hostname"].decode(String?.self), status: try r["status"].decode(String.self),
                       wrapperEnabled: try r["wrapper_enabled"].decode(Bool?.self), registeredMs: try r["registered_ms"].decode(Int64.self),
                       lastSeenMs: try r["last_seen_ms"].decode(Int64.self), runningJobs: try r["running_jobs"].decode(String.self),
                       instanceID: try r["instance_id"].decode(String?.self))
    }

    func fetchNode(_ c: PostgresConnection, _ id: String, lock: Bool) async throws -> NodeRow? {
        var b = PostgresBindings()
        b.append(id)
        for try await row in try await c.query(PostgresQuery(unsafeSQL: "SELECT \(NodeRow.columns) FROM nodes WHERE id = $1" + (lock ? " FOR UPDATE" : ""), binds: b), logger: logger) {
            return try Self.nodeRow(row)
        }
        return nil
    }

    /// The database's clock (unix ms, the transaction's start): every master sharing the
    /// database measures liveness, leases and dispatch order on this one clock, so skew between
    /// the masters' own clocks cannot shorten --node-lost-after or a lease.
    func dbNow(_ c: PostgresConnection) async throws -> Int64 {
        for try await n in try await c.query("SELECT (extract(epoch from now()) * 1000)::bigint", logger: logger).decode(Int64.self) { return n }
        throw WireError.conflict(reason: "the database did not say what time it is")
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
        if insert {
            try await c.query(PostgresQuery(unsafeSQL: """
                INSERT INTO jobs (engine, parameters, wrapper_enabled, wrapper_constraints, status, node_id, attempt, cancel_requested,
                  created_ms, updated_ms, result, platform_sla, platform_sla_reason, failure_reason, lease_until_ms, dispatch_request, id)
                VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
                """, binds: SaveJob.bindings(r)), logger: logger)
        } else {
            try await Self.run(c, SaveJob(row: r), logger: logger)
        }
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
            var row = row
            row.createdMs = try await self.dbNow(c)
            row.updatedMs = row.createdMs
            try await self.save(c, row)
            return JobRules.job(row)
        }
    }

    public func job(_ id: String) async throws -> MasterJob {
        let id = try WireValidation.jobID(id)
        for try await r in try await client.execute(JobByID(id: id), logger: logger) { return JobRules.job(r) }
        throw WireError.notFound(what: "job", id: id)
    }

    public func listRaw(status: MasterJobStatus?, nodeID: String?, limit: Int) async throws -> [JobListing] {
        var sql = "SELECT \(JobRow.columns) FROM jobs WHERE TRUE"
        var b = PostgresBindings()
        if let s = status { b.append(s.rawValue); sql += " AND status = $\(b.count)" }
        if let n = nodeID { b.append(n); sql += " AND node_id = $\(b.count)" }
        b.append(Int64(limit))
        sql += " ORDER BY created_ms DESC, id LIMIT $\(b.count)"
        let query = PostgresQuery(unsafeSQL: sql, binds: b)
        return try await client.withConnection { c in
            var out: [JobListing] = []
            for try await row in try await c.query(query, logger: self.logger) { out.append(JobListing(try Self.jobRow(row))) }
            return out
        }
    }

    public func cancel(_ id: String) async throws -> MasterJob {
        let id = try WireValidation.jobID(id)
        return try await transaction { c in
            let r = try JobRules.cancel(try await self.requireJob(c, id), now: try await self.dbNow(c))
            try await self.save(c, r)
            return JobRules.job(r)
        }
    }

    func jobs(_ c: PostgresConnection, _ sql: String, _ binds: PostgresBindings) async throws -> [JobRow] {
        var out: [JobRow] = []
        for try await r in try await c.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) { out.append(try Self.jobRow(r)) }
        return out
    }

    public func release(nodeID: String, _ rel: JobRelease) async throws -> MasterJob {
        let node = try WireValidation.nodeID(nodeID)
        let rel = try rel.validated()
        return try await transaction { c in
            let r = try JobRules.release(rel, of: try await self.requireJob(c, rel.jobID), by: node, now: try await self.dbNow(c))
            try await self.save(c, r)
            return JobRules.job(r)
        }
    }

    public func expireLeases() async throws -> [String] {
        try await transaction { c in
            let now = try await self.dbNow(c)
            var b = PostgresBindings()
            b.append(now)
            var out: [String] = []
            for row in try await self.jobs(c, "SELECT \(JobRow.columns) FROM jobs WHERE \(JobRules.leaseEndedSQL(nowParam: "$1")) FOR UPDATE SKIP LOCKED", b) {
                let r = JobRules.requeue(row, now: now, why: "lease ended")
                try await self.save(c, r)
                out.append(r.id)
            }
            return out
        }
    }

    public func sameInstance(_ a: String, _ b: String) async throws -> Bool {
        try await client.withConnection { c in
            let x = try await self.fetchNode(c, a, lock: false)?.instanceID
            let y = try await self.fetchNode(c, b, lock: false)?.instanceID
            return x != nil && x == y
        }
    }

    public func record(_ report: JobResultReport) async throws -> (job: MasterJob, duplicate: Bool) {
        let rep = try report.validated()
        return try await transaction { c in
            var found: ResultTarget.Row?
            for try await t in try await c.execute(ResultTarget(job: rep.jobID, attempt: Int32(rep.attempt)), logger: self.logger) { found = t }
            guard let (current, now, seen) = found else { throw WireError.notFound(what: "job", id: rep.jobID) }
            if seen { return (JobRules.job(current), true) }
            let r = try JobRules.apply(rep, to: current, now: now)
            try await Self.run(c, StoreResult(row: r, attempt: Int32(rep.attempt), receivedMs: now, body: JobRules.encode(rep)), logger: self.logger)
            return (JobRules.job(r), false)
        }
    }

    public func register(_ reg: NodeRegistration, liveWithinMs: Int64) async throws -> Node {
        let reg = try reg.validated()
        let id = reg.nodeID
        let running = try JobRules.validateRunning(reg.runningJobs ?? [])
        return try await transaction { c in
            // Two masters registering one node id at once: the first INSERT wins, the second
            // waits on its row lock, then gets that row (Enroll says how).
            var enrolled: Enroll.Row?
            for try await r in try await c.execute(Enroll(id: id), logger: self.logger) { enrolled = r }
            guard let (existing, now) = enrolled else { throw WireError.notFound(what: "node", id: id) }
            try JobRules.checkInstance(node: id, existing: existing, instance: reg.instanceID, hostname: reg.hostname, now: now, liveWithinMs: liveWithinMs)
            let encoded = JobRules.encode(running)
            let instance = reg.instanceID ?? existing.instanceID
            try await Self.run(c, NodeOnline(id: id, hostname: reg.hostname, wrapperEnabled: reg.wrapperEnabled, nowMs: now, runningJSON: encoded,
                                             instance: instance), logger: self.logger)
            try await self.reconcile(c, node: id, running: running, attempts: [:], now: now)
            return JobRules.node(NodeRow(id: id, hostname: reg.hostname, status: "online", wrapperEnabled: reg.wrapperEnabled,
                                         registeredMs: existing.registeredMs, lastSeenMs: now, runningJobs: encoded, instanceID: instance))
        }
    }

    func reconcile(_ c: PostgresConnection, node: String, running: [String], attempts: [String: Int], now: Int64) async throws {
        for jid in running {
            guard let row = try await fetchJob(c, jid, lock: true) else { continue }
            if let r = JobRules.reconcile(row, node: node, attempt: attempts[jid], now: now) { try await save(c, r) }
        }
    }

    public func onlineNodeCount() async throws -> Int {
        try await client.withConnection { c in
            for try await n in try await c.query("SELECT COUNT(*) FROM nodes WHERE status = 'online'", logger: self.logger).decode(Int64.self) { return Int(n) }
            return 0
        }
    }

    public func nodes() async throws -> [Node] {
        try await client.withConnection { c in
            var out: [Node] = []
            for try await row in try await c.query(PostgresQuery(unsafeSQL: "SELECT \(NodeRow.columns) FROM nodes ORDER BY id"), logger: self.logger) {
                out.append(JobRules.node(try Self.nodeRow(row)))
            }
            return out
        }
    }

    public func sweep(lostAfterSeconds seconds: Double) async throws -> (nodes: Int, jobs: Int) {
        try await transaction { c in
            let now = try await self.dbNow(c)
            let cutoff = now - Int64(seconds * 1000)
            var lost: [String] = []
            let q: PostgresQuery = "UPDATE nodes SET status = 'lost' WHERE status = 'online' AND last_seen_ms < \(cutoff) RETURNING id"
            for try await r in try await c.query(q, logger: self.logger) { lost.append(try r.decode(String.self)) }
            var jobs = 0
            for n in lost {
                let changed = try await c.query("UPDATE jobs SET status = 'unknown', updated_ms = \(now) WHERE node_id = \(n) AND status = 'running' RETURNING id", logger: self.logger).collect()
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
