import FFRTMPModel
import FoundationEssentials

// The agent's control-socket protocol (one JSON request line, one JSON answer line): in the
// wire model, so `ffrtmp ctl` and the console speak it without linking the agent.

/// A request from the console or the CLI on the agent's Unix socket: one JSON object per line.
public struct ControlRequest: Codable, Sendable {
    public var op: String
    public var job: String?
    public var enabled: Bool?
    public var pgid: Int32?
    public var durationSeconds: Double?
    public var cpuMax: String?
    public var memoryMaxMB: Int?

    public init(op: String, job: String? = nil, enabled: Bool? = nil, pgid: Int32? = nil, durationSeconds: Double? = nil,
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
}

/// JSON answers of the control socket.
public enum ControlJSON {
    public static func json(_ v: JSONValue) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"ok":false,"error":"encoding failed"}"#
    }
}
