import FFRTMPWire
import Logging
import PostgresNIO

/// The three calls every node makes all the time: the heartbeat, the poll and the node-key
/// lookup. Each is ONE prepared statement, sent on a leased connection without BEGIN/COMMIT:
/// PostgreSQL parses and plans it once per connection (the fleet profile showed it parsing every
/// statement anew), and a node's call costs one round trip instead of six to nine.
///
/// Each statement is atomic on its own (data-modifying CTEs share one snapshot and commit
/// together), and it touches only rows found through an index: the node by primary key, the
/// heartbeat's running jobs by primary key, the node's cancels through the partial index
/// `jobs_cancel`, and the queue's head through the partial index `jobs_queued`, so its cost does
/// not grow with the jobs the store has finished (`hotPathPlans` shows the plans; the store
/// tests check that none of them scans a table).
///
/// The column changes mirror `JobRules.assign` (claim), `JobRules.reconcile` (heartbeat) and the
/// lease renewal of a repeated request id; the one store suite (StoreSuite) runs the same
/// scenarios against SQLite, which uses those Swift rules, and PostgreSQL, which uses this SQL.
/// Anything unusual (an unknown node, another agent instance) falls back to the checked path,
/// which names the error.
extension PostgresJobStore {
    static let nowMs = "(extract(epoch from now()) * 1000)::bigint"
    /// The bindings of a statement whose one parameter is a key (an id, a hash).
    static func binding(_ key: String) -> PostgresBindings {
        var b = PostgresBindings()
        b.append(key)
        return b
    }
    static func qualified(_ columns: String, _ table: String) -> String {
        columns.split(separator: ", ").map { "\(table).\($0)" }.joined(separator: ", ")
    }

    /// $1 node, $2 request id (or NULL), $3 lease ms, $4 max. No row: the node is not registered.
    /// One row with a NULL id: nothing to take. Otherwise one row per job, oldest first.
    struct Claim: PostgresPreparedStatement {
        static let name = "ffrtmp_claim_v1"
        static let bindingDataTypes: [PostgresDataType] = [.text, .text, .int8, .int8]
        static let sql = """
            WITH n AS (SELECT \(nowMs) AS now_ms FROM nodes WHERE id = $1),
            again AS (
              UPDATE jobs SET lease_until_ms = (SELECT now_ms FROM n) + $3
              WHERE $2::text IS NOT NULL AND node_id = $1 AND dispatch_request = $2::text AND status = 'assigned' AND EXISTS (SELECT 1 FROM n)
              RETURNING \(qualified(JobRow.columns, "jobs"))),
            picked AS (
              SELECT id FROM jobs WHERE status = 'queued' AND EXISTS (SELECT 1 FROM n) AND NOT EXISTS (SELECT 1 FROM again)
              ORDER BY created_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED),
            fresh AS (
              UPDATE jobs SET status = 'assigned', node_id = $1, attempt = jobs.attempt + 1, updated_ms = n.now_ms,
                lease_until_ms = n.now_ms + $3, dispatch_request = $2::text
              FROM n WHERE jobs.id = ANY (ARRAY(SELECT id FROM picked))
              RETURNING \(qualified(JobRow.columns, "jobs"))),
            got AS (SELECT * FROM again UNION ALL SELECT * FROM fresh)
            SELECT n.now_ms, got.* FROM n LEFT JOIN got ON true ORDER BY got.created_ms, got.id
            """
        typealias Row = JobRow?
        var node: String
        var request: String?
        var leaseMs: Int64
        var max: Int64

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings()
            b.append(node); b.append(request); b.append(leaseMs); b.append(max)
            return b
        }

        func decodeRow(_ row: PostgresRow) throws -> JobRow? {
            try row.makeRandomAccess()["id"].decode(String?.self) == nil ? nil : try PostgresJobStore.jobRow(row)
        }
    }

    /// $1 node, $2 its running jobs (JSON, as stored), $3 the beat's instance id (or NULL), $4/$5
    /// the running job ids and their attempts (0: not given). No row: unknown node or another
    /// instance (the checked path says which). One row: the jobs to cancel.
    struct Beat: PostgresPreparedStatement {
        static let name = "ffrtmp_heartbeat_v1"
        static let bindingDataTypes: [PostgresDataType] = [.text, .text, .text, .textArray, .int4Array]
        static let sql = """
            WITH t AS (SELECT \(nowMs) AS now_ms),
            u AS (
              UPDATE nodes SET status = 'online', last_seen_ms = t.now_ms, running_jobs = $2 FROM t
              WHERE nodes.id = $1 AND (nodes.instance_id IS NULL OR $3::text IS NULL OR nodes.instance_id = $3::text)
              RETURNING t.now_ms),
            r AS (
              UPDATE jobs SET status = 'running', lease_until_ms = NULL, dispatch_request = NULL, updated_ms = u.now_ms
              FROM u, unnest($4::text[], $5::int4[]) AS b(id, attempt)
                CROSS JOIN LATERAL (SELECT j.id FROM jobs j WHERE j.id = b.id AND j.node_id = $1 AND j.status IN ('assigned', 'unknown')
                                      AND (b.attempt = 0 OR b.attempt = j.attempt) OFFSET 0) AS hit
              WHERE jobs.id = hit.id
              RETURNING jobs.id)
            SELECT ARRAY(SELECT id FROM jobs WHERE \(cancelsWhere) ORDER BY id) AS cancels, \(JobRules.workQueuedSQL) AS work_queued FROM u
            """
        /// The partial index `jobs_cancel` is built on exactly this predicate.
        static let cancelsWhere = "node_id = $1 AND cancel_requested AND status IN ('assigned', 'running', 'unknown')"
        typealias Row = HeartbeatReply
        var node: String
        var runningJSON: String
        var instance: String?
        var ids: [String]
        var attempts: [Int32]

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings()
            b.append(node); b.append(runningJSON); b.append(instance); b.append(ids); b.append(attempts)
            return b
        }

        func decodeRow(_ row: PostgresRow) throws -> HeartbeatReply {
            let r = row.makeRandomAccess()
            return HeartbeatReply(cancel: try r["cancels"].decode([String].self), workQueued: try r["work_queued"].decode(Bool.self))
        }
    }

    struct KeyLookup: PostgresPreparedStatement {
        static let name = "ffrtmp_node_key_v1"
        static let bindingDataTypes: [PostgresDataType] = [.text]
        static let sql = "SELECT node_id FROM node_keys WHERE key_hash = $1 AND revoked_ms IS NULL"
        typealias Row = String
        var hash: String
        func makeBindings() throws -> PostgresBindings { PostgresJobStore.binding(hash) }
        func decodeRow(_ row: PostgresRow) throws -> String { try row.decode(String.self) }
    }

    /// Runs a statement that returns no rows. Its (empty) row stream is read to the end: in
    /// postgres-nio 1.33.2 the overload that returns the command tag instead traps on a prepared
    /// statement ("commandTag may only be called if all rows have been consumed").
    static func run<S: PostgresPreparedStatement>(_ c: PostgresConnection, _ s: S, logger: Logger) async throws where S.Row == () {
        for try await _ in try await c.execute(s, logger: logger) {}
    }

    /// A job by id (the result route reads it to check the node key's claim).
    struct JobByID: PostgresPreparedStatement {
        static let name = "ffrtmp_job_v1"
        static let sql = "SELECT \(JobRow.columns) FROM jobs WHERE id = $1"
        static let bindingDataTypes: [PostgresDataType] = [.text]
        typealias Row = JobRow
        var id: String
        func makeBindings() throws -> PostgresBindings { PostgresJobStore.binding(id) }
        func decodeRow(_ row: PostgresRow) throws -> JobRow { try PostgresJobStore.jobRow(row) }
    }

    /// Every column of a job row, written back (`save`): $1-$16 the columns, $17 the id.
    struct SaveJob: PostgresPreparedStatement {
        static let name = "ffrtmp_save_job_v1"
        static let sql = """
            UPDATE jobs SET engine=$1, parameters=$2, wrapper_enabled=$3, wrapper_constraints=$4, status=$5, node_id=$6, attempt=$7,
              cancel_requested=$8, created_ms=$9, updated_ms=$10, result=$11, platform_sla=$12, platform_sla_reason=$13, failure_reason=$14,
              lease_until_ms=$15, dispatch_request=$16
            WHERE id=$17
            """
        static let bindingDataTypes: [PostgresDataType] = [.text, .text, .bool, .text, .text, .text, .int4, .bool, .int8, .int8, .text, .bool,
                                                           .text, .text, .int8, .text, .text]
        typealias Row = ()
        var row: JobRow

        static func bindings(_ r: JobRow) -> PostgresBindings {
            var b = PostgresBindings()
            b.append(r.engine); b.append(r.parameters); b.append(r.wrapperEnabled); b.append(r.wrapperConstraints)
            b.append(r.status); b.append(r.nodeID); b.append(Int32(r.attempt)); b.append(r.cancelRequested)
            b.append(r.createdMs); b.append(r.updatedMs); b.append(r.result); b.append(r.platformSLA)
            b.append(r.platformSLAReason); b.append(r.failureReason); b.append(r.leaseUntilMs); b.append(r.dispatchRequest); b.append(r.id)
            return b
        }
        func makeBindings() throws -> PostgresBindings { Self.bindings(row) }
        func decodeRow(_ row: PostgresRow) throws {}
    }

    /// A result's job, locked, with the database's clock and whether this attempt's result is
    /// already in (one round trip instead of three).
    struct ResultTarget: PostgresPreparedStatement {
        static let name = "ffrtmp_result_target_v1"
        static let sql = """
            SELECT \(JobRow.columns), \(nowMs) AS now_ms, EXISTS (SELECT 1 FROM results WHERE job_id = $1 AND attempt = $2) AS seen
            FROM jobs WHERE id = $1 FOR UPDATE
            """
        static let bindingDataTypes: [PostgresDataType] = [.text, .int4]
        typealias Row = (JobRow, Int64, Bool)
        var job: String
        var attempt: Int32
        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings()
            b.append(job); b.append(attempt)
            return b
        }
        func decodeRow(_ row: PostgresRow) throws -> (JobRow, Int64, Bool) {
            let r = row.makeRandomAccess()
            return (try PostgresJobStore.jobRow(row), try r["now_ms"].decode(Int64.self), try r["seen"].decode(Bool.self))
        }
    }

    /// The result row and the job's new state, in one statement: $1-$17 as `SaveJob`, then the
    /// attempt, the time received and the report.
    struct StoreResult: PostgresPreparedStatement {
        static let name = "ffrtmp_store_result_v1"
        static let sql = "WITH ins AS (INSERT INTO results (job_id, attempt, received_ms, body) VALUES ($17, $18, $19, $20)) " + SaveJob.sql
        static let bindingDataTypes: [PostgresDataType] = SaveJob.bindingDataTypes + [.int4, .int8, .text]
        typealias Row = ()
        var row: JobRow
        var attempt: Int32
        var receivedMs: Int64
        var body: String
        func makeBindings() throws -> PostgresBindings {
            var b = SaveJob.bindings(row)
            b.append(attempt); b.append(receivedMs); b.append(body)
            return b
        }
        func decodeRow(_ row: PostgresRow) throws {}
    }

    /// Registration, first half: the node's row as it was (created, never seen, if it is new),
    /// locked, with the database's clock. `DO UPDATE` (a no-op) rather than `DO NOTHING` so the
    /// row comes back locked in the same statement, on a conflict too.
    struct Enroll: PostgresPreparedStatement {
        static let name = "ffrtmp_enroll_v1"
        static let sql = """
            INSERT INTO nodes AS n (id, status, registered_ms, last_seen_ms, running_jobs) VALUES ($1, 'lost', \(nowMs), 0, '[]')
            ON CONFLICT (id) DO UPDATE SET id = n.id
            RETURNING \(qualified(NodeRow.columns, "n")), \(nowMs) AS now_ms
            """
        static let bindingDataTypes: [PostgresDataType] = [.text]
        typealias Row = (NodeRow, Int64)
        var id: String
        func makeBindings() throws -> PostgresBindings { PostgresJobStore.binding(id) }
        func decodeRow(_ row: PostgresRow) throws -> (NodeRow, Int64) {
            (try PostgresJobStore.nodeRow(row), try row.makeRandomAccess()["now_ms"].decode(Int64.self))
        }
    }

    /// Registration, second half: the node as it registered.
    struct NodeOnline: PostgresPreparedStatement {
        static let name = "ffrtmp_node_online_v1"
        static let sql = """
            UPDATE nodes SET hostname = $2, status = 'online', wrapper_enabled = $3, last_seen_ms = $4, running_jobs = $5, instance_id = $6 WHERE id = $1
            """
        static let bindingDataTypes: [PostgresDataType] = [.text, .text, .bool, .int8, .text, .text]
        typealias Row = ()
        var id: String
        var hostname: String?
        var wrapperEnabled: Bool?
        var nowMs: Int64
        var runningJSON: String
        var instance: String?
        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings()
            b.append(id); b.append(hostname); b.append(wrapperEnabled); b.append(nowMs); b.append(runningJSON); b.append(instance)
            return b
        }
        func decodeRow(_ row: PostgresRow) throws {}
    }

    /// The indexes the hot statements use (created by `migrate`, on new and old databases).
    static let hotPathIndexes = [
        "CREATE INDEX IF NOT EXISTS jobs_queued ON jobs(created_ms, id) WHERE status = 'queued'",
        "CREATE INDEX IF NOT EXISTS jobs_cancel ON jobs(node_id) WHERE cancel_requested AND status IN ('assigned', 'running', 'unknown')",
        "CREATE INDEX IF NOT EXISTS jobs_node_status ON jobs(node_id, status)",
    ]

    public func claim(nodeID: String, requestID: String?, max: Int, leaseMs: Int64) async throws -> [MasterJob] {
        let node = try WireValidation.nodeID(nodeID)
        var rows: [JobRow?] = []
        for try await r in try await client.execute(Claim(node: node, request: requestID, leaseMs: leaseMs, max: Int64(max)), logger: logger) {
            rows.append(r)
        }
        if rows.isEmpty { throw WireError.notFound(what: "node (register it first)", id: node) }
        return rows.compactMap { $0.map(JobRules.job) }
    }

    public func heartbeat(nodeID: String, _ beat: Heartbeat) async throws -> HeartbeatReply {
        let id = try WireValidation.nodeID(nodeID)
        let beat = try beat.validated()
        let running = try JobRules.validateRunning(beat.runningJobs)
        let attempts = running.map { Int32(beat.attempts?[$0] ?? 0) }
        let stmt = Beat(node: id, runningJSON: JobRules.encode(running), instance: beat.instanceID, ids: running, attempts: attempts)
        for try await reply in try await client.execute(stmt, logger: logger) { return reply }
        return try await checkedHeartbeat(id, beat, running)
    }

    /// The heartbeat's slow path, for a beat the statement did not take: names the error (an
    /// unknown node, another instance), or takes it if the node registered meanwhile.
    func checkedHeartbeat(_ id: String, _ beat: Heartbeat, _ running: [String]) async throws -> HeartbeatReply {
        try await transaction { c in
            guard let existing = try await self.fetchNode(c, id, lock: true) else { throw WireError.notFound(what: "node (register it first)", id: id) }
            try JobRules.checkBeat(node: id, existing: existing, instance: beat.instanceID)
            let now = try await self.dbNow(c)
            let encoded = JobRules.encode(running)
            try await c.query("UPDATE nodes SET status = 'online', last_seen_ms = \(now), running_jobs = \(encoded) WHERE id = \(id)", logger: self.logger)
            try await self.reconcile(c, node: id, running: running, attempts: beat.attempts ?? [:], now: now)
            var cancels: [String] = []
            let q = PostgresQuery(unsafeSQL: "SELECT id FROM jobs WHERE \(Beat.cancelsWhere) ORDER BY id", binds: Self.binding(id))
            for try await r in try await c.query(q, logger: self.logger) { cancels.append(try r.decode(String.self)) }
            var queued = false
            for try await q in try await c.query(PostgresQuery(unsafeSQL: "SELECT \(JobRules.workQueuedSQL)"), logger: self.logger).decode(Bool.self) { queued = q }
            return HeartbeatReply(cancel: cancels, workQueued: queued)
        }
    }

    public func node(forKeyHash keyHash: String) async throws -> String? {
        for try await n in try await client.execute(KeyLookup(hash: keyHash), logger: logger) { return n }
        return nil
    }

    /// EXPLAIN of each hot statement as the server runs it from a connection's cache: the
    /// generic plan (`plan_cache_mode = force_generic_plan`), made from the table statistics of
    /// the moment. The store tests skew those statistics (many assigned jobs, few queued, and the
    /// reverse) and check every plan still reads the rows through the indexes built for it: a
    /// generic plan that scans by status instead made PostgreSQL's CPU double from one bench
    /// round to the next.
    public func hotPathPlans() async throws -> [String: String] {
        func typeName(_ t: PostgresDataType) -> String {
            switch t {
            case .int8: return "bigint"
            case .int4: return "integer"
            case .bool: return "boolean"
            case .textArray: return "text[]"
            case .int4Array: return "integer[]"
            default: return "text"
            }
        }
        let cases: [(String, String, [PostgresDataType], String)] = [
            ("claim", Claim.sql, Claim.bindingDataTypes, "'n', 'r', 1000, 4"),
            ("heartbeat", Beat.sql, Beat.bindingDataTypes, "'n', '[]', NULL, ARRAY['a','b'], ARRAY[1,0]"),
            ("node key", KeyLookup.sql, KeyLookup.bindingDataTypes, "'h'"),
            ("result", ResultTarget.sql, ResultTarget.bindingDataTypes, "'a', 1"),
        ]
        return try await client.withConnection { c in
            try await c.query("SET plan_cache_mode = force_generic_plan", logger: self.logger)
            var out: [String: String] = [:]
            do {
                for (i, (name, sql, types, args)) in cases.enumerated() {
                    try await c.query(PostgresQuery(unsafeSQL: "PREPARE ffrtmp_explain_\(i)(\(types.map(typeName).joined(separator: ", "))) AS \(sql)"), logger: self.logger)
                    var plan: [String] = []
                    let q = PostgresQuery(unsafeSQL: "EXPLAIN EXECUTE ffrtmp_explain_\(i)(\(args))")
                    for try await line in try await c.query(q, logger: self.logger).decode(String.self) { plan.append(line) }
                    try await c.query(PostgresQuery(unsafeSQL: "DEALLOCATE ffrtmp_explain_\(i)"), logger: self.logger)
                    out[name] = plan.joined(separator: "\n")
                }
            } catch {
                try? await c.query("DEALLOCATE ALL", logger: self.logger)
                try? await c.query("RESET plan_cache_mode", logger: self.logger)
                throw error
            }
            try await c.query("RESET plan_cache_mode", logger: self.logger)
            return out
        }
    }

    /// Tests only: runs each statement on the (throwaway) test database.
    public func executeForTests(_ statements: [String]) async throws {
        try await client.withConnection { c in
            for sql in statements { _ = try await c.query(PostgresQuery(unsafeSQL: sql), logger: self.logger).collect() }
        }
    }
}
