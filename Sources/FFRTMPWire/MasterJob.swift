import FFRTMPModel
import FoundationEssentials

public enum Engine: String, Codable, Sendable { case auto, ffmpeg, gstreamer }

/// A job as the master stores and serves it (snake_case JSON). `wrapper_enabled` and
/// `wrapper_constraints` stay missing when the submitter did not say: "not said" is a state.
public struct MasterJob: Codable, Equatable, Sendable {
    public var id: String
    public var engine: Engine
    public var parameters: JSONValue
    public var wrapperEnabled: Bool?
    public var wrapperConstraints: WireConstraints?
    public var status: MasterJobStatus
    public var nodeID: String?
    public var attempt: Int
    public var cancelRequested: Bool
    public var createdAt: String
    public var updatedAt: String
    public var result: JSONValue?
    public var platformSLA: Bool?
    public var platformSLAReason: String?
    public var failureReason: String?

    public init(id: String, engine: Engine, parameters: JSONValue, wrapperEnabled: Bool?, wrapperConstraints: WireConstraints?,
                status: MasterJobStatus, nodeID: String?, attempt: Int, cancelRequested: Bool, createdAt: String,
                updatedAt: String, result: JSONValue?, platformSLA: Bool?, platformSLAReason: String?, failureReason: String?) {
        self.id = id
        self.engine = engine
        self.parameters = parameters
        self.wrapperEnabled = wrapperEnabled
        self.wrapperConstraints = wrapperConstraints
        self.status = status
        self.nodeID = nodeID
        self.attempt = attempt
        self.cancelRequested = cancelRequested
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.result = result
        self.platformSLA = platformSLA
        self.platformSLAReason = platformSLAReason
        self.failureReason = failureReason
    }

    enum CodingKeys: String, CodingKey {
        case id, engine, parameters, wrapperEnabled = "wrapper_enabled", wrapperConstraints = "wrapper_constraints", status
        case nodeID = "node_id", attempt, cancelRequested = "cancel_requested", createdAt = "created_at", updatedAt = "updated_at"
        case result, platformSLA = "platform_sla", platformSLAReason = "platform_sla_reason", failureReason = "failure_reason"
    }
}

/// POST /api/jobs body. Unknown fields are ignored; bad ones are named.
public struct NewJob: Codable, Equatable, Sendable {
    public var id: String?
    public var engine: Engine?
    public var parameters: JSONValue?
    public var wrapperEnabled: Bool?
    public var wrapperConstraints: WireConstraints?

    public init(id: String? = nil, engine: Engine? = nil, parameters: JSONValue? = nil, wrapperEnabled: Bool? = nil,
                wrapperConstraints: WireConstraints? = nil) {
        self.id = id
        self.engine = engine
        self.parameters = parameters
        self.wrapperEnabled = wrapperEnabled
        self.wrapperConstraints = wrapperConstraints
    }

    enum CodingKeys: String, CodingKey {
        case id, engine, parameters, wrapperEnabled = "wrapper_enabled", wrapperConstraints = "wrapper_constraints"
    }

    /// Checks what the master can check without the worker's devices: the id's form and
    /// the constraint syntax and ranges (io_max devices are the worker's business).
    public func validated() throws -> NewJob {
        if let id { _ = try WireValidation.jobID(id) }
        if let p = parameters, case .object = p {} else if parameters != nil {
            throw WireError.invalidField(field: "parameters", reason: "must be a JSON object")
        }
        if let c = wrapperConstraints {
            let parser = ConstraintParser()
            do {
                if let v = c.cpuMax { _ = try parser.parseCPUMax(v) }
                if let v = c.cpuWeight { _ = try parser.parseCPUWeight(v) }
                if let v = c.memoryMaxMB { _ = try parser.parseMemoryMaxMB(v) }
                if let v = c.memorySwapMaxMB { _ = try parser.parseMemorySwapMaxMB(v, memoryMaxMB: c.memoryMaxMB) }
                if let v = c.pidsMax { _ = try parser.parsePIDsMax(v) }
                if let v = c.maxOutputMB { _ = try parser.parseMaxOutputMB(v) }
            } catch let e as FFRTMPError {
                throw WireError.invalidField(field: "wrapper_constraints", reason: e.description)
            }
        }
        return self
    }
}

public enum WireValidation {
    /// `field`: where the id came from ("job_id" in a result, "running_jobs[2]" in a heartbeat).
    public static func jobID(_ raw: String, field: String = "id") throws -> String {
        do { return try JobID(raw).value } catch {
            throw WireError.invalidField(field: field, reason: "\(error)")
        }
    }

    /// An agent instance id: 8-128 of A-Z a-z 0-9 . _ - (the agent makes 32 hex and a boot id).
    public static func instanceID(_ raw: String) throws {
        try token(raw, field: "instance_id", lengths: 8...128, dot: true)
    }

    /// A token of ASCII letters, digits, `-` and `_` (and `.` when `dot`), of a length in `lengths`.
    public static func token(_ raw: String, field: String, lengths: ClosedRange<Int>, dot: Bool) throws {
        let ok = lengths.contains(raw.utf8.count) && raw.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f || (dot && b == 0x2e)
        }
        guard ok else {
            throw WireError.invalidField(field: field, reason: "must be \(lengths.lowerBound)-\(lengths.upperBound) of A-Z a-z 0-9 \(dot ? ". " : "")_ -")
        }
    }

    /// Node ids follow the job id rules: they end up in logs, labels and paths.
    public static func nodeID(_ raw: String) throws -> String {
        do { return try JobID(raw).value } catch {
            throw WireError.invalidField(field: "node_id", reason: "\(raw.isEmpty ? "missing" : "must be 1-128 of A-Z a-z 0-9 . _ -, not starting with a dot")")
        }
    }
}
