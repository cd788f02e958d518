import FFRTMPWire

/// Fleet-wide counts for /metrics.
public struct FleetStats: Equatable, Sendable {
    public var jobsByStatus: [MasterJobStatus: Int]
    public var slaCompliant: Int
    public var slaTotal: Int
    public var nodesByStatus: [NodeStatus: Int]
    /// The oldest last change (unix ms) of a job in each status: how long the most stuck
    /// `assigned` or `unknown` job has been so.
    public var oldestChangeMs: [MasterJobStatus: Int64] = [:]

    public var slaUptime: Double { slaTotal == 0 ? 1 : Double(slaCompliant) / Double(slaTotal) }
}

/// The master's storage, one interface over SQLite (embedded, default) and PostgreSQL
/// (fleets, several masters). Both run the same test suite. The decisions (which state
/// may follow which, what a cancel or a result does) live in `JobRules`, not in SQL.
public protocol JobStore: Sendable {
    func migrate() async throws
    func create(_ job: NewJob) async throws -> MasterJob
    func job(_ id: String) async throws -> MasterJob
    /// The newest `limit` jobs (filtered by status and node), with their JSON columns as stored:
    /// what `GET /api/jobs` writes out without decoding them (`JobListing`).
    func listRaw(status: MasterJobStatus?, nodeID: String?, limit: Int) async throws -> [JobListing]
    func cancel(_ id: String) async throws -> MasterJob
    /// Hands up to `max` of the oldest queued jobs to `nodeID` (status assigned, attempt + 1),
    /// each with a lease of `leaseMs`. Never hands one job out twice, across concurrent pollers
    /// and masters. A repeated `requestID` (the answer was lost) returns the jobs that request
    /// got, with their lease renewed, and claims nothing new.
    func claim(nodeID: String, requestID: String?, max: Int, leaseMs: Int64) async throws -> [MasterJob]
    /// An assigned attempt the node cannot start goes back to the queue (409 unless it is that
    /// node's current, unacknowledged attempt).
    func release(nodeID: String, _ release: JobRelease) async throws -> MasterJob
    /// Assigned jobs whose lease ran out go back to `queued` (or to `canceled`, if a cancel came
    /// in meanwhile); returns their ids. The next dispatch is attempt + 1.
    func expireLeases() async throws -> [String]
    /// True when both nodes were registered by one agent instance (a box whose NODE_ID changed):
    /// the new id's key may then act for the old id's jobs.
    func sameInstance(_ a: String, _ b: String) async throws -> Bool
    /// Records one attempt's result; a repeat of the same (job_id, attempt) changes nothing.
    func record(_ report: JobResultReport) async throws -> (job: MasterJob, duplicate: Bool)
    /// Registers (or re-registers) a node. 409 when another instance of the node id was seen
    /// within `liveWithinMs`, naming both hostnames.
    func register(_ registration: NodeRegistration, liveWithinMs: Int64) async throws -> Node
    /// 409 when the beat's instance id is not the one the node registered with.
    func heartbeat(nodeID: String, _ beat: Heartbeat) async throws -> HeartbeatReply
    func nodes() async throws -> [Node]
    /// How many nodes are online now (the idle poll pace is set by it).
    func onlineNodeCount() async throws -> Int
    /// Marks nodes silent for longer than `seconds` lost, and their live jobs unknown.
    func sweep(lostAfterSeconds seconds: Double) async throws -> (nodes: Int, jobs: Int)
    func stats() async throws -> FleetStats
    /// Issues a key for `nodeID` and returns it (the only time it is ever seen: the store keeps
    /// its SHA-256). Refuses a node that already has a live key (409): rotate = revoke, then add.
    func addNodeKey(nodeID: String) async throws -> String
    /// Every node key, live and revoked, by node id.
    func nodeKeys() async throws -> [NodeKeyInfo]
    /// Revokes the live key of `nodeID` (404 if it has none); the next request with it is 401.
    func revokeNodeKey(nodeID: String) async throws
    /// The node whose live key hashes to `keyHash`, or nil (unknown or revoked).
    func node(forKeyHash keyHash: String) async throws -> String?
    func close() async
}

extension JobStore {
    /// `listRaw`, decoded: each job as `GET /api/jobs/{id}` shows it.
    public func list(status: MasterJobStatus?, nodeID: String?, limit: Int) async throws -> [MasterJob] {
        try await listRaw(status: status, nodeID: nodeID, limit: limit).map(\.job)
    }

    /// One job, no request id: the old `GET /api/jobs/next`.
    public func dispatch(nodeID: String, leaseMs: Int64 = 30_000) async throws -> MasterJob? {
        try await claim(nodeID: nodeID, requestID: nil, max: 1, leaseMs: leaseMs).first
    }

    public func register(_ registration: NodeRegistration) async throws -> Node {
        try await register(registration, liveWithinMs: 30_000)
    }
}

/// A job row as both stores keep it; times are unix milliseconds.
struct JobRow: Sendable {
    var id: String
    var engine: String
    var parameters: String
    var wrapperEnabled: Bool?
    var wrapperConstraints: String?
    var status: String
    var nodeID: String?
    var attempt: Int
    var cancelRequested: Bool
    var createdMs: Int64
    var updatedMs: Int64
    var result: String?
    var platformSLA: Bool?
    var platformSLAReason: String?
    var failureReason: String?
    /// While assigned: when the lease ends (unix ms), and the poll request that took it.
    var leaseUntilMs: Int64? = nil
    var dispatchRequest: String? = nil

    static let columns = "id, engine, parameters, wrapper_enabled, wrapper_constraints, status, node_id, attempt, cancel_requested, created_ms, updated_ms, result, platform_sla, platform_sla_reason, failure_reason, lease_until_ms, dispatch_request"
}

struct NodeRow: Sendable {
    var id: String
    var hostname: String?
    var status: String
    var wrapperEnabled: Bool?
    var registeredMs: Int64
    var lastSeenMs: Int64
    var runningJobs: String
    var instanceID: String? = nil

    static let columns = "id, hostname, status, wrapper_enabled, registered_ms, last_seen_ms, running_jobs, instance_id"
}
