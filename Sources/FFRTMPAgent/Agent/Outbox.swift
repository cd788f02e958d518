import FFRTMPCore
import FFRTMPWire
import FoundationEssentials
import Glibc

/// Results waiting for the master, as files in the state dir: they survive agent restarts
/// and master outages. One file per (job_id, attempt), created once (link-if-absent), so a
/// result is never queued twice; the master dedupes on the same key, so a resend after a
/// crash between "sent" and "marked" is harmless.
public struct Outbox: Sendable {
    public let dir: String
    var delivered: String { dir + "/delivered" }

    public init(stateDir: String) throws {
        dir = stateDir + "/outbox"
        try FileIO.mkdirs(dir + "/delivered", mode: 0o750)
        try FileIO.mkdirs(dir + "/rejected", mode: 0o750)
    }

    var rejected: String { dir + "/rejected" }

    /// The id came from the network: it is validated before it becomes a file name.
    static func name(_ r: JobResultReport) throws -> String { "\(try WireValidation.jobID(r.jobID)).\(r.attempt).json" }

    /// Queues a result; false when this (job, attempt) was already queued or delivered.
    @discardableResult
    public func enqueue(_ r: JobResultReport) throws -> Bool {
        let n = try Self.name(r)
        if FileIO.exists(delivered + "/" + n) { return false }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try FileIO.createAtomically(dir + "/" + n, String(decoding: try e.encode(r), as: UTF8.self))
    }

    public func contains(jobID: String, attempt: Int) -> Bool {
        let n = "\(jobID).\(attempt).json"
        return FileIO.exists(dir + "/" + n) || FileIO.exists(delivered + "/" + n)
    }

    public func pending() -> [(file: String, report: JobResultReport)] {
        FileIO.listDirectory(dir).filter { $0.hasSuffix(".json") }.sorted().compactMap { f in
            guard let t = FileIO.readIfExists(dir + "/" + f),
                  let r = try? JSONDecoder().decode(JobResultReport.self, from: Data(t.utf8)) else { return nil }
            return (f, r)
        }
    }

    public func markDelivered(_ file: String) throws {
        if rename(dir + "/" + file, delivered + "/" + file) != 0 {
            throw FFRTMPError.io(path: dir + "/" + file, operation: "move to delivered", errno: errno)
        }
    }

    /// A result the master will never take (stale attempt, unknown job, bad body): kept aside
    /// for an operator, out of the queue, and counted, never silently dropped.
    public func markRejected(_ file: String) throws {
        if rename(dir + "/" + file, rejected + "/" + file) != 0 {
            throw FFRTMPError.io(path: dir + "/" + file, operation: "move to rejected", errno: errno)
        }
    }

    public var depth: Int { FileIO.listDirectory(dir).filter { $0.hasSuffix(".json") }.count }
}
