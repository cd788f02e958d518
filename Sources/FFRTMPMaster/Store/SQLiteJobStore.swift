import FFRTMPWire
import GRDB

/// The embedded store: one SQLite file (WAL) through GRDB. Every change is one
/// IMMEDIATE transaction, so a dispatch reads and claims a job under one write lock.
public final class SQLiteJobStore: JobStore {
    let pool: DatabasePool

    public init(path: String) throws {
        var config = Configuration()
        // Another process holding the write lock (a second master by mistake, a backup) is
        // waited for instead of failing the request at once.
        config.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: config)
    }

    public func migrate() async throws {
        try await pool.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS jobs (
                  id TEXT PRIMARY KEY, engine TEXT NOT NULL, parameters TEXT NOT NULL,
                  wrapper_enabled INTEGER, wrapper_constraints TEXT, status TEXT NOT NULL, node_id TEXT,
                  attempt INTEGER NOT NULL, cancel_requested INTEGER NOT NULL, created_ms INTEGER NOT NULL,
                  updated_ms INTEGER NOT NULL, result TEXT, platform_sla INTEGER, platform_sla_reason TEXT, failure_reason TEXT);
                CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(status, created_ms);
                CREATE INDEX IF NOT EXISTS jobs_node ON jobs(node_id);
                CREATE TABLE IF NOT EXISTS results (
                  job_id TEXT NOT NULL, attempt INTEGER NOT NULL, received_ms INTEGER NOT NULL, body TEXT NOT NULL,
                  PRIMARY KEY (job_id, attempt));
                CREATE TABLE IF NOT EXISTS nodes (
                  id TEXT PRIMARY KEY, hostname TEXT, status TEXT NOT NULL, wrapper_enabled INTEGER,
                  registered_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, running_jobs TEXT NOT NULL);
                \(Self.nodeKeysSchema)
                """)
            // Columns added after the first release: leases, and the agent instance of a node.
            for (table, column, type) in [("jobs", "lease_until_ms", "INTEGER"), ("jobs", "dispatch_request", "TEXT"), ("nodes", "instance_id", "TEXT")] {
                let have = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { $0["name"] as String }
                if !have.contains(column) { try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN \(column) \(type)") }
            }
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS jobs_request ON jobs(node_id, dispatch_request)")
        }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in
            var out: T?
            try db.inTransaction(.immediate) {
                out = try body(db)
                return .commit
            }
            return out!
        }
    }

    static func jobRow(_ r: Row) -> JobRow {
        JobRow(id: r["id"], engine: r["engine"], parameters: r["parameters"], wrapperEnabled: r["wrapper_enabled"],
               wrapperConstraints: r["wrapper_constraints"], status: r["status"], nodeID: r["node_id"], attempt: r["attempt"],
               cancelRequested: r["cancel_requested"], createdMs: r["created_ms"], updatedMs: r["updated_ms"], result: r["result"],
               platformSLA: r["platform_sla"], platformSLAReason: r["platform_sla_reason"], failureReason: r["failure_reason"],
               leaseUntilMs: r["lease_until_ms"], dispatchRequest: r["dispatch_request"])
    }

    static func nodeRow(_ r: Row) -> NodeRow {
        NodeRow(id: r["id"], hostname: r["hostname"], status: r["status"], wrapperEnabled: r["wrapper_enabled"],
                registeredMs: r["registered_ms"], lastSeenMs: r["last_seen_ms"], runningJobs: r["running_jobs"], instanceID: r["instance_id"])
    }

    static func fetchNode(_ db: Database, _ id: String) throws -> NodeRow? {
        try Row.fetchOne(db, sql: "SELECT \(NodeRow.columns) FROM nodes WHERE id = ?", arguments: [id]).map(nodeRow)
    }

    static func fetchJob(_ db: Database, _ id: String) throws -> JobRow {
        guard let row = try Row.fetchOne(db, sql: "SELECT \(JobRow.columns) FROM jobs WHERE id = ?", arguments: [id]) else {
            throw WireError.notFound(what: "job", id: id)
        }
        return jobRow(row)
    }

    static func save(_ db: Database, _ r: JobRow, insert: Bool = false) throws {
        let args: StatementArguments = [r.engine, r.parameters, r.wrapperEnabled, r.wrapperConstraints, r.status, r.nodeID, r.attempt,
                                        r.cancelRequested, r.createdMs, r.updatedMs, r.result, r.platformSLA, r.platformSLAReason,
                                        r.failureReason, r.leaseUntilMs, r.dispatchRequest, r.id]
        if insert {
            try db.execute(sql: """
                INSERT INTO jobs (engine, parameters, wrapper_enabled, wrapper_constraints, status, node_id, attempt, cancel_requested,
                  created_ms, updated_ms, result, platform_sla, platform_sla_reason, failure_reason, lease_until_ms, dispatch_request, id)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                """, arguments: args)
        } else {
            try db.execute(sql: """
                UPDATE jobs SET engine=?, parameters=?, wrapper_enabled=?, wrapper_constraints=?, status=?, node_id=?, attempt=?,
                  cancel_requested=?, created_ms=?, updated_ms=?, result=?, platform_sla=?, platform_sla_reason=?, failure_reason=?,
                  lease_until_ms=?, dispatch_request=?
                WHERE id=?
                """, arguments: args)
        }
    }

    public func create(_ job: NewJob) async throws -> MasterJob {
        let row = try JobRules.newRow(job, now: JobRules.now())
        return try await write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM jobs WHERE id = ?", arguments: [row.id]) != nil {
                throw WireError.conflict(reason: "job \"\(row.id)\" already exists")
            }
            try Self.save(db, row, insert: true)
            return JobRules.job(row)
        }
    }

    public func job(_ id: String) async throws -> MasterJob {
        let id = try WireValidation.jobID(id)
        return try await pool.read { db in JobRules.job(try Self.fetchJob(db, id)) }
    }

    public func listRaw(status: MasterJobStatus?, nodeID: String?, limit: Int) async throws -> [JobListing] {
        try await pool.read { db in
            var sql = "SELECT \(JobRow.columns) FROM jobs WHERE 1=1"
            var args: StatementArguments = []
            if let s = status { sql += " AND status = ?"; args += [s.rawValue] }
            if let n = nodeID { sql += " AND node_id = ?"; args += [n] }
            sql += " ORDER BY created_ms DESC, id LIMIT ?"
            args += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: args).map { JobListing(Self.jobRow($0)) }
        }
    }

    public func cancel(_ id: String) async throws -> MasterJob {
        let id = try WireValidation.jobID(id)
        return try await write { db in
            let r = try JobRules.cancel(try Self.fetchJob(db, id), now: JobRules.now())
            try Self.save(db, r)
            return JobRules.job(r)
        }
    }

    public func claim(nodeID: String, requestID: String?, max: Int, leaseMs: Int64) async throws -> [MasterJob] {
        let node = try WireValidation.nodeID(nodeID)
        return try await write { db in
            try Self.requireNode(db, node)
            let now = JobRules.now()
            if let requestID {
                let again = try Row.fetchAll(db, sql: "SELECT \(JobRow.columns) FROM jobs WHERE node_id = ? AND dispatch_request = ? AND status = 'assigned' ORDER BY created_ms, id",
                                             arguments: [node, requestID]).map(Self.jobRow)
                if !again.isEmpty {
                    return try again.map { r in
                        var r = r
                        r.leaseUntilMs = now + leaseMs
                        try Self.save(db, r)
                        return JobRules.job(r)
                    }
                }
            }
            return try Row.fetchAll(db, sql: "SELECT \(JobRow.columns) FROM jobs WHERE status = 'queued' ORDER BY created_ms, id LIMIT ?", arguments: [max]).map { row in
                let r = JobRules.assign(Self.jobRow(row), to: node, now: now, request: requestID, leaseMs: leaseMs)
                try Self.save(db, r)
                return JobRules.job(r)
            }
        }
    }

    public func release(nodeID: String, _ rel: JobRelease) async throws -> MasterJob {
        let node = try WireValidation.nodeID(nodeID)
        let rel = try rel.validated()
        return try await write { db in
            let r = try JobRules.release(rel, of: try Self.fetchJob(db, rel.jobID), by: node, now: JobRules.now())
            try Self.save(db, r)
            return JobRules.job(r)
        }
    }

    public func expireLeases() async throws -> [String] {
        try await write { db in
            let now = JobRules.now()
            return try Row.fetchAll(db, sql: "SELECT \(JobRow.columns) FROM jobs WHERE \(JobRules.leaseEndedSQL(nowParam: "?"))", arguments: [now]).map { row in
                let r = JobRules.requeue(Self.jobRow(row), now: now, why: "lease ended")
                try Self.save(db, r)
                return r.id
            }
        }
    }

    public func sameInstance(_ a: String, _ b: String) async throws -> Bool {
        try await pool.read { db in
            let i = try [a, b].map { try Self.fetchNode(db, $0)?.instanceID }
            return i[0] != nil && i[0] == i[1]
        }
    }

    static func requireNode(_ db: Database, _ node: String) throws {
        if try Row.fetchOne(db, sql: "SELECT 1 FROM nodes WHERE id = ?", arguments: [node]) == nil {
            throw WireError.notFound(what: "node (register it first)", id: node)
        }
    }

    public func record(_ report: JobResultReport) async throws -> (job: MasterJob, duplicate: Bool) {
        let rep = try report.validated()
        return try await write { db in
            let now = JobRules.now()
            let current = try Self.fetchJob(db, rep.jobID)
            if try Row.fetchOne(db, sql: "SELECT 1 FROM results WHERE job_id = ? AND attempt = ?", arguments: [rep.jobID, rep.attempt]) != nil {
                return (JobRules.job(current), true)
            }
            let r = try JobRules.apply(rep, to: current, now: now)
            try db.execute(sql: "INSERT INTO results (job_id, attempt, received_ms, body) VALUES (?,?,?,?)",
                           arguments: [rep.jobID, rep.attempt, now, JobRules.encode(rep)])
            try Self.save(db, r)
            return (JobRules.job(r), false)
        }
    }

    public func register(_ reg: NodeRegistration, liveWithinMs: Int64) async throws -> Node {
        let reg = try reg.validated()
        let id = reg.nodeID
        let running = try JobRules.validateRunning(reg.runningJobs ?? [])
        return try await write { db in
            let now = JobRules.now()
            let existing = try Self.fetchNode(db, id)
            try JobRules.checkInstance(node: id, existing: existing, instance: reg.instanceID, hostname: reg.hostname, now: now, liveWithinMs: liveWithinMs)
            let node = NodeRow(id: id, hostname: reg.hostname, status: NodeStatus.online.rawValue, wrapperEnabled: reg.wrapperEnabled,
                               registeredMs: existing?.registeredMs ?? now, lastSeenMs: now, runningJobs: JobRules.encode(running),
                               instanceID: reg.instanceID ?? existing?.instanceID)
            try db.execute(sql: """
                INSERT INTO nodes (\(NodeRow.columns)) VALUES (?,?,?,?,?,?,?,?)
                ON CONFLICT(id) DO UPDATE SET hostname=excluded.hostname, status=excluded.status,
                  wrapper_enabled=excluded.wrapper_enabled, last_seen_ms=excluded.last_seen_ms, running_jobs=excluded.running_jobs,
                  instance_id=excluded.instance_id
                """, arguments: [node.id, node.hostname, node.status, node.wrapperEnabled, node.registeredMs, node.lastSeenMs, node.runningJobs, node.instanceID])
            try Self.reconcile(db, node: id, running: running, attempts: [:], now: now)
            return JobRules.node(node)
        }
    }

    static func reconcile(_ db: Database, node: String, running: [String], attempts: [String: Int], now: Int64) throws {
        for jid in running {
            guard let row = try Row.fetchOne(db, sql: "SELECT \(JobRow.columns) FROM jobs WHERE id = ?", arguments: [jid]) else { continue }
            if let r = JobRules.reconcile(jobRow(row), node: node, attempt: attempts[jid], now: now) { try save(db, r) }
        }
    }

    public func heartbeat(nodeID: String, _ beat: Heartbeat) async throws -> HeartbeatReply {
        let id = try WireValidation.nodeID(nodeID)
        let beat = try beat.validated()
        let running = try JobRules.validateRunning(beat.runningJobs)
        return try await write { db in
            guard let existing = try Self.fetchNode(db, id) else { throw WireError.notFound(what: "node (register it first)", id: id) }
            let now = JobRules.now()
            try JobRules.checkBeat(node: id, existing: existing, instance: beat.instanceID)
            try db.execute(sql: "UPDATE nodes SET status = 'online', last_seen_ms = ?, running_jobs = ? WHERE id = ?",
                           arguments: [now, JobRules.encode(running), id])
            try Self.reconcile(db, node: id, running: running, attempts: beat.attempts ?? [:], now: now)
            let cancels = try String.fetchAll(db, sql: """
                SELECT id FROM jobs WHERE node_id = ? AND cancel_requested = 1 AND status IN ('assigned','running','unknown') ORDER BY id
                """, arguments: [id])
            let queued = try Bool.fetchOne(db, sql: "SELECT \(JobRules.workQueuedSQL)") ?? false
            return HeartbeatReply(cancel: cancels, workQueued: queued)
        }
    }

    public func onlineNodeCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM nodes WHERE status = 'online'") ?? 0 }
    }

    public func nodes() async throws -> [Node] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(NodeRow.columns) FROM nodes ORDER BY id").map { JobRules.node(Self.nodeRow($0)) }
        }
    }

    public func sweep(lostAfterSeconds seconds: Double) async throws -> (nodes: Int, jobs: Int) {
        try await write { db in
            let now = JobRules.now()
            let cutoff = now - Int64(seconds * 1000)
            let lost = try String.fetchAll(db, sql: "SELECT id FROM nodes WHERE status = 'online' AND last_seen_ms < ?", arguments: [cutoff])
            var jobs = 0
            for n in lost {
                try db.execute(sql: "UPDATE nodes SET status = 'lost' WHERE id = ?", arguments: [n])
                // Assigned jobs are the lease's business: they never started, so they are requeued.
                try db.execute(sql: "UPDATE jobs SET status = 'unknown', updated_ms = ? WHERE node_id = ? AND status = 'running'",
                               arguments: [now, n])
                jobs += db.changesCount
            }
            return (lost.count, jobs)
        }
    }

    public func stats() async throws -> FleetStats {
        try await pool.read { db in
            var byStatus: [MasterJobStatus: Int] = [:]
            var oldest: [MasterJobStatus: Int64] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n, MIN(updated_ms) AS oldest FROM jobs GROUP BY status") {
                if let s = MasterJobStatus(rawValue: r["status"]) {
                    byStatus[s] = r["n"]
                    oldest[s] = r["oldest"]
                }
            }
            let sla = try Row.fetchOne(db, sql: "SELECT COALESCE(SUM(platform_sla = 1), 0) AS ok, COUNT(platform_sla) AS total FROM jobs")
            var nodes: [NodeStatus: Int] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM nodes GROUP BY status") {
                if let s = NodeStatus(rawValue: r["status"]) { nodes[s] = r["n"] }
            }
            return FleetStats(jobsByStatus: byStatus, slaCompliant: sla?["ok"] ?? 0, slaTotal: sla?["total"] ?? 0, nodesByStatus: nodes,
                              oldestChangeMs: oldest)
        }
    }

    public func close() async {
        try? pool.close()
    }
}
