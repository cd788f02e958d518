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
        let data = Data(answer.utf8)
        guard let head = try? JSONDecoder().decode(ControlReplyHead.self, from: data) else {
            return State(link: .down(reason: "unreadable answer from the agent"), wrapperEnabled: nil, configFile: nil)
        }
        guard head.ok else { return State(link: .down(reason: head.error ?? "the agent refused"), wrapperEnabled: nil, configFile: nil) }
        guard let r = try? JSONDecoder().decode(StatusReply.self, from: data) else {
            return State(link: .down(reason: "unreadable answer from the agent"), wrapperEnabled: nil, configFile: nil)
        }
        return State(link: .connected(node: r.nodeID, master: r.masterURL, registered: r.registered, outboxDepth: r.outboxDepth),
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

    /// The worker.env the agent last reported (remembered while it is down), so defaults and
    /// the wrapper switch act on the agent's own file.
    let lastAgentConfig = Mutex<String?>(nil)

    /// worker.env, in order: --config; the agent's (as it says now, or said last);
    /// STATE_DIR/worker.env; /etc/ffrtmp/worker.env. nil when none exists.
    func configFile(_ agent: AgentMonitor.State) -> String? {
        if let f = configFlag { return f }
        if let f = agent.configFile {
            lastAgentConfig.withLock { $0 = f }
            return f
        }
        if let f = lastAgentConfig.withLock({ $0 }) { return f }
        for f in [inspector.journal.stateDir + "/worker.env", "/etc/ffrtmp/worker.env"] where FileIO.exists(f) { return f }
        return nil
    }

    /// What adopting with the agent down would apply, for the orphan dialog: the worker.env
    /// defaults (WRAPPER_DEFAULT_*), where they come from, or why adoption cannot go ahead.
    public func adoptLimits(_ agent: AgentMonitor.State) -> AdoptLimits {
        if case .connected = agent.link {
            return AdoptLimits(summary: "the agent's WRAPPER_DEFAULT_* limits", hasLimits: true, source: "the agent decides")
        }
        let file = configFile(agent)
        let source = file.map { "worker.env " + $0 } ?? "no worker.env found (--config, the agent's, STATE_DIR/worker.env, /etc/ffrtmp/worker.env)"
        do {
            let node = try nodeOperations(agent)
            let summary = ConsoleCollector.limits(node.config.defaultConstraints)
            return AdoptLimits(summary: summary, hasLimits: summary != "none", source: source)
        } catch {
            return AdoptLimits(summary: "none", hasLimits: false, source: source,
                               problem: (error as? CustomStringConvertible)?.description ?? "\(error)")
        }
    }

    /// Attach jobs this console watches (agent down): quitting asks first while there are any.
    public var watchedCount: Int { watching.withLock { $0.count } }

    /// The worker settings the console falls back on when the agent is down (defaults when unreadable).
    public func workerConfig(_ agent: AgentMonitor.State) throws -> WorkerConfig {
        let file = configFile(agent)
        return try WorkerConfig.load(file: try file.map { try FileIO.read($0) }, environment: [:])
    }

    /// What the agent would do, on worker.env's settings: the console's path with the agent down.
    /// worker.env must pass the agent's trust check first: AUTO_ATTACH_TARGETS and the
    /// defaults are acted on as root, so a file others can write must not widen them.
    func nodeOperations(_ agent: AgentMonitor.State) throws -> NodeOperations {
        if let file = configFile(agent) { try TrustedPath.check(file, what: "worker.env") }
        return NodeOperations(config: try workerConfig(agent), configFile: configFile(agent), journal: inspector.journal, driver: inspector.driver)
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
            case let .launch(l): return (ControlOp.launchTest.rawValue, "duration=\(l.durationSeconds)s cpu=\(l.cpuMax ?? "default") memory_mb=\(l.memoryMaxMB.map(String.init) ?? "default")")
            case let .setWrapper(on): return (ControlOp.setWrapper.rawValue, on ? "on" : "off")
            case let .adopt(o, unlimited): return ("adopt", (o.jobID.map { "job " + $0 + " " } ?? "") + "pgid \(o.pgid)" + (unlimited ? " no-limits" : ""))
            case let .kill(ids): return (ControlOp.kill.rawValue, ids.joined(separator: ","))
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
                let r = try agentCall(ControlRequest(op: .launchTest, durationSeconds: l.durationSeconds, cpuMax: l.cpuMax, memoryMaxMB: l.memoryMaxMB),
                                      as: JobReply.self)
                return Outcome(ok: true, message: "launched test transcode \(r.job) through the agent")
            }
            let node = try nodeOperations(agent)
            let shim = try ShimLocator.locate(environment: environment)
            // The agent's own rules, with the agent down: a trusted configuration, and the test
            // runs as JOB_USER like every job of the agent.
            try node.config.checkTrusted(configFile: node.configFile, stateDir: inspector.journal.stateDir, shimPath: shim)
            let launched = try node.launchTest(durationSeconds: l.durationSeconds, cpuMax: l.cpuMax, memoryMaxMB: l.memoryMaxMB,
                                               user: try node.config.resolvedJobUser(), shimPath: shim, launcher: .console)
            children.withLock { _ = $0.insert(launched.shimPID) }
            return Outcome(ok: true, message: "launched test transcode \(launched.jobID) (agent down: started directly)")
        case let .setWrapper(on):
            if connected {
                let r = try agentCall(ControlRequest(op: .setWrapper, enabled: on), as: WrapperReply.self)
                let persisted = r.persisted == true
                return Outcome(ok: true, message: "WRAPPER_ENABLED=\(on ? "true" : "false") applied to the agent" + (persisted ? " and saved to worker.env" : " (the agent has no worker.env: not saved)"),
                               wrapperEnabled: on)
            }
            let node = try nodeOperations(agent)
            guard let file = node.configFile, try node.persistWrapper(on) else {
                throw FFRTMPError.invalidField(field: "worker.env", value: "(none)", expected: "an agent to talk to, or a worker.env (--config) to change")
            }
            return Outcome(ok: true, message: "WRAPPER_ENABLED=\(on ? "true" : "false") saved to \(file); the agent is down and applies it when it starts",
                           wrapperEnabled: on)
        case let .adopt(o, unlimited):
            try checkStillOrphaned(o)
            let newID: JobID
            if connected {
                newID = try JobID(try agentCall(ControlRequest(op: .attach, pgid: o.pgid), as: JobReply.self).job)
            } else {
                // The agent's adoption, with its check that every member is one of
                // AUTO_ATTACH_TARGETS (skipped for a journal orphan's own processes).
                var node = try nodeOperations(agent)
                if unlimited {
                    node.config.defaultConstraints = WireConstraints()
                } else if ConsoleCollector.limits(node.config.defaultConstraints) == "none" {
                    throw FFRTMPError.invalidField(field: "limits", value: "none",
                                                   expected: "WRAPPER_DEFAULT_* limits in worker.env, or A to adopt without limits")
                }
                var own: Set<Int32> = []
                if o.kind == .job, let old = o.jobID, let cg = try? inspector.journal.spec(try JobID(old)).cgroup {
                    own = Set(inspector.driver.members(cg))
                }
                newID = try node.adopt(pgid: o.pgid, ownedBy: own).jobID
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
        case let .kill(ids):
            // One after the other: each gets its own grace period, and one failure does not
            // stop the rest; the message says what became of each.
            var parts: [String] = []
            var allOK = true
            for raw in ids {
                do {
                    let out = try JobKiller(inspector: inspector).kill(try JobID(raw), graceSeconds: 10, requestedBy: actor)
                    parts.append("killed \(raw): \(out.status.state.rawValue)" + (out.escalated ? " (SIGKILL after the grace period)" : "")
                                 + out.notes.map { "; " + $0 }.joined())
                } catch {
                    allOK = false
                    parts.append("kill \(raw) failed: " + ((error as? CustomStringConvertible)?.description ?? "\(error)"))
                }
            }
            return Outcome(ok: allOK, message: parts.joined(separator: " · "))
        case .quit, .scanOrphans:
            return Outcome(ok: true, message: "")
        }
    }

    /// The group must still be the one listed: a member with a listed (pid, start time), so a
    /// pgid reused since the list was made is never moved. A journal orphan must still be one.
    /// That every member is a program adoption is for (AUTO_ATTACH_TARGETS) is checked by the
    /// adoption itself (NodeOperations.adopt), in the agent or, with the agent down, here.
    func checkStillOrphaned(_ o: OrphanItem) throws {
        let listed = Set(zip(o.pids, o.startTimes).map { ProcessIdentity(pid: $0.0, startTime: $0.1) })
        let now = try Attacher.resolve(.pgid(o.pgid))
        guard now.contains(where: { listed.contains($0) }) else {
            throw FFRTMPError.invalidField(field: "pgid", value: String(o.pgid),
                                           expected: "the group listed a moment ago (it ended or its id was reused: press a to list again)")
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

    /// One control-socket call, its answer decoded as `R`; an "ok": false answer is an error
    /// carrying the agent's words.
    func agentCall<R: Decodable>(_ request: ControlRequest, as: R.Type) throws -> R {
        let line = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        let text = try ControlClient.send(stateDir: inspector.journal.stateDir, request: line, timeoutSeconds: 35)
        let data = Data(text.utf8)
        guard let head = try? JSONDecoder().decode(ControlReplyHead.self, from: data) else {
            throw AgentError(text: "unreadable answer: " + String(text.prefix(200)))
        }
        guard head.ok else { throw AgentError(text: head.error ?? text) }
        do {
            return try JSONDecoder().decode(R.self, from: data)
        } catch {
            throw AgentError(text: "unreadable answer to \(request.op.rawValue): " + String(text.prefix(200)))
        }
    }

    struct AgentError: Error, CustomStringConvertible {
        var text: String
        var description: String { "the agent said: " + text }
    }
}
