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

    /// --dispatch-lease's default: 30 s.
    public static let defaultLeaseMs: Int64 = 30_000

    static func assign(_ r: JobRow, to node: String, now: Int64, request: String?, leaseMs: Int64) -> JobRow {
        var r = r
        r.status = MasterJobStatus.assigned.rawValue
        r.nodeID = node
        r.attempt += 1
        r.updatedMs = now
        r.leaseUntilMs = now + leaseMs
        r.dispatchRequest = request
        return r
    }

    /// An assignment whose lease ran out (or that its node released) goes back to the queue; the
    /// next dispatch is attempt + 1, so the old attempt's result can never land (409). A cancel
    /// that came in meanwhile ends it instead: it never started.
    static func requeue(_ r: JobRow, now: Int64, why: String) -> JobRow {
        var r = r
        if r.cancelRequested {
            r.status = MasterJobStatus.canceled.rawValue
            r.failureReason = "canceled before it started (\(why))"
        } else {
            r.status = MasterJobStatus.queued.rawValue
            r.nodeID = nil
        }
        r.leaseUntilMs = nil
        r.dispatchRequest = nil
        r.updatedMs = now
        return r
    }

    /// A node's release of an attempt it took but could not start.
    static func release(_ rel: JobRelease, of r: JobRow, by node: String, now: Int64) throws -> JobRow {
        guard r.nodeID == node, rel.attempt == r.attempt, status(r) == .assigned else {
            throw WireError.conflict(reason: "job \"\(r.id)\" attempt \(rel.attempt) is not an unstarted assignment of node \(node) (it is \(r.status), attempt \(r.attempt), node \(r.nodeID ?? "none"))")
        }
        return requeue(r, now: now, why: "released by \(node)")
    }

    /// SQL condition for an assigned job whose lease has ended by `now` (rows assigned before
    /// leases existed count from their last change).
    /// A heartbeat reply's `work_queued`: is any job waiting. Written as min() so PostgreSQL
    /// reads the first entry of the queue index (`jobs_queued`) whatever its statistics say; an
    /// EXISTS was planned as a sequential scan of the whole table when few jobs were queued.
    static let workQueuedSQL = "(SELECT min(created_ms) FROM jobs WHERE status = 'queued') IS NOT NULL"

    static func leaseEndedSQL(nowParam: String) -> String {
        "status = 'assigned' AND COALESCE(lease_until_ms, updated_ms + \(defaultLeaseMs)) < \(nowParam)"
    }

    /// A second instance of one node id, while the first is live: refused, naming both boxes.
    static func checkInstance(node: String, existing: NodeRow?, instance: String?, hostname: String?, now: Int64, liveWithinMs: Int64) throws {
        guard let e = existing, let had = e.instanceID, let instance, had != instance,
              e.status == NodeStatus.online.rawValue, now - e.lastSeenMs < liveWithinMs else { return }
        throw WireError.conflict(reason: "node id \"\(node)\" is already live on host \(e.hostname ?? "?") (another agent instance, seen \((now - e.lastSeenMs) / 1000) s ago); this agent runs on host \(hostname ?? "?"). Give each box its own NODE_ID (a cloned image keeps the hostname); if the other box is gone, this clears after --node-lost-after")
    }

    /// A heartbeat from another instance than the one registered: that instance must register
    /// (and is refused while this one is live).
    static func checkBeat(node: String, existing: NodeRow, instance: String?) throws {
        guard let had = existing.instanceID, let instance, had != instance else { return }
        throw WireError.conflict(reason: "node id \"\(node)\" is registered by another agent instance (host \(existing.hostname ?? "?")): register again")
    }

    static func checkHeartbeatInterval(_ reg: NodeRegistration, lostAfterMs: Int64) throws {
        guard let h = reg.heartbeatIntervalSeconds, h * 1000 >= Double(lostAfterMs) else { return }
        throw WireError.invalidField(field: "heartbeat_interval_seconds", reason: "HEARTBEAT_INTERVAL=\(h) is not below the master's --node-lost-after=\(Double(lostAfterMs) / 1000): the node would be marked lost between its heartbeats; lower HEARTBEAT_INTERVAL (a third of --node-lost-after or less)")
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

    /// A node says it runs these jobs: assigned or unknown ones of its own become running (for
    /// an assigned one, that acknowledges the start and ends its lease). With `attempt` given,
    /// only that attempt is acknowledged: a stale attempt's listing changes nothing.
    static func reconcile(_ r: JobRow, node: String, attempt: Int?, now: Int64) -> JobRow? {
        guard r.nodeID == node, [.assigned, .unknown].contains(status(r)) else { return nil }
        if let a = attempt, a != r.attempt { return nil }
        var r = r
        r.status = MasterJobStatus.running.rawValue
        r.leaseUntilMs = nil
        r.dispatchRequest = nil
        r.updatedMs = now
        return r
    }

    static func validateRunning(_ ids: [String]) throws -> [String] {
        guard ids.count <= 10_000 else { throw WireError.invalidField(field: "running_jobs", reason: "more than 10000 entries") }
        return try ids.enumerated().map { i, id in try WireValidation.jobID(id, field: "running_jobs[\(i)]") }
    }
}
