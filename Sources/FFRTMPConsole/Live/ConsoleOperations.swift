import FFRTMPAgent
import FFRTMPCore
import FFRTMPWire
import FoundationEssentials
import Glibc
import Synchronization

/// The agent as the console sees it, polled off the UI thread so a slow or hung agent
/// never freezes the screen.
public final class AgentMonitor: @unchecked Sendable {
    public struct State: Sendable {
        public var link: AgentLink
        public var wrapperEnabled: Bool?
        public var configFile: String?
        /// True only when nothing listens on the socket (no socket file, or refused): an agent
        /// that is slow or answers oddly is not "down", and nothing is done around it.
        public var confirmedDown = false

        public init(link: AgentLink, wrapperEnabled: Bool?, configFile: String?, confirmedDown: Bool = false) {
            self.link = link
            self.wrapperEnabled = wrapperEnabled
            self.configFile = configFile
            self.confirmedDown = confirmedDown
        }
    }

    struct StatusReply: Decodable {
        var ok: Bool
        var error: String?
        var nodeID: String?
        var masterURL: String?
        var registered: Bool?
        var wrapperEnabled: Bool?
        var outboxDepth: Double?
        var configFile: String?
        enum CodingKeys: String, CodingKey {
            case ok, error, nodeID = "node_id", masterURL = "master_url", registered, wrapperEnabled = "wrapper_enabled"
            case outboxDepth = "outbox_depth", configFile = "config_file"
        }
    }

    let stateDir: String
    let state: Mutex<State>
    let poke = Mutex(false)
    let stopped = Mutex(false)

    public init(stateDir: String) {
        self.stateDir = stateDir
        state = Mutex(Self.query(stateDir))
    }

    public var current: State { state.withLock { $0 } }

    /// Polls every `interval` seconds (sooner after `refreshSoon`) until `stop`.
    public func start(interval: Double) {
        Detached.run { [self] in
            while !stopped.withLock({ $0 }) {
                let s = Self.query(stateDir)
                state.withLock { $0 = s }
                var waited = 0.0
                while waited < interval && !poke.withLock({ let p = $0; $0 = false; return p }) && !stopped.withLock({ $0 }) {
                    Clock.sleep(seconds: 0.05)
                    waited += 0.05
                }
            }
        }
    }

    public func refreshSoon() { poke.withLock { $0 = true } }
    public func stop() { stopped.withLock { $0 = true } }

    public static func query(_ stateDir: String) -> State {
        let answer: String
        do {
            answer = try ControlClient.send(stateDir: stateDir, request: #"{"op":"status"}"#, timeoutSeconds: 3)
        } catch {
            var absent = false
            if case let FFRTMPError.io(_, _, err) = error { absent = err == ENOENT || err == ECONNREFUSED }
            return State(link: .down(reason: reason(error)), wrapperEnabled: nil, configFile: nil, confirmedDown: absent)
        }
        guard let r = try? JSONDecoder().decode(StatusReply.self, from: Data(answer.utf8)) else {
            return State(link: .down(reason: "unreadable answer from the agent"), wrapperEnabled: nil, configFile: nil)
        }
        guard r.ok else { return State(link: .down(reason: r.error ?? "the agent refused"), wrapperEnabled: nil, configFile: nil) }
        return State(link: .connected(node: r.nodeID ?? "?", master: r.masterURL, registered: r.registered ?? false,
                                      outboxDepth: Int(r.outboxDepth ?? 0)),
                     wrapperEnabled: r.wrapperEnabled, configFile: r.configFile)
    }

    static func reason(_ e: Error) -> String {
        if case let FFRTMPError.io(_, _, err) = e {
            switch err {
            case ENOENT: return "no agent socket"
            case ECONNREFUSED: return "agent socket refuses connections"
            case EACCES: return "no permission for the agent socket"
            default: return String(cString: strerror(err))
            }
        }
        return "\(e)"
    }
}

/// Carries out the console's actions through the same core and agent operations the CLI
/// uses, and writes each one to the audit log. With the agent up, launches, the wrapper
/// switch and adoption go through its control socket (so it supervises what it started);
/// with the agent down they go straight to the core, so the console still works at 3 a.m.
public final class ConsoleOperations: @unchecked Sendable {
    public let inspector: JobInspector
    public let environment: [String: String]
    public let audit: AuditLog
    /// worker.env when the agent does not say: --config, else /etc/ffrtmp/worker.env if it exists.
    public let configFlag: String?
    /// Attach jobs this console adopted while the agent was down: it watches them until they end.
    let watching = Mutex<Set<JobID>>([])
    /// Shims this console started (agent down): reaped so none lingers as a zombie.
    let children = Mutex<Set<Int32>>([])

    public init(inspector: JobInspector, environment: [String: String], configFile: String?) {
        self.inspector = inspector
        self.environment = environment
        audit = AuditLog(stateDir: inspector.journal.stateDir)
        configFlag = configFile
    }

    public struct Outcome: Sendable {
        public var ok: Bool
        public var message: String
        /// The new WRAPPER_ENABLED after a successful toggle, for the header at once.
        public var wrapperEnabled: Bool?
    }

    func configFile(_ agent: AgentMonitor.State) -> String? {
        agent.configFile ?? configFlag ?? (FileIO.exists("/etc/ffrtmp/worker.env") ? "/etc/ffrtmp/worker.env" : nil)
    }

    /// The worker settings the console falls back on when the agent is down (defaults when unreadable).
    public func workerConfig(_ agent: AgentMonitor.State) throws -> WorkerConfig {
        let file = configFile(agent)
        return try WorkerConfig.load(file: try file.map { try FileIO.read($0) }, environment: [:])
    }

    /// WRAPPER_ENABLED from worker.env, for the header when no agent answers.
    public func wrapperFromFile(_ agent: AgentMonitor.State) -> Bool? {
        guard let file = configFile(agent), let text = FileIO.readIfExists(file), let env = try? EnvFile.parse(text),
              let v = env["WRAPPER_ENABLED"] else { return nil }
        return ["1", "true", "yes", "on"].contains(v.lowercased())
    }

    /// `shown` is what the screen showed; the agent is asked again now, at the moment of acting.
    public func perform(_ action: ConsoleAction, agent shown: AgentMonitor.State) -> Outcome {
        let agent: AgentMonitor.State
        switch action {
        case .launch, .setWrapper, .adopt: agent = AgentMonitor.query(inspector.journal.stateDir)
        default: agent = shown
        }
        let (name, target): (String, String?) = {
            switch action {
            case let .launch(l): return ("launch_test", "duration=\(l.durationSeconds)s cpu=\(l.cpuMax ?? "default") memory_mb=\(l.memoryMaxMB.map(String.init) ?? "default")")
            case let .setWrapper(on): return ("set_wrapper", on ? "on" : "off")
            case let .adopt(o): return ("adopt", (o.jobID.map { "job " + $0 + " " } ?? "") + "pgid \(o.pgid)")
            case let .kill(id): return ("kill", id)
            case .quit, .scanOrphans: return ("", nil)
            }
        }()
        var out: Outcome
        do {
            out = try run(action, agent: agent)
        } catch {
            out = Outcome(ok: false, message: "\(name) failed: " + ((error as? CustomStringConvertible)?.description ?? "\(error)"))
        }
        if !name.isEmpty {
            do {
                try audit.append(tool: "console", action: name, target: target, succeeded: out.ok, detail: out.message, environment: environment)
            } catch {
                out.message += " (audit log not written: \(error))"
                out.ok = false
            }
        }
        return out
    }

    func run(_ action: ConsoleAction, agent: AgentMonitor.State) throws -> Outcome {
        let connected: Bool = { if case .connected = agent.link { return true }; return false }()
        if !connected, !agent.confirmedDown, case let .down(why) = agent.link {
            switch action {
            case .launch, .setWrapper, .adopt:
                throw AgentError(text: "no clear answer from the agent (\(why)); not acting around a running agent, try again")
            default: break
            }
        }
        switch action {
        case let .launch(l):
            if connected {
                let r = try agentCall(ControlRequest(op: "launch_test", durationSeconds: l.durationSeconds, cpuMax: l.cpuMax, memoryMaxMB: l.memoryMaxMB))
                return Outcome(ok: true, message: "launched test transcode \(r.string("job") ?? "?") through the agent")
            }
            let cfg = try workerConfig(agent)
            let id = JobID.generate()
            let shim = try ShimLocator.locate(environment: environment)
            // The agent's own rules, with the agent down: a trusted configuration, and the test
            // runs as JOB_USER like every job of the agent.
            try cfg.checkTrusted(configFile: configFile(agent), stateDir: inspector.journal.stateDir, shimPath: shim)
            let launcher = JobLauncher(journal: inspector.journal, driver: inspector.driver, shimPath: shim)
            let launched = try launcher.launch(TestTranscode.request(
                jobID: id, engines: EngineCommand(ffmpegPath: cfg.ffmpegPath, gstLaunchPath: cfg.gstLaunchPath),
                durationSeconds: l.durationSeconds, cpuMax: l.cpuMax, memoryMaxMB: l.memoryMaxMB, defaults: cfg.defaultConstraints,
                user: try cfg.resolvedJobUser()))
            children.withLock { _ = $0.insert(launched.shimPID) }
            return Outcome(ok: true, message: "launched test transcode \(id) (agent down: started directly)")
        case let .setWrapper(on):
            if connected {
                let r = try agentCall(ControlRequest(op: "set_wrapper", enabled: on))
                let persisted = r.object["persisted"] == .bool(true)
                return Outcome(ok: true, message: "WRAPPER_ENABLED=\(on ? "true" : "false") applied to the agent" + (persisted ? " and saved to worker.env" : " (the agent has no worker.env: not saved)"),
                               wrapperEnabled: on)
            }
            guard let file = configFile(agent) else {
                throw FFRTMPError.invalidField(field: "worker.env", value: "(none)", expected: "an agent to talk to, or a worker.env (--config) to change")
            }
            try WorkerConfig.persist(key: "WRAPPER_ENABLED", value: on ? "true" : "false", in: file)
            return Outcome(ok: true, message: "WRAPPER_ENABLED=\(on ? "true" : "false") saved to \(file); the agent is down and applies it when it starts",
                           wrapperEnabled: on)
        case let .adopt(o):
            try checkStillOrphaned(o, agent: agent)
            let newID: JobID
            if connected {
                let r = try agentCall(ControlRequest(op: "attach", pgid: o.pgid))
                newID = try JobID(r.string("job") ?? "")
            } else {
                let cfg = try workerConfig(agent)
                newID = JobID.generate()
                _ = try Attacher(journal: inspector.journal, driver: inspector.driver).adopt(
                    .pgid(o.pgid), jobID: newID, constraints: try ConstraintParser().parse(cfg.defaultConstraints), requireGovernance: false)
                watching.withLock { _ = $0.insert(newID) }
            }
            var msg = "adopted pgid \(o.pgid) as job \(newID)" + (connected ? " (the agent watches it)" : " (agent down: this console watches it until it quits)")
            if o.kind == .job, let old = o.jobID {
                let oldID = try JobID(old)
                // Processes of the old job outside the adopted group (setsid children) are still
                // in its cgroup: closing it would hide them. It stays orphaned, and says so.
                let left = (try? inspector.journal.spec(oldID))?.cgroup.map(inspector.driver.members) ?? []
                if left.isEmpty {
                    do {
                        try Attacher(journal: inspector.journal, driver: inspector.driver).retireOrphan(oldID, adoptedAs: newID)
                        msg += "; orphan \(old) closed as supervisor_lost"
                    } catch {
                        msg += "; orphan \(old) could not be closed: \(error)"
                    }
                } else {
                    msg += "; \(left.count) process(es) of \(old) outside that group (pids " + left.prefix(6).map(String.init).joined(separator: ",")
                        + ") are still in its cgroup: it stays orphaned"
                }
            }
            return Outcome(ok: true, message: msg)
        case let .kill(raw):
            let out = try JobKiller(inspector: inspector).kill(try JobID(raw), graceSeconds: 10, requestedBy: actor)
            return Outcome(ok: true, message: "killed \(raw): \(out.status.state.rawValue)" + (out.escalated ? " (SIGKILL after the grace period)" : "")
                           + out.notes.map { "; " + $0 }.joined())
        case .quit, .scanOrphans:
            return Outcome(ok: true, message: "")
        }
    }

    /// The group must still be the one listed: a member with a listed (pid, start time), and
    /// every member a program adoption is for (AUTO_ATTACH_TARGETS), so a pgid reused since the
    /// list was made, or a service script's group, is never moved. A journal orphan must still be one.
    func checkStillOrphaned(_ o: OrphanItem, agent: AgentMonitor.State) throws {
        let listed = Set(zip(o.pids, o.startTimes).map { ProcessIdentity(pid: $0.0, startTime: $0.1) })
        let now = try Attacher.resolve(.pgid(o.pgid))
        guard now.contains(where: { listed.contains($0) }) else {
            throw FFRTMPError.invalidField(field: "pgid", value: String(o.pgid),
                                           expected: "the group listed a moment ago (it ended or its id was reused: press a to list again)")
        }
        let targets = Set(try workerConfig(agent).autoAttachTargets)
        let others = now.compactMap { ProcFS.stat($0.pid) }.filter { !targets.contains($0.comm) }
        guard others.isEmpty else {
            throw FFRTMPError.invalidField(field: "pgid", value: String(o.pgid),
                                           expected: "a group of \(targets.sorted().joined(separator: ", ")) only (it also holds " + others.prefix(3).map { "\($0.comm)[\($0.pid)]" }.joined(separator: ", ") + ")")
        }
        if o.kind == .job, let old = o.jobID {
            let st = try inspector.status(try JobID(old), withUsage: false)
            guard st.state == .orphaned else {
                throw FFRTMPError.invalidField(field: "job", value: old, expected: "an orphaned job (it is \(st.state.rawValue) now)")
            }
        }
    }

    var actor: String { AuditLog.actor(environment, via: "console") }

    /// Housekeeping on every refresh: reap our shims, finish attach jobs we watch.
    /// Returns what went wrong finishing a watched job (it stays watched and is tried again).
    @discardableResult
    public func tick() -> [String] {
        var problems: [String] = []
        children.withLock { set in
            for pid in set {
                var st: Int32 = 0
                if waitpid(pid, &st, WNOHANG) == pid { set.remove(pid) }
            }
        }
        let attacher = Attacher(journal: inspector.journal, driver: inspector.driver)
        watching.withLock { set in
            for id in set {
                do {
                    if try attacher.finishIfEnded(try inspector.journal.spec(id)) != nil { set.remove(id) }
                } catch FFRTMPError.jobNotFound {
                    set.remove(id)
                } catch {
                    problems.append("cannot finish adopted job \(id): \(error)")
                }
            }
        }
        return problems
    }

    /// An agent's answer: its JSON object.
    struct Answer {
        var object: [String: JSONValue]
        func string(_ key: String) -> String? {
            if case let .string(v)? = object[key] { return v }
            return nil
        }
    }

    /// One control-socket call; an "ok": false answer is an error carrying the agent's words.
    func agentCall(_ request: ControlRequest) throws -> Answer {
        let line = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        let text = try ControlClient.send(stateDir: inspector.journal.stateDir, request: line, timeoutSeconds: 35)
        guard case let .object(obj)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
            throw AgentError(text: "unreadable answer: " + String(text.prefix(200)))
        }
        let answer = Answer(object: obj)
        guard obj["ok"] == .bool(true) else { throw AgentError(text: answer.string("error") ?? text) }
        return answer
    }

    struct AgentError: Error, CustomStringConvertible {
        var text: String
        var description: String { "the agent said: " + text }
    }

    /// Any JSON value, kept as text (nested values are not needed here).
    struct Scalar: Decodable {
        var text: String
        init(from d: Decoder) throws {
            let c = try d.singleValueContainer()
            if let b = try? c.decode(Bool.self) { text = b ? "true" : "false" }
            else if let s = try? c.decode(String.self) { text = s }
            else if let n = try? c.decode(Double.self) { text = String(n) }
            else { text = "" }
        }
    }
}
