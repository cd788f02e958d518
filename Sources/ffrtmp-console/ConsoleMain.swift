import CNcursesw
import FFRTMPAgent
import FFRTMPConsole
import FFRTMPCore
import Glibc
import Synchronization

/// `ffrtmp console`: the operator's screen. Started by `ffrtmp console ...` (which execs this
/// binary so the edge CLI does not load ncurses on every `ffrtmp run`), or directly.
@main
enum ConsoleMain {
    static let usage = """
        usage: ffrtmp console [--state-dir DIR] [--cgroup-parent PATH] [--config WORKER_ENV]
                              [--interval SEC] [--no-color] [--readonly]

        Live jobs with their limits, cgroup usage and SLA; launch a test transcode (n), toggle
        WRAPPER_ENABLED (w), adopt orphans (a), kill a job (x). ? lists every key.
          --state-dir DIR      the journal (default: $FFRTMP_STATE_DIR, else /var/lib/ffrtmp as root)
          --cgroup-parent P    job cgroups' parent (default: $FFRTMP_CGROUP_PARENT, else /ffrtmp)
          --config FILE        worker.env to change when the agent is down (default: the agent's,
                               else /etc/ffrtmp/worker.env)
          --interval SEC       refresh period, 0.2 to 60 (default 1)
          --no-color           no colours (also when NO_COLOR is set or the terminal has none)
          --readonly           hide and refuse every changing action
        Changing actions are appended to STATE_DIR/audit.log. docs/CONSOLE.md has the details.
        """

    struct Options {
        var stateDir: String?
        var cgroupParent: String?
        var config: String?
        var interval = 1.0
        var noColor = false
        var readonly = false
    }

    static func parse(_ args: [String]) throws -> Options {
        var o = Options()
        var i = 0
        func value(_ flag: String) throws -> String {
            i += 1
            guard i < args.count else { throw UsageError(text: "\(flag) needs a value") }
            return args[i]
        }
        while i < args.count {
            let a = args[i]
            switch a {
            case "--state-dir": o.stateDir = try value(a)
            case "--cgroup-parent": o.cgroupParent = try value(a)
            case "--config": o.config = try value(a)
            case "--interval":
                let v = try value(a)
                guard let d = Double(v), d.isFinite, d >= 0.2, d <= 60 else {
                    throw UsageError(text: "invalid --interval \"\(v)\": expected seconds from 0.2 to 60")
                }
                o.interval = d
            case "--no-color": o.noColor = true
            case "--readonly": o.readonly = true
            case "-h", "--help": throw UsageError(text: "")
            default: throw UsageError(text: "unknown argument \"\(a)\"")
            }
            i += 1
        }
        return o
    }

    struct UsageError: Error { var text: String }

    static func fail(_ text: String, status: Int32) -> Never {
        printError("ffrtmp console: " + text + "\n")
        exit(status)
    }

    static func printError(_ s: String) {
        _ = s.withCString { write(2, $0, strlen($0)) }
    }

    static func main() {
        // Test transcodes started while the agent is down inherit this environment, as the
        // agent's do: a fleet key exported in the operator's shell must not reach them.
        unsetenv("FFRTMP_API_KEY")
        unsetenv("FFRTMP_API_KEY_FILE")
        let opts: Options
        do { opts = try parse(Array(CommandLine.arguments.dropFirst())) } catch let e as UsageError {
            if e.text.isEmpty { print(usage); exit(0) }
            printError("ffrtmp console: " + e.text + "\n" + usage + "\n")
            exit(2)
        } catch { fail("\(error)", status: 2) }
        guard isatty(0) == 1, isatty(1) == 1 else { fail("needs a terminal on stdin and stdout (use `ffrtmp ps` in scripts)", status: 2) }

        let env = ProcessEnvironment.current()
        let journal = JobJournal(stateDir: JobJournal.defaultStateDir(flag: opts.stateDir, environment: env))
        let driver: CgroupDriver
        do { driver = try CgroupDriverFactory.make(environment: env, parentFlag: opts.cgroupParent, stateDir: journal.stateDir) } catch {
            fail((error as? FFRTMPError)?.description ?? "\(error)", status: 2)
        }
        if let c = opts.config, !FileIO.exists(c) { fail("--config \(c): no such file", status: 2) }
        let inspector = JobInspector(journal: journal, driver: driver)
        // Every live job's cgroup files are read every second: keep them open (OpenAttributes),
        // within the soft file limit raised to the hard one, leaving room for everything else.
        var nofile = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &nofile) == 0 {
            let want = min(nofile.rlim_max, 65536)
            if nofile.rlim_cur < want {
                nofile.rlim_cur = want
                _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &nofile)
                _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &nofile)
            }
            CgroupFS.openAttributes = OpenAttributes(limit: Int(nofile.rlim_cur) - 256)
        }
        let probe = GovernanceProbe.probe(driver, v2Root: env["FFRTMP_CGROUP_ROOT"].flatMap { $0.isEmpty ? nil : $0 })
        let collector = ConsoleCollector(inspector: inspector, governance: probe)
        let ops = ConsoleOperations(inspector: inspector, environment: env, configFile: opts.config)
        let agent = AgentMonitor(stateDir: journal.stateDir)
        agent.start(interval: opts.interval)

        let wake: (read: Int32, write: Int32)
        do { wake = try Sys.pipeCloexec() } catch { fail("\(error)", status: 1) }
        _ = fcntl(wake.read, F_SETFL, O_NONBLOCK)
        _ = fcntl(wake.write, F_SETFL, O_NONBLOCK)
        let term: Terminal
        do { term = try Terminal(noColor: opts.noColor || !(env["NO_COLOR"] ?? "").isEmpty) } catch { agent.stop(); fail("\(error)", status: 2) }
        ffrtmp_install_console_signals(wake.write)
        let loop = Loop(term: term, collector: collector, ops: ops, agent: agent, wakeFD: wake.read, interval: opts.interval,
                        readonly: opts.readonly, targets: Set((try? ops.workerConfig(agent.current))?.autoAttachTargets ?? ["ffmpeg", "gst-launch-1.0"]))
        loop.run()
        agent.stop()
        term.close()
        exit(0)
    }
}

/// The main loop: sleep in poll() until a key, a signal, a finished action or the next
/// refresh; apply keys through the pure controller; draw the pure view.
final class Loop {
    let term: Terminal
    let collector: ConsoleCollector
    let ops: ConsoleOperations
    let agent: AgentMonitor
    let wakeFD: Int32
    let interval: Double
    let targets: Set<String>
    var ui: ConsoleUIState
    var snapshot: ConsoleSnapshot
    /// WRAPPER_ENABLED just set by `w`, shown until the agent (or worker.env) confirms it.
    var wrapperOverride: (value: Bool, until: Int64)?
    let pending = Pending()

    /// The one action in flight, shared with the thread that runs it.
    final class Pending: @unchecked Sendable {
        let label = Mutex<String?>(nil)
        let outcome = Mutex<ConsoleOperations.Outcome?>(nil)
    }

    init(term: Terminal, collector: ConsoleCollector, ops: ConsoleOperations, agent: AgentMonitor, wakeFD: Int32, interval: Double,
         readonly: Bool, targets: Set<String>) {
        self.term = term
        self.collector = collector
        self.ops = ops
        self.agent = agent
        self.wakeFD = wakeFD
        self.interval = interval
        self.targets = targets
        ui = ConsoleUIState(readonly: readonly)
        snapshot = ConsoleSnapshot(header: ConsoleHeader(host: "", cgroupVersion: "", governance: .none, agent: .down(reason: "starting")),
                                   jobs: [], nowUnixNs: 0)
    }

    func collect() {
        if let problem = ops.tick().first { ui.message = (problem, true) }
        let a = agent.current
        var wrapper = a.wrapperEnabled ?? ops.wrapperFromFile(a)
        if let o = wrapperOverride {
            if Clock.monotonicNanoseconds() < o.until && wrapper != o.value { wrapper = o.value } else { wrapperOverride = nil }
        }
        var detailID: String?
        switch ui.overlay {
        case let .detail(id, _), let .log(id, _, _): detailID = id
        default: break
        }
        snapshot = collector.snapshot(agent: a.link, wrapperEnabled: wrapper, detailFor: detailID)
        snapshot.watchedAdoptions = ops.watchedCount
        ui.busy = pending.label.withLock { $0 }
    }

    func draw() {
        let (w, h) = term.size
        let frame = ConsoleView.render(snapshot, ui, width: w, height: h, glyphs: term.glyphs)
        ui.apply(frame)
        term.draw(frame)
    }

    func run() {
        collect()
        draw()
        var next = Clock.monotonicNanoseconds() + Int64(interval * 1e9)
        var buf = [UInt8](repeating: 0, count: 64)
        while ffrtmp_console_stop_signal() == 0 {
            let waitMs = max(0, Int32((next - Clock.monotonicNanoseconds()) / 1_000_000))
            let ready = Sys.pollReadable([0, wakeFD], timeoutMs: waitMs)
            while read(wakeFD, &buf, buf.count) > 0 {}
            if ffrtmp_console_stop_signal() != 0 { break }
            var refresh = false
            let keys = term.pendingKeys()
            // A terminal that hung up without a SIGHUP stays "readable" with nothing to read:
            // leave instead of spinning.
            if ready[0] && keys.isEmpty {
                var t = termios()
                if tcgetattr(0, &t) != 0 { break }
            }
            for key in keys {
                if key == .resize { term.invalidate(); continue }
                let (w, h) = term.size
                snapshot.watchedAdoptions = ops.watchedCount
                let action = ConsoleController.handle(key, &ui, snapshot, pageSize: ConsoleView.pageSize(ui, width: w, height: h))
                switch action {
                case .quit?:
                    finishPending()
                    return
                case .scanOrphans?:
                    ui.overlay = .orphans(OrphanList(items: collector.orphans(targets: targets), limits: ops.adoptLimits(agent.current)))
                case let a?: start(a)
                case nil: break
                }
                // The detail and log views need their data now, not at the next tick.
                switch ui.overlay {
                case let .detail(id, _), let .log(id, _, _): if snapshot.detail?.id != id { refresh = true }
                default: break
                }
            }
            if let out = pending.outcome.withLock({ o -> ConsoleOperations.Outcome? in let v = o; o = nil; return v }) {
                ui.busy = nil
                ui.message = (out.message, !out.ok)
                if let w = out.wrapperEnabled { wrapperOverride = (w, Clock.monotonicNanoseconds() + 5_000_000_000) }
                agent.refreshSoon()
                refresh = true
            }
            if refresh || Clock.monotonicNanoseconds() >= next {
                collect()
                next = Clock.monotonicNanoseconds() + Int64(interval * 1e9)
            }
            draw()
        }
        finishPending()
    }

    /// An action in flight (a kill inside its grace period) is finished before the console
    /// exits, not cut off half done: bounded, so a hung agent cannot hold a dropped session.
    func finishPending() {
        let deadline = Clock.monotonicNanoseconds() + 30_000_000_000
        var buf = [UInt8](repeating: 0, count: 64)
        while let label = pending.label.withLock({ $0 }), Clock.monotonicNanoseconds() < deadline {
            ui.message = ("finishing before quitting: " + label, false)
            draw()
            _ = Sys.pollReadable([wakeFD], timeoutMs: 200)
            while read(wakeFD, &buf, buf.count) > 0 {}
        }
    }

    /// Runs one action off the UI thread (a kill can wait out a 10 s grace period).
    func start(_ action: ConsoleAction) {
        let label: String
        switch action {
        case let .kill(ids): label = "killing " + (ids.count == 1 ? ids[0] : "\(ids.count) jobs") + " (TERM, then KILL after 10 s)..."
        case .launch: label = "launching a test transcode..."
        case let .setWrapper(on): label = "setting WRAPPER_ENABLED=\(on)..."
        case let .adopt(o, _): label = "adopting pgid \(o.pgid)..."
        default: label = "working..."
        }
        let busy = pending.label.withLock { cur -> String? in
            if let c = cur { return c }
            cur = label
            return nil
        }
        if let b = busy { ui.message = ("busy: " + b + " (wait for it to finish)", true); return }
        // The busy line stays until the action ends, whatever keys are pressed meanwhile.
        ui.busy = label
        let state = agent.current
        let (ops, pending) = (self.ops, self.pending)
        Detached.run {
            let out = ops.perform(action, agent: state)
            pending.outcome.withLock { $0 = out }
            pending.label.withLock { $0 = nil }
            ffrtmp_wake_loop()
        }
    }
}
