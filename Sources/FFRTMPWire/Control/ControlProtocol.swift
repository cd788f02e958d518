import FFRTMPModel
import FoundationEssentials

// The agent's control-socket protocol (one JSON request line, one JSON answer line): in the
// wire model, so `ffrtmp ctl` and the console speak it without linking the agent.

/// What a control-socket request asks for. The names here are the protocol: the agent's
/// switch, the console, `ffrtmp ctl` and the refusal of an unknown op all come from this list.
public enum ControlOp: String, Codable, CaseIterable, Sendable {
    case status
    case getWrapper = "get_wrapper"
    case setWrapper = "set_wrapper"
    case list
    case kill
    case launchTest = "launch_test"
    case attach

    /// Ops that change the node (audited by `ffrtmp ctl`, like the console's actions); the
    /// others only read.
    public var isChanging: Bool {
        switch self {
        case .setWrapper, .launchTest, .kill, .attach: return true
        case .status, .getWrapper, .list: return false
        }
    }

    /// "status, get_wrapper, ...": every op, in declaration order.
    public static var listed: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A request whose `op` is a string no ControlOp has: the answer names it and lists the ops.
public struct UnknownControlOp: Error, CustomStringConvertible, Sendable {
    public var op: String
    public init(op: String) { self.op = op }
    public var description: String { "unknown op \"\(op)\": the ops are \(ControlOp.listed)" }
}

/// A request from the console or the CLI on the agent's Unix socket: one JSON object per line.
public struct ControlRequest: Codable, Sendable {
    public var op: ControlOp
    public var job: String?
    public var enabled: Bool?
    public var pgid: Int32?
    public var durationSeconds: Double?
    public var cpuMax: String?
    public var memoryMaxMB: Int?

    public init(op: ControlOp, job: String? = nil, enabled: Bool? = nil, pgid: Int32? = nil, durationSeconds: Double? = nil,
                cpuMax: String? = nil, memoryMaxMB: Int? = nil) {
        self.op = op
        self.job = job
        self.enabled = enabled
        self.pgid = pgid
        self.durationSeconds = durationSeconds
        self.cpuMax = cpuMax
        self.memoryMaxMB = memoryMaxMB
    }

    enum CodingKeys: String, CodingKey {
        case op, job, enabled, pgid, durationSeconds = "duration_seconds", cpuMax = "cpu_max", memoryMaxMB = "memory_max_mb"
    }

    /// `op` first: a missing or non-string op is a DecodingError (WireDecoding names the field);
    /// a string that is no op throws UnknownControlOp, so the answer names it.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .op)
        guard let op = ControlOp(rawValue: name) else { throw UnknownControlOp(op: name) }
        self.op = op
        job = try c.decodeIfPresent(String.self, forKey: .job)
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled)
        pgid = try c.decodeIfPresent(Int32.self, forKey: .pgid)
        durationSeconds = try c.decodeIfPresent(Double.self, forKey: .durationSeconds)
        cpuMax = try c.decodeIfPresent(String.self, forKey: .cpuMax)
        memoryMaxMB = try c.decodeIfPresent(Int.self, forKey: .memoryMaxMB)
    }
}

// MARK: answers

/// What every answer has: `ok`, and `error` when it is false. Read first, before the op's reply.
public struct ControlReplyHead: Codable, Sendable {
    public var ok: Bool
    public var error: String?
}

/// A refusal or a failure, of any op: `{"error":"...","ok":false}`.
public struct ControlFailure: Codable, Sendable {
    public var ok = false
    public var error: String
    public init(_ error: String) { self.error = error }
}

/// `status`.
public struct StatusReply: Codable, Sendable {
    public var ok = true
    public var nodeID: String
    /// null when standalone (the key is always there).
    public var masterURL: String?
    public var registered: Bool
    public var wrapperEnabled: Bool
    /// The master job ids the agent runs now.
    public var running: [String]
    public var outboxDepth: Int
    /// null when the agent has no worker.env.
    public var configFile: String?

    public init(nodeID: String, masterURL: String?, registered: Bool, wrapperEnabled: Bool, running: [String], outboxDepth: Int,
                configFile: String?) {
        self.nodeID = nodeID
        self.masterURL = masterURL
        self.registered = registered
        self.wrapperEnabled = wrapperEnabled
        self.running = running
        self.outboxDepth = outboxDepth
        self.configFile = configFile
    }

    enum CodingKeys: String, CodingKey {
        case ok, nodeID = "node_id", masterURL = "master_url", registered, wrapperEnabled = "wrapper_enabled", running
        case outboxDepth = "outbox_depth", configFile = "config_file"
    }

    /// master_url and config_file are written as null rather than left out.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ok, forKey: .ok)
        try c.encode(nodeID, forKey: .nodeID)
        try c.encode(masterURL, forKey: .masterURL)
        try c.encode(registered, forKey: .registered)
        try c.encode(wrapperEnabled, forKey: .wrapperEnabled)
        try c.encode(running, forKey: .running)
        try c.encode(outboxDepth, forKey: .outboxDepth)
        try c.encode(configFile, forKey: .configFile)
    }
}

/// `get_wrapper` and `set_wrapper` (only set_wrapper says whether worker.env was rewritten).
public struct WrapperReply: Codable, Sendable {
    public var ok = true
    public var wrapperEnabled: Bool
    public var persisted: Bool?

    public init(wrapperEnabled: Bool, persisted: Bool? = nil) {
        self.wrapperEnabled = wrapperEnabled
        self.persisted = persisted
    }

    enum CodingKeys: String, CodingKey { case ok, wrapperEnabled = "wrapper_enabled", persisted }
}

/// `launch_test` and `attach` (the new job), `kill` (the job and the state it ended in).
public struct JobReply: Codable, Sendable {
    public var ok = true
    public var job: String
    public var state: String?

    public init(job: String, state: String? = nil) {
        self.job = job
        self.state = state
    }
}

/// `list`: every journal job's result (the core's JobResult, which the wire model does not
/// link: the agent fills it, readers decode it as the same type).
public struct ListReply<Job: Codable & Sendable>: Codable, Sendable {
    public var ok = true
    public var jobs: [Job]
    public init(jobs: [Job]) { self.jobs = jobs }
}

/// JSON answers of the control socket: one line, sorted keys.
public enum ControlJSON {
    public static func encode(_ reply: some Encodable) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(reply)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"error":"encoding failed","ok":false}"#
    }

    public static func failure(_ error: String) -> String { encode(ControlFailure(error)) }
}
