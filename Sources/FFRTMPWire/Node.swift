import FFRTMPModel

/// POST /api/nodes/register body.
public struct NodeRegistration: Codable, Equatable, Sendable {
    public var nodeID: String
    public var hostname: String?
    public var wrapperEnabled: Bool?
    /// Jobs the node is running right now (reconciles jobs that went `unknown`).
    public var runningJobs: [String]?
    /// Which agent process (box and boot) speaks for the node: a second live instance of one
    /// node id (a cloned image) is refused with 409. Never shown by the API.
    public var instanceID: String?
    /// The agent's HEARTBEAT_INTERVAL: the master refuses one at or above its --node-lost-after.
    public var heartbeatIntervalSeconds: Double?

    public init(nodeID: String, hostname: String? = nil, wrapperEnabled: Bool? = nil, runningJobs: [String]? = nil,
                instanceID: String? = nil, heartbeatIntervalSeconds: Double? = nil) {
        self.nodeID = nodeID
        self.hostname = hostname
        self.wrapperEnabled = wrapperEnabled
        self.runningJobs = runningJobs
        self.instanceID = instanceID
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", hostname, wrapperEnabled = "wrapper_enabled", runningJobs = "running_jobs"
        case instanceID = "instance_id", heartbeatIntervalSeconds = "heartbeat_interval_seconds"
    }

    public func validated() throws -> NodeRegistration {
        _ = try WireValidation.nodeID(nodeID)
        if let h = hostname, h.utf8.count > 253 || h.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
            throw WireError.invalidField(field: "hostname", reason: "must be at most 253 bytes with no control characters")
        }
        if let i = instanceID { try WireValidation.instanceID(i) }
        if let h = heartbeatIntervalSeconds, !(h.isFinite && h > 0) {
            throw WireError.invalidField(field: "heartbeat_interval_seconds", reason: "must be a positive number")
        }
        return self
    }
}

/// POST /api/nodes/{id}/heartbeat body and answer.
public struct Heartbeat: Codable, Equatable, Sendable {
    public var runningJobs: [String]
    /// The attempt of each running job: listing a job acknowledges its assignment (ends its
    /// lease) only for the attempt named here, when given.
    public var attempts: [String: Int]?
    public var instanceID: String?

    public init(runningJobs: [String], attempts: [String: Int]? = nil, instanceID: String? = nil) {
        self.runningJobs = runningJobs
        self.attempts = attempts
        self.instanceID = instanceID
    }

    enum CodingKeys: String, CodingKey { case runningJobs = "running_jobs", attempts, instanceID = "instance_id" }

    public func validated() throws -> Heartbeat {
        if let i = instanceID { try WireValidation.instanceID(i) }
        if let a = attempts {
            guard a.count <= 10_000 else { throw WireError.invalidField(field: "attempts", reason: "more than 10000 entries") }
            for (k, v) in a {
                _ = try WireValidation.jobID(k, field: "attempts")
                guard v >= 1 && v <= 1_000_000 else { throw WireError.invalidField(field: "attempts.\(k)", reason: "must be from 1 to 1000000") }
            }
        }
        return self
    }
}

public struct HeartbeatReply: Codable, Equatable, Sendable {
    /// Jobs on this node that someone asked to cancel.
    public var cancel: [String]
    /// A job waits in the queue: a node pacing its idle polls (`PollAnswer.idlePollSeconds`)
    /// polls now instead. Absent from masters before it (read as false).
    public var workQueued: Bool?
    public init(cancel: [String], workQueued: Bool? = nil) {
        self.cancel = cancel
        self.workQueued = workQueued
    }

    enum CodingKeys: String, CodingKey { case cancel, workQueued = "work_queued" }
}

public enum NodeStatus: String, Codable, Sendable { case online, lost }

public struct Node: Codable, Equatable, Sendable {
    public var id: String
    public var hostname: String?
    public var status: NodeStatus
    public var wrapperEnabled: Bool?
    public var registeredAt: String
    public var lastSeen: String
    public var runningJobs: [String]
    /// In the register answer only: the master's --node-lost-after and --dispatch-lease, so the
    /// agent can check its HEARTBEAT_INTERVAL against them.
    public var nodeLostAfterSeconds: Double?
    public var dispatchLeaseSeconds: Double?

    public init(id: String, hostname: String?, status: NodeStatus, wrapperEnabled: Bool?, registeredAt: String, lastSeen: String, runningJobs: [String]) {
        self.id = id
        self.hostname = hostname
        self.status = status
        self.wrapperEnabled = wrapperEnabled
        self.registeredAt = registeredAt
        self.lastSeen = lastSeen
        self.runningJobs = runningJobs
    }

    enum CodingKeys: String, CodingKey {
        case id, hostname, status, wrapperEnabled = "wrapper_enabled", registeredAt = "registered_at"
        case lastSeen = "last_seen", runningJobs = "running_jobs"
        case nodeLostAfterSeconds = "node_lost_after_seconds", dispatchLeaseSeconds = "dispatch_lease_seconds"
    }
}

/// POST /api/results body: one attempt's outcome. Idempotent by (job_id, attempt).
public struct JobResultReport: Codable, Equatable, Sendable {
    public var jobID: String
    public var attempt: Int
    public var nodeID: String
    /// completed, failed, timed_out or canceled.
    public var status: MasterJobStatus
    public var platformSLA: Bool?
    public var platformSLAReason: String?
    public var failureReason: String?
    public var metrics: JSONValue?
    public var analyzerOutput: JSONValue?
    public var result: JSONValue?

    public init(jobID: String, attempt: Int, nodeID: String, status: MasterJobStatus, platformSLA: Bool? = nil,
                platformSLAReason: String? = nil, failureReason: String? = nil, metrics: JSONValue? = nil,
                analyzerOutput: JSONValue? = nil, result: JSONValue? = nil) {
        self.jobID = jobID
        self.attempt = attempt
        self.nodeID = nodeID
        self.status = status
        self.platformSLA = platformSLA
        self.platformSLAReason = platformSLAReason
        self.failureReason = failureReason
        self.metrics = metrics
        self.analyzerOutput = analyzerOutput
        self.result = result
    }

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", attempt, nodeID = "node_id", status, platformSLA = "platform_sla"
        case platformSLAReason = "platform_sla_reason", failureReason = "failure_reason", metrics
        case analyzerOutput = "analyzer_output", result
    }

    public func validated() throws -> JobResultReport {
        _ = try WireValidation.jobID(jobID, field: "job_id")
        _ = try WireValidation.nodeID(nodeID)
        guard attempt >= 1 && attempt <= 1_000_000 else { throw WireError.invalidField(field: "attempt", reason: "must be from 1 to 1000000") }
        guard [.completed, .failed, .timedOut, .canceled].contains(status) else {
            throw WireError.invalidField(field: "status", reason: "must be completed, failed, timed_out or canceled")
        }
        return self
    }
}

/// POST /api/nodes/{id}/poll body: take up to `max` jobs. The request id is the agent's until an
/// answer arrives: polling again with it (the answer was lost) returns the same assignment.
public struct PollRequest: Codable, Equatable, Sendable {
    public var requestID: String
    public var max: Int

    public init(requestID: String, max: Int) {
        self.requestID = requestID
        self.max = max
    }

    enum CodingKeys: String, CodingKey { case requestID = "request_id", max }

    /// The most jobs one poll may take.
    public static let maxJobs = 64

    public func validated() throws -> PollRequest {
        try WireValidation.token(requestID, field: "request_id", lengths: 1...64, dot: false)
        guard (1...Self.maxJobs).contains(max) else { throw WireError.invalidField(field: "max", reason: "must be from 1 to \(Self.maxJobs)") }
        return self
    }
}

/// The poll's answer: the jobs assigned (maybe none) and their lease. A job not acknowledged
/// (listed in a heartbeat) within the lease goes back to the queue, as a new attempt.
public struct PollAnswer: Codable, Equatable, Sendable {
    public var jobs: [MasterJob]
    public var leaseSeconds: Double
    /// Given with an empty answer: how long the node should wait before its next poll (at least
    /// its own POLL_INTERVAL), so that an idle fleet's empty polls stay near the master's
    /// --idle-poll-rate however many nodes it has. A heartbeat reply with `work_queued` ends
    /// the wait. Absent from masters before it, and with --idle-poll-rate 0.
    public var idlePollSeconds: Double?

    public init(jobs: [MasterJob], leaseSeconds: Double, idlePollSeconds: Double? = nil) {
        self.jobs = jobs
        self.leaseSeconds = leaseSeconds
        self.idlePollSeconds = idlePollSeconds
    }

    enum CodingKeys: String, CodingKey { case jobs, leaseSeconds = "lease_seconds", idlePollSeconds = "idle_poll_seconds" }

    /// Seconds until the next poll after this answer, for a node whose POLL_INTERVAL is `base`:
    /// `base` after jobs came; after an empty answer the master's idle pace if longer, spread by
    /// `jitter` (0..1, random: ±25%) so that nodes that went idle together do not poll together.
    /// The agent and the fleet simulator both pace by this.
    public func nextPollDelay(base: Double, jitter: Double) -> Double {
        guard jobs.isEmpty, let idle = idlePollSeconds, idle.isFinite, idle > base else { return base }
        return max(base, min(Self.maxIdlePollSeconds, idle * (0.75 + 0.5 * min(max(jitter, 0), 1))))
    }

    /// The longest idle wait a node follows (jitter included), whatever a master says.
    public static let maxIdlePollSeconds = 60.0
}

/// POST /api/nodes/{id}/release body: an assigned attempt the node took but cannot start goes
/// back to the queue now rather than when its lease ends.
public struct JobRelease: Codable, Equatable, Sendable {
    public var jobID: String
    public var attempt: Int
    public var reason: String?

    public init(jobID: String, attempt: Int, reason: String?) {
        self.jobID = jobID
        self.attempt = attempt
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case jobID = "job_id", attempt, reason }

    public func validated() throws -> JobRelease {
        _ = try WireValidation.jobID(jobID, field: "job_id")
        guard attempt >= 1 && attempt <= 1_000_000 else { throw WireError.invalidField(field: "attempt", reason: "must be from 1 to 1000000") }
        if let r = reason, r.utf8.count > 1000 { throw WireError.invalidField(field: "reason", reason: "longer than 1000 bytes") }
        return self
    }
}
