import Logging
import ServiceLifecycle

/// Marks nodes that missed their heartbeats lost, and their running jobs `unknown`
/// (not requeued: an edge job keeps running without its link).
public struct NodeLivenessService: Service {
    let store: JobStore
    let lostAfter: Double
    let logger: Logger

    public init(store: JobStore, lostAfterSeconds: Double, logger: Logger) {
        self.store = store
        self.lostAfter = lostAfterSeconds
        self.logger = logger
    }

    public func run() async throws {
        let period = max(0.2, lostAfter / 4)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let (nodes, jobs) = try await store.sweep(lostAfterSeconds: lostAfter)
                if nodes > 0 { logger.warning("nodes lost", metadata: ["nodes": "\(nodes)", "jobs_unknown": "\(jobs)"]) }
            } catch {
                logger.error("liveness sweep failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(period * 1000))) }
        }
    }
}
