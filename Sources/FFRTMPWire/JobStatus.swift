/// A master-side job's lifecycle. `unknown`: its node stopped heartbeating while the job ran;
/// an edge job keeps running without its link, so it is reconciled, not requeued.
public enum MasterJobStatus: String, Codable, Sendable, CaseIterable {
    case queued, assigned, running, completed, failed, timedOut = "timed_out", canceled, retrying, rejected, unknown

    public var isTerminal: Bool { [.completed, .failed, .timedOut, .canceled, .rejected].contains(self) }

    /// Every allowed move. Anything else is refused with 409 and the reason.
    static let allowed: [MasterJobStatus: Set<MasterJobStatus>] = [
        .queued: [.assigned, .canceled, .rejected],
        .assigned: [.running, .queued, .completed, .failed, .timedOut, .canceled, .unknown, .retrying],
        .running: [.completed, .failed, .timedOut, .canceled, .unknown, .retrying],
        .retrying: [.queued, .assigned, .canceled],
        .unknown: [.running, .completed, .failed, .timedOut, .canceled],
        .completed: [], .failed: [], .timedOut: [], .canceled: [], .rejected: [],
    ]

    public func canMove(to next: MasterJobStatus) -> Bool {
        Self.allowed[self]?.contains(next) ?? false
    }

    /// Throws `WireError.invalidTransition` naming both states.
    public func checkMove(to next: MasterJobStatus, job: String) throws {
        guard canMove(to: next) else {
            throw WireError.invalidTransition(job: job, from: self, to: next)
        }
    }
}

/// Errors the API maps to HTTP statuses; each names the field or the state involved.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidField(field: String, reason: String)      // 400
    case notFound(what: String, id: String)               // 404
    case conflict(reason: String)                         // 409
    case invalidTransition(job: String, from: MasterJobStatus, to: MasterJobStatus)  // 409

    public var description: String {
        switch self {
        case let .invalidField(field, reason): return "invalid \(field): \(reason)"
        case let .notFound(what, id): return "no \(what) \"\(id)\""
        case let .conflict(reason): return reason
        case let .invalidTransition(job, from, to):
            return "job \"\(job)\" cannot go from \(from.rawValue) to \(to.rawValue)"
        }
    }
}
