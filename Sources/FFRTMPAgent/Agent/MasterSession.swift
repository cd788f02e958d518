import Dispatch
import FFRTMPCore
import FFRTMPWire
import FoundationEssentials
import Glibc
import Logging
import Synchronization

/// The agent's side of the master protocol, off the agent's loop: registration and heartbeats,
/// polls, and result delivery from the outbox run as three tasks of their own (Swift
/// concurrency), so a master that hangs, black-holes or drips can never stall the loop, its
/// control socket or its systemd watchdog, and a slow delivery never delays a heartbeat.
///
/// The loop and the session meet in `exchange`, once per loop pass: the loop says what it
/// runs and how many slots are free; it takes the jobs and cancels the master sent.
public final class MasterSession: Sendable {
    /// What the loop tells the session on every pass.
    public struct View: Sendable, Equatable {
        public var running: [String]
        public var freeSlots: Int
        public var wrapperEnabled: Bool
        public var heartbeatInterval: Double
        public var pollInterval: Double
        /// POLL_RESERVE_MB in bytes: polls wait while the state dir has less room than this.
        public var pollReserveBytes: UInt64
    }

    struct State {
        var view: View
        var jobs: [MasterJob] = []
        var cancels: [String] = []
        var registered = false
    }

    let state: Mutex<State>
    let transport: MasterTransport
    let nodeID: String
    let outbox: Outbox
    let metrics: AgentMetrics
    let logger: Logger
    let task = Mutex<Task<Void, Never>?>(nil)
    /// The state dir, whose free space gates polls.
    let stateDir: String
    /// Written to when a job or a cancel is handed over: wakes the loop (non-blocking pipe).
    let wakeFD: Int32

    init(transport: MasterTransport, nodeID: String, outbox: Outbox, stateDir: String, wakeFD: Int32, metrics: AgentMetrics,
         logger: Logger, view: View) {
        self.stateDir = stateDir
        self.wakeFD = wakeFD
        self.transport = transport
        self.nodeID = nodeID
        self.outbox = outbox
        self.metrics = metrics
        self.logger = logger
        state = Mutex(State(view: view))
    }

    var registered: Bool { state.withLock { $0.registered } }

    /// The loop's side, once per pass: hands over the jobs and cancels that came in, and takes
    /// the loop's view. The jobs handed over now are not running yet: they are counted against
    /// the free slots here, so the poll task never takes more than the node can run.
    func exchange(_ view: View) -> (jobs: [MasterJob], cancels: [String]) {
        state.withLock { s in
            let out = (s.jobs, s.cancels)
            s.jobs = []
            s.cancels = []
            s.view = view
            s.view.freeSlots -= out.0.count
            return out
        }
    }

    func start() {
        let t = Task.detached { [self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.heartbeats() }
                group.addTask { await self.polls() }
                group.addTask { await self.deliveries() }
            }
        }
        task.withLock { $0 = t }
    }

    /// Stops the three tasks (a call in flight is cancelled), then makes one last delivery
    /// attempt bounded by `flushWithin` seconds. Blocks the calling thread (the loop, at
    /// SIGTERM): the agent exits after.
    func stop(flushWithin seconds: Double) {
        let done = DispatchSemaphore(value: 0)
        let t = task.withLock { $0 }
        Task.detached { [self] in
            t?.cancel()
            await t?.value
            _ = await deliverPending(quiet: true)
            done.signal()
        }
        if done.wait(timeout: .now() + seconds) == .timedOut {
            logger.warning("results still queued at stop: the master did not take them within \(seconds) s (they are sent after the restart)")
        }
    }

    // MARK: the three tasks

    func heartbeats() async {
        while !Task.isCancelled {
            let v = state.withLock { $0.view }
            if !registered {
                if await register(v) { continue }
            } else {
                await heartbeat(v)
            }
            await Self.sleep(v.heartbeatInterval)
        }
    }

    func polls() async {
        var backoff = 0.0
        var warnedFull: Int64 = 0
        while !Task.isCancelled {
            let (v, ready) = state.withLock { s in (s.view, s.registered && s.jobs.isEmpty && s.view.freeSlots > 0) }
            guard ready else {
                await Self.sleep(min(0.05, v.pollInterval))
                continue
            }
            // A job taken without room to journal it would stay assigned at the master: wait
            // for room instead (warned once a minute).
            if let free = Sys.freeBytes(stateDir), free < v.pollReserveBytes {
                let now = Clock.monotonicNanoseconds()
                if now - warnedFull > 60_000_000_000 || warnedFull == 0 {
                    warnedFull = now
                    logger.warning("not polling: the state dir \(stateDir) has \(free >> 20) MiB free, below POLL_RESERVE_MB=\(v.pollReserveBytes >> 20)")
                }
                await Self.sleep(max(1, v.pollInterval))
                continue
            }
            if await poll() {
                backoff = 0
                await Self.sleep(v.pollInterval)
            } else {
                // An outage: back off (to 30 s) rather than warn ten times a second.
                backoff = min(30, max(v.pollInterval, backoff * 2))
                await Self.sleep(backoff * Double.random(in: 0.8...1.2))
            }
        }
    }

    func deliveries() async {
        var backoff = 0.5
        while !Task.isCancelled {
            switch await deliverPending(quiet: false) {
            case .idle:
                await Self.sleep(0.25)
            case .delivered:
                backoff = 0.5
            case .failed:
                backoff = min(30, backoff * 2)
                await Self.sleep(backoff * Double.random(in: 0.8...1.2))
            }
        }
    }

    // MARK: one call each

    /// True when registered.
    func register(_ v: View) async -> Bool {
        let body = NodeRegistration(nodeID: nodeID, hostname: nodeID, wrapperEnabled: v.wrapperEnabled, runningJobs: v.running)
        do {
            let (status, data) = try await transport.call("POST", "/api/nodes/register", body: try JSONEncoder().encode(body))
            guard (200..<300).contains(status) else {
                throw MasterRefusal(status: status, message: MasterAnswer.message(data))
            }
            state.withLock { $0.registered = true }
            logger.info("registered with \(transport.baseURL)")
            return true
        } catch {
            // Retried once per heartbeat interval: a wrong key or a master that is down must not
            // cost ten requests (and log lines) a second.
            metrics.heartbeatFailures.increment()
            logger.warning("register failed (will retry in \(v.heartbeatInterval) s): \(error)")
            return false
        }
    }

    func heartbeat(_ v: View) async {
        do {
            let (status, data) = try await transport.call("POST", "/api/nodes/\(nodeID)/heartbeat",
                                                          body: try JSONEncoder().encode(Heartbeat(runningJobs: v.running)))
            if status == 404 {
                state.withLock { $0.registered = false }
                return
            }
            guard (200..<300).contains(status) else { throw MasterRefusal(status: status, message: MasterAnswer.message(data)) }
            let reply = try JSONDecoder().decode(HeartbeatReply.self, from: data)
            if !reply.cancel.isEmpty {
                state.withLock { $0.cancels += reply.cancel }
                wakeLoop()
            }
        } catch {
            metrics.heartbeatFailures.increment()
            logger.warning("heartbeat failed: \(error)")
        }
    }

    /// True when the master answered (with a job or with none).
    func poll() async -> Bool {
        do {
            let (status, data) = try await transport.call("GET", "/api/jobs/next?node_id=\(nodeID)", body: nil)
            if status == 204 { return true }
            guard status == 200 else { throw MasterRefusal(status: status, message: MasterAnswer.message(data)) }
            let job = try JSONDecoder().decode(MasterJob.self, from: data)
            state.withLock { s in
                s.jobs.append(job)
                s.view.freeSlots -= 1
            }
            wakeLoop()
            return true
        } catch {
            logger.warning("poll failed: \(error)")
            return false
        }
    }

    enum Delivery { case idle, delivered, failed }

    /// Sends queued results, oldest first; stops at the first failure.
    func deliverPending(quiet: Bool) async -> Delivery {
        var sent = false
        for (file, report) in outbox.pending() {
            if Task.isCancelled && !quiet { return .failed }
            do {
                let (status, data) = try await transport.call("POST", "/api/results", body: try JSONEncoder().encode(report))
                if [400, 404, 409, 413].contains(status) {
                    // The master will never take this one (stale attempt, unknown job, bad body):
                    // set it aside and count it instead of blocking the queue or dropping it.
                    logger.error("result \(file) refused by the master (\(status)): \(MasterAnswer.message(data).prefix(200)); kept in outbox/rejected")
                    try outbox.markRejected(file)
                    metrics.rejected.increment()
                    continue
                }
                if (200..<300).contains(status) {
                    try outbox.markDelivered(file)
                    metrics.outbox.set(Double(outbox.depth))
                    sent = true
                    continue
                }
                logger.warning("result \(file): master answered \(status): \(MasterAnswer.message(data).prefix(200))")
            } catch {
                if !quiet { logger.warning("delivering \(file) failed (will retry): \(error)") }
            }
            return .failed
        }
        return sent ? .delivered : .idle
    }

    /// One byte: a full pipe (EAGAIN) already holds a wake-up, which is all that is needed.
    func wakeLoop() {
        var b: UInt8 = 1
        _ = write(wakeFD, &b, 1)
    }

    /// The loop's side: empties the wake pipe (non-blocking).
    static func drain(_ fd: Int32) {
        var buf = [UInt8](repeating: 0, count: 64)
        while read(fd, &buf, buf.count) > 0 {}
    }

    static func sleep(_ seconds: Double) async {
        // Cancellation ends the sleep early; the loops then see Task.isCancelled.
        try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
    }
}

/// An answer the master gave that is not the one asked for: status and message.
struct MasterRefusal: Error, CustomStringConvertible {
    var status: Int
    var message: String
    var description: String { "master answered \(status): \(message.prefix(300))" }
}
