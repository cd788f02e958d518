import FFRTMPModel

/// POST /api/nodes/register body.
public struct NodeRegistration: Codable, Equatable, Sendable {
    public var nodeID: String
    public var hostname: String?
    public var wrapperEnabled: Bool?
    /// Jobs the node is running right now (reconciles jobs that went `unknown`).
    public var runningJobs: [String]?

    public init(nodeID: String, hostname: String? = nil, wrapperEnabled: Bool? = nil, runningJobs: [String]? = nil) {
        self.nodeID = nodeID
        self.hostname = hostname
        self.wrapperEnabled = wrapperEnabled
        self.runningJobs = runningJobs
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", hostname, wrapperEnabled = "wrapper_enabled", runningJobs = "running_jobs"
    }
}

/// POST /api/nodes/{id}/heartbeat body and answer.
public struct Heartbeat: Codable, Equatable, Sendable {
    public var runningJobs: [String]
    public init(runningJobs: [String]) { self.runningJobs = runningJobs }
    enum CodingKeys: String, CodingKey { case runningJobs = "running_jobs" }
}

public struct HeartbeatReply: Codable, Equatable, Sendable {
    /// Jobs on this node that someone asked to cancel.
    public var cancel: [String]
    public init(cancel: [String]) { self.cancel = cancel }
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
