import ArgumentParser
import AsyncHTTPClient
import FFRTMPMasterClient
import FFRTMPModel
import FFRTMPWire
import Foundation
import Synchronization

/// N simulated edge nodes against one or more real masters, through the agent's own client
/// (MasterClient: the same requests, deadlines and errors), each with its own node key. Every
/// node registers, heartbeats every H seconds with its running jobs, polls when it has free
/// slots (claiming up to all of them in one round trip), "runs" each job for D seconds and
/// posts its result. It reports latency per route, dispatch throughput, jobs run exactly once,
/// lost or duplicated, and the CPU and memory of the processes it is told to watch, read from
/// /proc. The last line is the summary `scripts/bench/fleet-scale.sh` parses.
@main
struct FleetSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ffrtmp-fleet-sim", abstract: "Simulate a fleet of edge nodes against ffrtmp-master.")

    @Option(help: "A master's base URL (repeat for several: nodes are spread over them round-robin).") var master: [String]
    @Option(help: "File of 'NODE_ID KEY' lines (ffrtmp-master nodes add-fleet), mode 0600; one node per line, in order.") var keys: String
    @Option(help: "File holding the admin key (queues the jobs, reads the master's counts).") var adminKeyFile: String
    @Option(help: "Simulated nodes (at most the lines of --keys).") var nodes: Int
    @Option(help: "Seconds between a node's heartbeats.") var heartbeat: Double = 10
    @Option(help: "Seconds between a node's polls while it has a free slot.") var poll: Double = 2
    @Option(help: "Job slots per node (MAX_JOBS).") var slots: Int = 4
    @Option(help: "Seconds a job 'runs' before its result is posted.") var jobSeconds: Double = 5
    @Option(help: "Jobs queued before the nodes start.") var jobs: Int = 0
    @Option(help: "Jobs the caller already queued (e.g. in bulk, by SQL, for a dispatch saturation round): counted as --jobs, not submitted.") var prequeued: Int = 0
    @Option(help: "Seconds of load; then polling stops, running jobs finish and report.") var duration: Double = 30
    @Option(help: "Connections per master the nodes share.") var connections: Int = 64
    @Option(help: "NAME=PID of a process whose CPU and memory (with its descendants') to report, e.g. master1=4242 (repeatable).") var watch: [String] = []
    @Option(help: "A job id prefix, unique per run.") var prefix: String = "sim"
    @Option(help: "Seconds from the start after which latencies also count as steady state (the registrations and the first dispatch burst are over).") var warmup: Double = 20

    func run() async throws {
        guard prequeued >= 0, jobs >= 0, prequeued == 0 || jobs == 0 else { throw ValidationError("give --jobs or --prequeued, not both, and neither below 0") }
        guard nodes >= 1, !master.isEmpty else { throw ValidationError("--nodes must be at least 1 and --master given") }
        guard heartbeat > 0, poll > 0, slots >= 1, jobSeconds >= 0, duration > 0, connections >= 1 else {
            throw ValidationError("--heartbeat, --poll and --duration must be above 0, --slots and --connections at least 1, --job-seconds not negative")
        }
        let lines = try String(contentsOfFile: keys, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        guard lines.count >= nodes, lines.prefix(nodes).allSatisfy({ $0.count == 2 }) else {
            throw ValidationError("--keys \(keys) has \(lines.count) lines; \(nodes) 'NODE_ID KEY' lines are needed")
        }
        let admin = try String(contentsOfFile: adminKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let watched = try watch.map { w -> (String, Int32) in
            let p = w.split(separator: "=")
            guard p.count == 2, let pid = Int32(p[1]) else { throw ValidationError("--watch \(w): expected NAME=PID") }
            return (String(p[0]), pid)
        }
        var config = try MasterClient.configuration()
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        let pools = master.map { _ in HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config) }
        do {
            try await simulate(lines: lines, admin: admin, watched: watched, pools: pools)
        } catch {
            for p in pools { try? await p.shutdown() }
            throw error
        }
        for p in pools { try await p.shutdown() }
    }

    func simulate(lines: [[String]], admin: String, watched: [(String, Int32)], pools: [HTTPClient]) async throws {
        let adminClients = try master.enumerated().map { try MasterClient(baseURL: $0.element, key: admin, sharing: pools[$0.offset]) }
        let stats = Stats()

        // Queue the jobs, 64 at a time over the first master.
        let queued0 = Clock.monotonicNanoseconds()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                guard next < jobs else { return }
                let id = "\(prefix)-\(next)"
                next += 1
                group.addTask {
                    let job = NewJob(id: id, engine: .ffmpeg, parameters: .object(["input": .string("testsrc"), "duration_seconds": .number(1)]))
                    _ = try await adminClients[0].submit(job)
                }
            }
            for _ in 0..<min(64, jobs) { add() }
            while try await group.next() != nil { add() }
        }
        let queueSeconds = Double(Clock.monotonicNanoseconds() - queued0) / 1e9
        // The simulator itself shares the box's cores with what it measures: it is reported too.
        let watched = watched + [("fleet-sim", getpid())]
        let before = watched.map { ($0.0, ProcUsage.read($0.1)) }

        let start = Clock.monotonicNanoseconds()
        let stopPolling = start + Int64(duration * 1e9)
        stats.steady(from: start + Int64(warmup * 1e9), until: stopPolling)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<nodes {
                let node = SimNode(id: lines[i][0], client: try MasterClient(baseURL: master[i % master.count], key: lines[i][1], sharing: pools[i % master.count]),
                                   heartbeat: heartbeat, poll: poll, slots: slots, jobSeconds: jobSeconds, stats: stats)
                group.addTask { await node.run(start: start, stopPolling: stopPolling) }
            }
            try await group.waitForAll()
        }
        let wall = Double(Clock.monotonicNanoseconds() - start) / 1e9
        let after = watched.map { ($0.0, ProcUsage.read($0.1)) }

        // The master's own count: every queued job must be completed, once.
        let counts = try await Self.jobCounts(adminClients[0])
        // A saturation round (--prequeued) queues more than it can dispatch: what is still
        // queued at the end was never handed out, so it is not lost.
        let report = stats.report(queued: jobs + prequeued - (prequeued > 0 ? counts["queued"] ?? 0 : 0), masterCompleted: counts["completed"] ?? 0, masterOther: counts.filter { $0.key != "completed" }.values.reduce(0, +))
        print("fleet-sim: \(nodes) nodes on \(master.count) master(s), heartbeat \(heartbeat) s, poll \(poll) s, \(slots) slots, jobs \(jobSeconds) s, load \(duration) s (wall \(String(format: "%.1f", wall)) s); \(prequeued > 0 ? "\(prequeued) jobs queued before" : "\(jobs) jobs queued in \(String(format: "%.1f", queueSeconds)) s")")
        for line in report.routes { print(line) }
        for (i, (name, b)) in before.enumerated() {
            let a = after[i].1
            let cpu = (a.cpuSeconds - b.cpuSeconds) / wall
            print("process \(name): cpu \(String(format: "%.2f", cpu)) cores (\(String(format: "%.1f", a.cpuSeconds - b.cpuSeconds)) s over \(String(format: "%.1f", wall)) s), rss \(a.rssKiB / 1024) MiB (\(a.processes) processes)")
        }
        print("jobs: \(report.received) dispatched, \(report.ranOnce) ran exactly once, \(report.duplicated) duplicated, \(report.lost) lost; at the master \(counts.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))")
        print("nodes=\(nodes) masters=\(master.count) jobs=\(jobs + prequeued) lost=\(report.lost) duplicated=\(report.duplicated) p99_heartbeat_ms=\(report.p99["heartbeat"] ?? "-") p99_poll_ms=\(report.p99["poll"] ?? "-") steady_p99_heartbeat_ms=\(report.p99["heartbeat steady"] ?? "-") steady_p99_poll_ms=\(report.p99["poll steady"] ?? "-") dispatch_per_s=\(report.dispatchPerSecond) errors=\(report.errors)")
        if report.lost > 0 || report.duplicated > 0 { throw ExitCode(1) }
    }

    /// ffrtmp_master_jobs{status=...} from the master's /metrics (the admin key may read it).
    static func jobCounts(_ c: MasterClient) async throws -> [String: Int] {
        let (status, body) = try await c.call("GET", "/metrics")
        guard status == 200 else { throw ValidationError("GET /metrics answered \(status)") }
        var out: [String: Int] = [:]
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix("ffrtmp_master_jobs{status=\"") {
            let name = line.dropFirst("ffrtmp_master_jobs{status=\"".count).prefix { $0 != "\"" }
            if let v = line.split(separator: " ").last.flatMap({ Double($0) }), v > 0 { out[String(name)] = Int(v) }
        }
        return out
    }
}

/// What the master answers to a result (ResultAck, without the job): whether it was a repeat.
struct Ack: Decodable { var duplicate: Bool }

/// One simulated node: the agent's loop reduced to its conversation with the master.
struct SimNode: Sendable {
    let id: String
    let client: MasterClient
    let heartbeat: Double
    let poll: Double
    let slots: Int
    let jobSeconds: Double
    let stats: Stats

    func timed<T>(_ route: String, _ body: () async throws -> T) async -> T? {
        let t0 = Clock.monotonicNanoseconds()
        do {
            let v = try await body()
            stats.latency(route, Double(Clock.monotonicNanoseconds() - t0) / 1e6, startedAt: t0)
            return v
        } catch {
            stats.failed(route, "\(error)")
            return nil
        }
    }

    func run(start: Int64, stopPolling: Int64) async {
        // Spread over one heartbeat interval, as a fleet that did not all boot at once.
        var rng = SystemRandomNumberGenerator()
        try? await Task.sleep(nanoseconds: UInt64(Double.random(in: 0..<min(heartbeat, 5), using: &rng) * 1e9))
        let reg = NodeRegistration(nodeID: id, hostname: id, wrapperEnabled: true, runningJobs: [], heartbeatIntervalSeconds: heartbeat)
        while await timed("register", { try await client.json(Node.self, "POST", "/api/nodes/register", body: try JSONEncoder().encode(reg)) }) == nil {
            if Clock.monotonicNanoseconds() > stopPolling { return }
            try? await Task.sleep(nanoseconds: 1_000_000_000)
        }
        var running: [(job: MasterJob, done: Int64)] = []
        var nextBeat = Clock.monotonicNanoseconds() + Int64(heartbeat * 1e9)
        var nextPoll = Clock.monotonicNanoseconds() + Int64(Double.random(in: 0..<poll, using: &rng) * 1e9)
        while true {
            let now = Clock.monotonicNanoseconds()
            for r in running where r.done <= now {
                let report = JobResultReport(jobID: r.job.id, attempt: r.job.attempt, nodeID: id, status: .completed, platformSLA: true)
                if let ack = await timed("result", { try await client.json(Ack.self, "POST", "/api/results", body: try JSONEncoder().encode(report)) }) {
                    stats.reported(r.job.id, duplicate: ack.duplicate)
                } else {
                    stats.unreported(r.job.id)
                }
            }
            running.removeAll { $0.done <= now }
            if now >= stopPolling && running.isEmpty { return }
            if now >= nextBeat {
                let beat = Heartbeat(runningJobs: running.map(\.job.id), attempts: Dictionary(running.map { ($0.job.id, $0.job.attempt) }, uniquingKeysWith: { a, _ in a }))
                let reply = await timed("heartbeat", { try await client.json(HeartbeatReply.self, "POST", "/api/nodes/\(id)/heartbeat", body: try JSONEncoder().encode(beat)) })
                nextBeat = now + Int64(heartbeat * 1e9)
                // As the agent does: work in the queue ends an idle poll wait.
                if reply?.workQueued == true { nextPoll = min(nextPoll, Clock.monotonicNanoseconds()) }
            }
            if now >= nextPoll && now < stopPolling && running.count < slots {
                let req = PollRequest(requestID: UUID().uuidString.lowercased(), max: min(slots - running.count, PollRequest.maxJobs))
                if let answer = await timed("poll", { try await client.json(PollAnswer.self, "POST", "/api/nodes/\(id)/poll", body: try JSONEncoder().encode(req)) }) {
                    let t = Clock.monotonicNanoseconds()
                    if answer.jobs.isEmpty { stats.emptyPoll() }
                    for j in answer.jobs {
                        stats.dispatched(j.id, at: t)
                        running.append((j, t + Int64(jobSeconds * 1e9)))
                    }
                    // A full answer may mean more is queued: ask again at once while slots are free.
                    // An empty one: the agent's pace (the master's idle pace, if longer).
                    let delay = answer.nextPollDelay(base: poll, jitter: Double.random(in: 0...1, using: &rng))
                    nextPoll = answer.jobs.isEmpty || running.count >= slots ? t + Int64(delay * 1e9) : t
                    // As the agent does: a job it started sends the next heartbeat now, which
                    // acknowledges the start within the master's dispatch lease.
                    if !answer.jobs.isEmpty { nextBeat = t }
                } else {
                    nextPoll = now + Int64(poll * 1e9)
                }
            }
            var wake = nextBeat
            if now < stopPolling && running.count < slots { wake = min(wake, nextPoll) }
            if let d = running.map(\.done).min() { wake = min(wake, d) }
            if now >= stopPolling && running.isEmpty { return }
            let sleep = max(0, wake - Clock.monotonicNanoseconds())
            if sleep > 0 { try? await Task.sleep(nanoseconds: UInt64(sleep)) }
        }
    }
}

/// Everything the nodes saw, behind one lock (appends only; read once at the end).
final class Stats: Sendable {
    struct State {
        var latencies: [String: [Double]] = [:]
        /// Requests started between `steadyFrom` and `steadyUntil` (after the warm-up, before
        /// polling stops).
        var steadyLatencies: [String: [Double]] = [:]
        var steadyFrom: Int64 = .max
        var steadyUntil: Int64 = .max
        var errors: [String: Int] = [:]
        var firstError: [String: String] = [:]
        var dispatchedCount: [String: Int] = [:]
        var firstDispatch: Int64?
        var lastDispatch: Int64?
        var acked: [String: Int] = [:]
        var duplicateAcks = 0
        var unreported = 0
        var emptyPolls = 0
    }
    let state = Mutex(State())

    func steady(from: Int64, until: Int64) { state.withLock { $0.steadyFrom = from; $0.steadyUntil = until } }
    func latency(_ route: String, _ ms: Double, startedAt t0: Int64) {
        state.withLock { s in
            s.latencies[route, default: []].append(ms)
            if t0 >= s.steadyFrom && t0 < s.steadyUntil { s.steadyLatencies[route, default: []].append(ms) }
        }
    }
    func failed(_ route: String, _ why: String) {
        state.withLock { s in
            s.errors[route, default: 0] += 1
            if s.firstError[route] == nil { s.firstError[route] = why }
        }
    }
    func dispatched(_ id: String, at t: Int64) {
        state.withLock { s in
            s.dispatchedCount[id, default: 0] += 1
            s.firstDispatch = min(s.firstDispatch ?? t, t)
            s.lastDispatch = max(s.lastDispatch ?? t, t)
        }
    }
    func reported(_ id: String, duplicate: Bool) {
        state.withLock { s in
            s.acked[id, default: 0] += 1
            if duplicate { s.duplicateAcks += 1 }
        }
    }
    func unreported(_ id: String) { state.withLock { $0.unreported += 1 } }
    func emptyPoll() { state.withLock { $0.emptyPolls += 1 } }

    struct Report {
        var routes: [String]
        var p99: [String: String]
        var received: Int
        var ranOnce: Int
        var duplicated: Int
        var lost: Int
        var dispatchPerSecond: Int
        var errors: Int
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    /// lost: queued jobs the master does not have completed at the end (a job that went out and
    /// never came back, or stayed stuck). duplicated: jobs handed out more than once, or whose
    /// result the master took as a second one.
    func report(queued: Int, masterCompleted: Int, masterOther: Int) -> Report {
        state.withLock { s in
            var routes: [String] = []
            var p99: [String: String] = [:]
            for route in ["register", "heartbeat", "poll", "result"] {
                let l = (s.latencies[route] ?? []).sorted()
                let steady = (s.steadyLatencies[route] ?? []).sorted()
                let f = { (v: Double) in String(format: "%.1f", v) }
                p99[route] = f(Self.percentile(l, 0.99))
                p99[route + " steady"] = steady.isEmpty ? "-" : f(Self.percentile(steady, 0.99))
                routes.append("route \(route): \(l.count) ok, \(s.errors[route] ?? 0) failed; ms p50 \(f(Self.percentile(l, 0.5))) p99 \(f(Self.percentile(l, 0.99))) max \(f(l.last ?? 0))"
                    + (route == "poll" ? " (\(s.emptyPolls) empty)" : "")
                    + (steady.isEmpty ? "" : "; steady state (\(steady.count)): p50 \(f(Self.percentile(steady, 0.5))) p99 \(f(Self.percentile(steady, 0.99)))")
                    + (s.firstError[route].map { "; first error: \($0.prefix(200))" } ?? ""))
            }
            let dup = s.dispatchedCount.values.filter { $0 > 1 }.count + s.duplicateAcks
            let once = s.dispatchedCount.filter { $0.value == 1 && s.acked[$0.key] == 1 }.count
            let span = Double((s.lastDispatch ?? 0) - (s.firstDispatch ?? 0)) / 1e9
            let rate = span > 0 ? Int(Double(s.dispatchedCount.count) / span) : s.dispatchedCount.count
            return Report(routes: routes, p99: p99, received: s.dispatchedCount.count, ranOnce: once, duplicated: dup,
                          lost: max(0, queued - masterCompleted), dispatchPerSecond: rate, errors: s.errors.values.reduce(0, +))
        }
    }
}

/// CPU seconds and resident memory of a process and all its descendants, from /proc.
struct ProcUsage {
    var cpuSeconds: Double
    var rssKiB: Int
    var processes: Int

    static func read(_ root: Int32) -> ProcUsage {
        var parent: [Int32: Int32] = [:]
        var stat: [Int32: (Double, Int)] = [:]
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let text = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { continue }
            let f = text[text.index(after: close)...].split(separator: " ")
            guard f.count > 22, let ppid = Int32(f[1]), let ut = Double(f[11]), let st = Double(f[12]), let rss = Int(f[21]) else { continue }
            parent[pid] = ppid
            stat[pid] = ((ut + st) / hz, rss * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024)
        }
        var out = ProcUsage(cpuSeconds: 0, rssKiB: 0, processes: 0)
        for (pid, s) in stat {
            var p = pid
            var mine = false
            for _ in 0..<64 {
                if p == root { mine = true; break }
                guard let pp = parent[p], pp > 1 else { break }
                p = pp
            }
            if mine {
                out.cpuSeconds += s.0
                out.rssKiB += s.1
                out.processes += 1
            }
        }
        return out
    }
}
