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
        /// Master job ids running under this NODE_ID, and the attempt of each.
        public var running: [String]
        public var attempts: [String: Int] = [:]
        /// Jobs still running under the node id they were dispatched to, from before NODE_ID
        /// changed: heartbeated (and their cancels taken) under that id.
        public var otherNodes: [String: [String]] = [:]
        public var freeSlots: Int
        public var wrapperEnabled: Bool
        public var heartbeatInterval: Double
        public var pollInterval: Double
        /// POLL_RESERVE_MB in bytes: polls wait while the state dir has less room than this.
        public var pollReserveBytes: UInt64
    }

    /// A job the master assigned, to be started before `startBy` (monotonic ns): after that its
    /// lease may have ended and the master may have given the job to another node as a new attempt.
    struct Dispatched: Sendable {
        var job: MasterJob
        var startBy: Int64
    }

    struct State {
        var view: View
        var jobs: [Dispatched] = []
        var cancels: [String] = []
        var registered = false
        /// Jobs listed in the last heartbeat the master took; a new one sends a heartbeat at once
        /// (it acknowledges the start, within the lease).
        var acknowledged: Set<String> = []
        var beatNow = false
        /// A heartbeat reply said a job waits in the queue: ends an idle poll wait.
        var pollNow = false
        /// Attempts the loop could not start, to hand back to the master (until their lease ends).
        var releases: [(JobRelease, until: Int64)] = []
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
    /// AgentInstance.id: sent with register and heartbeat.
    let instanceID: String
    let hostname: String

    init(transport: MasterTransport, nodeID: String, outbox: Outbox, stateDir: String, wakeFD: Int32, metrics: AgentMetrics,
         logger: Logger, view: View, instanceID: String, hostname: String) {
        self.instanceID = instanceID
        self.hostname = hostname
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
    func exchange(_ view: View) -> (jobs: [Dispatched], cancels: [String]) {
        state.withLock { s in
            let out = (s.jobs, s.cancels)
            s.jobs = []
            s.cancels = []
            s.view = view
            s.view.freeSlots -= out.0.count
            if !Set(view.running).isSubset(of: s.acknowledged) { s.beatNow = true }
            return out
        }
    }

    /// The loop's side: an attempt it took but will not start goes back to the master now (the
    /// lease would requeue it anyway, later). Sent by the heartbeat task, until 10 s past the
    /// attempt's start deadline (by then the lease has ended and the master requeued it).
    func release(_ job: MasterJob, reason: String, startBy: Int64) {
        let until = startBy > .max - 10_000_000_000 ? .max : startBy + 10_000_000_000
        state.withLock { s in
            s.releases.append((JobRelease(jobID: job.id, attempt: job.attempt, reason: String(reason.prefix(900))), until: until))
            s.beatNow = true
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
            let v = state.withLock { s in
                s.beatNow = false
                return s.view
            }
            if !registered {
                if await register(v) { continue }
            } else {
                await sendReleases()
                await heartbeat(v)
            }
            // A job started (or one to release) sends the next heartbeat now, not at the interval's end.
            let until = Clock.monotonicNanoseconds() + Int64(v.heartbeatInterval * 1e9)
            while !Task.isCancelled, Clock.monotonicNanoseconds() < until, !state.withLock({ $0.beatNow && $0.registered }) {
                await Self.sleep(min(0.05, v.heartbeatInterval))
            }
        }
    }

    func polls() async {
        var backoff = 0.0
        // Kept until an answer arrives: a poll whose answer was lost is repeated with it, and the
        // master then returns the jobs it already assigned to it rather than new ones.
        var request: String?
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
            let id = request ?? Self.requestID()
            request = id
            state.withLock { $0.pollNow = false }
            let (answered, ok, delay) = await poll(requestID: id, max: min(v.freeSlots, PollRequest.maxJobs), lease: v)
            if answered { request = nil }
            if ok {
                backoff = 0
                // An empty answer may ask for a longer, idle pace (PollAnswer.nextPollDelay); a
                // heartbeat reply saying work is queued ends it.
                let until = Clock.monotonicNanoseconds() + Int64(delay * 1e9)
                await Self.sleep(min(delay, v.pollInterval))
                while !Task.isCancelled, Clock.monotonicNanoseconds() < until, !state.withLock({ $0.pollNow }) {
                    await Self.sleep(min(0.05, v.pollInterval))
                }
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
        let body = NodeRegistration(nodeID: nodeID, hostname: hostname, wrapperEnabled: v.wrapperEnabled, runningJobs: v.running,
                                    instanceID: instanceID, heartbeatIntervalSeconds: v.heartbeatInterval)
        do {
            let (status, data) = try await transport.call("POST", "/api/nodes/register", body: try JSONEncoder().encode(body))
            if status == 409 {
                // Another box runs this NODE_ID: stay out of dispatch (no polls) and say so plainly.
                metrics.heartbeatFailures.increment()
                logger.error("register refused: another live agent already uses NODE_ID=\(nodeID); this agent takes no jobs until it is gone (retrying every \(v.heartbeatInterval) s): \(MasterAnswer.message(data).prefix(400))")
                return false
            }
            guard (200..<300).contains(status) else {
                throw MasterRefusal(status: status, message: MasterAnswer.message(data))
            }
            let node = try JSONDecoder().decode(Node.self, from: data)
            if let lost = node.nodeLostAfterSeconds, v.heartbeatInterval >= lost {
                metrics.heartbeatFailures.increment()
                logger.error("HEARTBEAT_INTERVAL=\(v.heartbeatInterval) is not below the master's --node-lost-after=\(lost): the node would be marked lost between heartbeats; this agent takes no jobs until HEARTBEAT_INTERVAL is lowered")
                return false
            }
            state.withLock { $0.registered = true }
            logger.info("registered with \(transport.baseURL)\(node.dispatchLeaseSeconds.map { " (dispatch lease \($0) s)" } ?? "")")
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
        let own = Heartbeat(runningJobs: v.running, attempts: v.attempts, instanceID: instanceID)
        guard await beat(nodeID, own) else { return }
        state.withLock { $0.acknowledged = Set(v.running) }
        // Jobs dispatched under an earlier NODE_ID: their heartbeats (and cancels) go to that id.
        for (old, jobs) in v.otherNodes.sorted(by: { $0.key < $1.key }) {
            _ = await beat(old, Heartbeat(runningJobs: jobs, attempts: v.attempts.filter { jobs.contains($0.key) }, instanceID: instanceID))
        }
    }

    /// One heartbeat for `node`; true when the master took it.
    func beat(_ node: String, _ hb: Heartbeat) async -> Bool {
        do {
            let (status, data) = try await transport.call("POST", "/api/nodes/\(node)/heartbeat", body: try JSONEncoder().encode(hb))
            if node == nodeID, status == 404 || status == 409 {
                // Unknown to the master (a new database), or another instance registered since:
                // register again (which a live other instance makes a 409).
                if status == 409 { logger.error("heartbeat refused: \(MasterAnswer.message(data).prefix(300))") }
                state.withLock { $0.registered = false }
                return false
            }
            guard (200..<300).contains(status) else { throw MasterRefusal(status: status, message: MasterAnswer.message(data)) }
            let reply = try JSONDecoder().decode(HeartbeatReply.self, from: data)
            if node == nodeID, reply.workQueued == true { state.withLock { $0.pollNow = true } }
            if !reply.cancel.isEmpty {
                state.withLock { $0.cancels += reply.cancel }
                wakeLoop()
            }
            return true
        } catch {
            metrics.heartbeatFailures.increment()
            logger.warning("heartbeat\(node == nodeID ? "" : " for earlier node id \(node)") failed: \(error)")
            return false
        }
    }

    /// Hands back the attempts the loop could not start; one whose lease has ended is dropped
    /// (the master has requeued it by then).
    func sendReleases() async {
        let now = Clock.monotonicNanoseconds()
        let pending = state.withLock { s in
            s.releases.removeAll { $0.until < now }
            return s.releases
        }
        for (rel, _) in pending {
            do {
                let (status, data) = try await transport.call("POST", "/api/nodes/\(nodeID)/release", body: try JSONEncoder().encode(rel))
                // 409: the master no longer holds it as this node's assignment (the lease ended): done too.
                guard (200..<300).contains(status) || status == 409 || status == 404 else {
                    throw MasterRefusal(status: status, message: MasterAnswer.message(data))
                }
                logger.info("job \(rel.jobID) attempt \(rel.attempt) handed back to the master\(status == 409 ? " (it had requeued it already)" : "")")
                state.withLock { s in s.releases.removeAll { $0.0 == rel } }
            } catch {
                logger.warning("release of job \(rel.jobID) attempt \(rel.attempt) failed (retried until its lease ends): \(error)")
                return
            }
        }
    }

    /// One poll. `answered`: the master answered it (the request id is spent); `ok`: not an
    /// outage (backoff).
    /// `delay`: seconds until the next poll, when the answer came.
    func poll(requestID: String, max: Int, lease v: View) async -> (answered: Bool, ok: Bool, delay: Double) {
        let sent = Clock.monotonicNanoseconds()
        do {
            let body = try JSONEncoder().encode(PollRequest(requestID: requestID, max: max))
            let (status, data) = try await transport.call("POST", "/api/nodes/\(nodeID)/poll", body: body)
            if status == 404 || status == 409 {
                state.withLock { $0.registered = false }
                return (true, true, v.pollInterval)
            }
            if status >= 500 { throw MasterRefusal(status: status, message: MasterAnswer.message(data)) }
            guard status == 200 else {
                logger.warning("poll refused: \(MasterRefusal(status: status, message: MasterAnswer.message(data)))")
                return (true, false, v.pollInterval)
            }
            let answer = try JSONDecoder().decode(PollAnswer.self, from: data)
            let delay = answer.nextPollDelay(base: v.pollInterval, jitter: Double.random(in: 0...1))
            guard !answer.jobs.isEmpty else { return (true, true, delay) }
            // Started only within 80% of the lease (counted from when this poll was sent, before
            // the master set the lease): the rest is for the heartbeat that acknowledges it.
            let startBy = sent + Int64(answer.leaseSeconds * 0.8 * 1e9)
            state.withLock { s in
                s.jobs += answer.jobs.map { Dispatched(job: $0, startBy: startBy) }
                s.view.freeSlots -= answer.jobs.count
            }
            wakeLoop()
            return (true, true, delay)
        } catch {
            // No answer (or a 5xx): the same request id is polled again, so a job the master
            // assigned meanwhile comes back rather than waiting out its lease.
            logger.warning("poll failed: \(error)")
            return (false, false, v.pollInterval)
        }
    }

    /// A fresh poll request id: 32 random hex digits.
    static func requestID() -> String { AgentInstance.randomHex(words: 2) }

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
