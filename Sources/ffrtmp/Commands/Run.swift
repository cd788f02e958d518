import ArgumentParser
import FFRTMPCLI
import FFRTMPCore
import Glibc

extension FFRTMP {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a command as a governed job.",
            discussion: """
                The command runs under ffrtmp-shim in its own session, process group and cgroup; it \
                is inside the cgroup before its first instruction. Its stdout and stderr go to log \
                files in the job's directory; in the foreground they are also streamed here.

                Exit status: the job's exit code, or 128+N when it died by signal N; 127 when the \
                command was not found, 126 when it is not executable, 125 when ffrtmp itself failed \
                (bad options, no cgroups with --require-governance, outcome lost).

                Signals: Ctrl-C (SIGINT) and SIGQUIT are forwarded to the job. SIGHUP (the SSH \
                session dropped) and SIGTERM only detach this command (it exits 128+N): the job runs \
                on and its exit record is still written. kill -9 of this command never touches the job.

                Example: ffrtmp run --cpu-percent 150 --memory-max-mb 512 -- ffmpeg -i in.mp4 -c:v libx264 out.mp4
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var limits: LimitOptions

        @Option(name: .customLong("job-id"), help: "The job id: 1-128 of A-Z a-z 0-9 . _ -, not starting with a dot. Default: generated.")
        var jobID: String?

        @Option(help: "Seconds after which the supervisor sends SIGTERM to the job (then SIGKILL after --grace).")
        var timeout: Double?

        @Option(help: "Seconds between SIGTERM and SIGKILL when --timeout expires.")
        var grace: Double?

        @Flag(help: "Return as soon as the job runs and print its id.")
        var detach = false

        @Flag(help: "Print the result as one JSON object on one line (after the job's own output).")
        var json = false

        @Flag(name: .customLong("require-governance"), help: "Fail instead of running the job without full cgroup limits.")
        var requireGovernance = false

        @Option(help: "Run the command as this user (no supplementary groups, no new privileges), after it has joined its cgroups. Needs root. Default: the caller's own identity, as with cgexec.")
        var user: String?

        @Option(name: .customLong("max-output-mb"), help: "Stop the job (resource_error) once it has written this many MiB; no single file may grow past it either.")
        var maxOutputMB: Int?

        @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
        var command: [String] = []

        var invocation: RunInvocation {
            var wire = limits.wire
            wire.maxOutputMB = maxOutputMB
            return RunInvocation(context: global.context, wire: wire, cpuPercent: limits.cpuPercent, jobID: jobID,
                                 timeout: timeout, grace: grace, detach: detach, json: json,
                                 requireGovernance: requireGovernance, user: user, command: command)
        }

        func validate() throws {
            if let problem = invocation.problem { throw ValidationError(problem) }
        }

        func run() throws {
            throw ExitCode(invocation.execute())
        }
    }
}

/// `ffrtmp run` as plain data, so the hot path can skip ArgumentParser: its reflection-based
/// parsing costs several milliseconds per start, and every governed job pays start-up.
/// `FFRTMP.Run` (help, errors) and `RunInvocation.fastParse` both end here.
struct RunInvocation {
    var context: CLIContext
    var wire = WireConstraints()
    var cpuPercent: Int?
    var jobID: String?
    var timeout: Double?
    var grace: Double?
    var detach = false
    var json = false
    var requireGovernance = false
    var user: String?
    var command: [String] = []

    /// Usage problems ArgumentParser reports (with the usage line) before anything runs.
    var problem: String? {
        if command.isEmpty { return "give the command to run after --, e.g. ffrtmp run -- ffmpeg -version" }
        if let t = timeout, !(t > 0) { return "--timeout must be a number of seconds greater than 0, not \(t)" }
        if let g = grace, !(g >= 0) { return "--grace must be a number of seconds >= 0, not \(g)" }
        return nil
    }

    /// Parses the documented flags in their documented `--flag value` form. Anything else
    /// (--help, --flag=value, an unknown or malformed flag) returns nil, and ArgumentParser
    /// handles the whole command line, so help and errors have one source.
    static func fastParse(_ args: ArraySlice<String>) -> RunInvocation? {
        var inv = RunInvocation(context: CLIContext())
        var it = args.makeIterator()
        while let a = it.next() {
            if a == "--" {
                inv.command = Array(IteratorSequence(it))
                return inv.problem == nil ? inv : nil
            }
            switch a {
            case "--detach": inv.detach = true; continue
            case "--json": inv.json = true; continue
            case "--require-governance": inv.requireGovernance = true; continue
            default: break
            }
            guard let v = it.next() else { return nil }
            switch a {
            case "--state-dir": inv.context.stateDir = v
            case "--cgroup-parent": inv.context.cgroupParent = v
            case "--job-id": inv.jobID = v
            case "--cpu-max": inv.wire.cpuMax = v
            case "--io-max": inv.wire.ioMax = inv.wire.ioMax.map { $0 + "\n" + v } ?? v
            case "--cpu-percent": guard let n = Int(v) else { return nil }; inv.cpuPercent = n
            case "--cpu-weight": guard let n = Int(v) else { return nil }; inv.wire.cpuWeight = n
            case "--memory-max-mb": guard let n = Int(v) else { return nil }; inv.wire.memoryMaxMB = n
            case "--memory-swap-max-mb": guard let n = Int(v) else { return nil }; inv.wire.memorySwapMaxMB = n
            case "--pids-max": guard let n = Int(v) else { return nil }; inv.wire.pidsMax = n
            case "--max-output-mb": guard let n = Int(v) else { return nil }; inv.wire.maxOutputMB = n
            case "--user": inv.user = v
            case "--timeout": guard let n = Double(v) else { return nil }; inv.timeout = n
            case "--grace": guard let n = Double(v) else { return nil }; inv.grace = n
            default: return nil
            }
        }
        return nil
    }

    /// Runs the job; returns the exit status (see `ffrtmp run --help`).
    func execute() -> Int32 {
        // Block the control signals before the job exists, so none is lost or acts by default.
        let sigFD = Sys.controlSignalFD()
        signal(SIGPIPE, SIG_IGN)
        let launched: LaunchedJob
        let inspector: JobInspector
        do {
            let id = try jobID.map(JobID.init) ?? JobID.generate()
            let constraints = try ConstraintParser().parse(wire, cpuPercent: cpuPercent)
            let runAs = try user.map { try JobUser.lookup($0, key: "--user") }
            if let u = runAs, geteuid() != 0, u.uid != geteuid() {
                throw FFRTMPError.invalidField(field: "--user", value: u.name, expected: "your own user: only root can run a job as another user")
            }
            inspector = try context.inspector()
            let shim = try ShimLocator.locate(environment: context.environment)
            let launcher = JobLauncher(journal: inspector.journal, driver: inspector.driver, shimPath: shim)
            launched = try launcher.launch(LaunchRequest(jobID: id, argv: command, constraints: constraints,
                                                         timeoutSeconds: timeout, graceSeconds: grace,
                                                         requireGovernance: requireGovernance, user: runAs))
        } catch {
            return report(error)
        }
        if detach, launched.workloadPID != nil {
            Output.out(launched.jobID.value)
            return 0
        }
        let journal = inspector.journal
        let follower = LogFollower(pairs: [(journal.file(launched.jobID, "stdout.log"), 1),
                                           (journal.file(launched.jobID, "stderr.log"), 2)])
        // A failed start (--detach included) falls through: the shim has exited and recorded why.
        if let sig = waitForShim(launched, follower: follower, signalFD: sigFD) {
            Output.err("ffrtmp: detached from job \(launched.jobID) on \(Signals.name(sig)); it keeps running (ffrtmp ps, ffrtmp kill \(launched.jobID))")
            return 128 + sig
        }
        follower.pump()
        let status: JobStatus
        do { status = try inspector.status(launched.jobID, withUsage: false, knownSpec: launched.spec) } catch { return report(error) }
        let result = status.result
        Output.err(result.summaryLine)
        if json { Output.out(Output.json(result)) }
        return Self.exitStatus(status)
    }

    func report(_ error: Error) -> Int32 {
        Output.err("ffrtmp: error: \((error as? FFRTMPError)?.description ?? "\(error)")")
        return 125
    }

    /// Streams logs until the shim exits. Returns the signal that made us detach, if any.
    func waitForShim(_ job: LaunchedJob, follower: LogFollower, signalFD: Int32) -> Int32? {
        let pidfd = Sys.pidfdOpen(job.shimPID)
        defer { if pidfd >= 0 { close(pidfd) } }
        while true {
            let ready = Sys.pollReadable(pidfd >= 0 ? [signalFD, pidfd] : [signalFD], timeoutMs: 50)
            follower.pump()
            if ready[0] {
                let sig = Sys.readSignal(signalFD)
                switch sig {
                case SIGINT, SIGQUIT:
                    // The shim is our unreaped child, so its pid cannot have been reused.
                    kill(job.shimPID, sig)
                case SIGHUP, SIGTERM:
                    return sig
                default:
                    break
                }
            }
            var st: Int32 = 0
            if (pidfd >= 0 && ready.count > 1 && ready[1]) || pidfd < 0 {
                let r = waitpid(job.shimPID, &st, pidfd >= 0 ? 0 : WNOHANG)
                if r == job.shimPID || (r < 0 && errno == ECHILD) { return nil }
            }
        }
    }

    static func exitStatus(_ st: JobStatus) -> Int32 {
        if let e = st.exit {
            if let s = e.shellStatus { return s }
            if let se = e.spawnError, se.stage == "exec" {
                return se.errno == ENOENT ? 127 : 126
            }
        }
        return 125
    }
}
