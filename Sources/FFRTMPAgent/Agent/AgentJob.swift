import FFRTMPCore
import FFRTMPWire
import FoundationEssentials

/// jobs/<id>/agent.json: which master job and attempt a journal job runs, and on which path.
/// With it, a restarted agent knows what to report for every job it finds.
public struct AgentJob: Codable, Equatable, Sendable {
    public var masterJobID: String
    public var attempt: Int
    public var path: ExecutionPath
    public var wrapperEnabled: Bool?
    /// The node the master gave this attempt to: results always name it, even if NODE_ID changes later.
    public var nodeID: String?

    enum CodingKeys: String, CodingKey {
        case masterJobID = "master_job_id", attempt, path, wrapperEnabled = "wrapper_enabled", nodeID = "node_id"
    }

    /// The journal id of one attempt: attempts of one master job never share a directory.
    public static func journalID(_ masterID: String, attempt: Int) throws -> JobID {
        let id = try WireValidation.jobID(masterID)
        guard id.count > 100 else { return try JobID("\(id).a\(attempt)") }
        // Long ids keep a prefix for people and a hash of the whole id for uniqueness.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        return try JobID("\(id.prefix(90))-\(String(repeating: "0", count: 16 - hex.count) + hex).a\(attempt)")
    }

    public static func read(_ journal: JobJournal, _ id: JobID) -> AgentJob? {
        FileIO.readIfExists(journal.file(id, "agent.json"), noFollow: true).flatMap { try? JSONDecoder().decode(AgentJob.self, from: Data($0.utf8)) }
    }

    public func write(_ journal: JobJournal, _ id: JobID) throws {
        try FileIO.writeAtomically(journal.file(id, "agent.json"), String(decoding: try JSONEncoder().encode(self), as: UTF8.self))
    }

    /// The master's result from the journal's outcome (DESIGN.md: metrics and analyzer_output).
    public func report(_ r: JobResult, nodeID: String) -> JobResultReport {
        let status: MasterJobStatus
        if r.timedOut { status = .timedOut }
        else if r.killedBy != nil { status = .canceled }
        else if r.exitCode == 0 { status = .completed }
        else { status = .failed }
        var failure: String?
        if status == .failed {
            failure = r.platformSLA == false ? "platform_error"
                : r.outputLimitExceeded ? "resource_error" : (r.error != nil ? "user_error" : "workload_error")
        }
        func n(_ v: Double?) -> JSONValue { v.map { .number($0) } ?? .null }
        let metrics: JSONValue = .object([
            "exec_duration": n(r.durationSeconds), "wrapper_enabled": .bool(path == .wrapper),
            "platform_sla": r.platformSLA.map { .bool($0) } ?? .null, "exit_code": n(r.exitCode.map { Double($0) }),
            "pid": n(r.pid.map { Double($0) }), "cpu_seconds": n(r.cpuSeconds), "peak_memory_bytes": n(r.peakMemoryBytes.map { Double($0) }),
            "oom_killed": .bool(r.oomKilled), "governance": .string(path == .wrapper ? r.governance.rawValue : "none"),
        ])
        let analyzer: JSONValue = .object(["status": .string(status.rawValue), "wrapper": .bool(path == .wrapper),
                                           "platform_sla": r.platformSLA.map { .bool($0) } ?? .null])
        let full = (try? JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(r))) ?? .null
        return JobResultReport(jobID: masterJobID, attempt: attempt, nodeID: self.nodeID ?? nodeID, status: status, platformSLA: r.platformSLA,
                               platformSLAReason: r.platformSLAReason, failureReason: failure, metrics: metrics,
                               analyzerOutput: analyzer, result: full)
    }
}
