import FFRTMPModel
import FFRTMPWire
import FoundationEssentials

/// The master's decisions as pure functions over rows, shared by every store.
enum JobRules {
    static func now() -> Int64 { Clock.realtimeNanoseconds() / 1_000_000 }

    static func iso(_ ms: Int64) -> String { Clock.iso8601(unixNanoseconds: ms * 1_000_000) }

    static func encode<T: Encodable>(_ v: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? e.encode(v)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ t: T.Type, _ s: String) -> T? {
        try? JSONDecoder().decode(t, from: Data(s.utf8))
    }

    static func newRow(_ job: NewJob, now: Int64) throws -> JobRow {
        let j = try job.validated()
        let id = j.id ?? JobID.generate(now: now * 1_000_000).value
        return JobRow(id: id, engine: (j.engine ?? .auto).rawValue, parameters: encode(j.parameters ?? .object([:])),
                      wrapperEnabled: j.wrapperEnabled, wrapperConstraints: j.wrapperConstraints.map { encode($0) },
                      status: MasterJobStatus.queued.rawValue, nodeID: nil, attempt: 0, cancelRequested: false,
                      createdMs: now, updatedMs: now, result: nil, platformSLA: nil, platformSLAReason: nil, failureReason: nil)
    }

    static func job(_ r: JobRow) -> MasterJob {
        MasterJob(id: r.id, engine: Engine(rawValue: r.engine) ?? .auto, parameters: decode(JSONValue.self, r.parameters) ?? .object([:]),
                  wrapperEnabled: r.wrapperEnabled, wrapperConstraints: r.wrapperConstraints.flatMap { decode(WireConstraints.self, $0) },
                  status: MasterJobStatus(rawValue: r.status) ?? .unknown, nodeID: r.nodeID, attempt: r.attempt,
                  cancelRequested: r.cancelRequested, createdAt: iso(r.createdMs), updatedAt: iso(r.updatedMs),
                  result: r.result.flatMap { decode(JSONValue.self, $0) }, platformSLA: r.platformSLA,
                  platformSLAReason: r.platformSLAReason, failureReason: r.failureReason)
    }

    static func node(_ r: NodeRow) -> Node {
        Node(id: r.id, hostname: r.hostname, status: NodeStatus(rawValue: r.status) ?? .lost, wrapperEnabled: r.wrapperEnabled,
             registeredAt: iso(r.registeredMs), lastSeen: iso(r.lastSeenMs), runningJobs: decode([String].self, r.runningJobs) ?? [])
    }

    static func status(_ r: JobRow) -> MasterJobStatus { MasterJobStatus(rawValue: r.status) ?? .unknown }

    /// Queued or retrying jobs end at once; jobs on a node get a cancel request that the
    /// node's next heartbeat carries; the node reports the real end with its result.
    static func cancel(_ r: JobRow, now: Int64) throws -> JobRow {
        var r = r
        let s = status(r)
        switch s {
        case .queued, .retrying:
            r.status = MasterJobStatus.canceled.rawValue
        case .assigned, .running, .unknown:
            r.cancelRequested = true
        default:
            throw WireError.invalidTransition(job: r.id, from: s, to: .canceled)
        }
        r.updatedMs = now
        return r
    }

    static func assign(_ r: JobRow, to node: String, now: Int64) -> JobRow {
        var r = r
        r.status = MasterJobStatus.assigned.rawValue
        r.nodeID = node
        r.attempt += 1
        r.updatedMs = now
        return r
    }

    /// Applies a result to its job. The attempt must be the job's current one and come from
    /// the node it was given to: a stale or foreign report must not overwrite the truth.
    static func apply(_ rep: JobResultReport, to r: JobRow, now: Int64) throws -> JobRow {
        guard rep.attempt == r.attempt else {
            throw WireError.conflict(reason: "result for attempt \(rep.attempt) of job \"\(r.id)\", whose current attempt is \(r.attempt)")
        }
        guard rep.nodeID == r.nodeID else {
            throw WireError.conflict(reason: "job \"\(r.id)\" is assigned to \(r.nodeID ?? "no node"), not \(rep.nodeID)")
        }
        try status(r).checkMove(to: rep.status, job: r.id)
        var r = r
        r.status = rep.status.rawValue
        r.platformSLA = rep.platformSLA
        r.platformSLAReason = rep.platformSLAReason
        r.failureReason = rep.failureReason
        r.result = encode(rep)
        r.updatedMs = now
        return r
    }

    /// A node says it runs these jobs: assigned or unknown ones of its own become running.
    static func reconcile(_ r: JobRow, node: String, now: Int64) -> JobRow? {
        guard r.nodeID == node, [.assigned, .unknown].contains(status(r)) else { return nil }
        var r = r
        r.status = MasterJobStatus.running.rawValue
        r.updatedMs = now
        return r
    }

    static func validateRunning(_ ids: [String]) throws -> [String] {
        guard ids.count <= 10_000 else { throw WireError.invalidField(field: "running_jobs", reason: "more than 10000 entries") }
        return try ids.enumerated().map { i, id in try WireValidation.jobID(id, field: "running_jobs[\(i)]") }
    }
}
