import Logging
import ServiceLifecycle

/// Marks nodes that missed their heartbeats lost, and their running jobs `unknown`
/// (not requeued: an edge job keeps running without its link); requeues assignments whose
/// lease ended unacknowledged (they never started).
public struct NodeLivenessService: Service {
    let store: JobStore
    let lostAfter: Double
    let lease: Double
    let logger: Logger

    public init(store: JobStore, lostAfterSeconds: Double, leaseSeconds: Double = 30, logger: Logger) {
        self.store = store
        self.lostAfter = lostAfterSeconds
        self.lease = leaseSeconds
        self.logger = logger
    }

    public func run() async throws {
        let period = max(0.2, min(lostAfter, lease) / 4)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let (nodes, jobs) = try await store.sweep(lostAfterSeconds: lostAfter)
                if nodes > 0 { logger.warning("nodes lost", metadata: ["nodes": "\(nodes)", "jobs_unknown": "\(jobs)"]) }
                let requeued = try await store.expireLeases()
                if !requeued.isEmpty {
                    logger.warning("assignments not acknowledged within the \(lease) s lease: requeued as new attempts", metadata: ["jobs": "\(requeued.prefix(20).joined(separator: ","))", "count": "\(requeued.count)"])
                }
            } catch {
                logger.error("liveness sweep failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(period * 1000))) }
        }
    }
}
