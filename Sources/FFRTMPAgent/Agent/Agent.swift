import FFRTMPCore
import FFRTMPMasterClient
import FFRTMPWire
import FoundationEssentials
import Glibc
import Logging

/// The headless worker: pulls jobs from the master, routes each to the wrapper path (shim,
/// cgroup, journal) or the legacy path (a direct child, as before), and reports every
/// outcome exactly once through the durable outbox. It holds no state the journal and the
/// outbox do not hold, so `kill -9` and a restart lose nothing: running wrapped jobs are
/// found again, finished ones are reported.
public final class Agent {
    public var config: WorkerConfig
    let configFile: String?
    let journal: JobJournal
    let inspector: JobInspector
    let launcher: JobLauncher
    let outbox: Outbox
    let lock: StateDirLock
    let client: MasterClient?
    let logger: Logger

    struct Tracked {
        var job: AgentJob
        /// Read from spec.json once (it never changes), not on every sample.
        var cgroup: JobCgroup??
        var legacyPID: Int32?
        var legacyDeadline: Int64?
        /// max_disk_mb in bytes: RLIMIT_FSIZE bounds each file; the loop watches the total.
        var legacyMaxOutput: UInt64?
    }
    var tracked: [JobID: Tracked] = [:]
    var registered = false
    var nextHeartbeat: Int64 = 0
    var nextRegister: Int64 = 0
    var nextPoll: Int64 = 0
    var nextDelivery: Int64 = 0
    var deliveryBackoff = 0.5
    var nextSample: Int64 = 0
    var nextWatchdog: Int64 = 0
    var attached: Set<JobID> = []
    /// The once-a-second survey of every journal job (ended ones are not read again).
    let journalWatch: JournalWatch
    /// Shims this agent started are its children until they exit: reaped here so none lingers
    /// as a zombie (only these pids: a legacy child's status belongs to reapLegacy).
    var shims: Set<Int32> = []
    public let metrics = AgentMetrics()
    /// What the environment overrode at start (WorkerConfig.environmentOverrides): a SIGHUP
    /// reload applies only this over worker.env, so the file's values are the ones in force.
    public var startupEnvironment: [String: String] = [:]
    var control: ControlSocket?
    let notifier = SystemdNotifier(environment: ProcessEnvironment.current())

    /// The job side of the configuration: JOB_USER, MEDIA_ROOTS, the host policy.
    var media: JobMedia
    let shimPath: String

    public init(config: WorkerConfig, configFile: String?, journal: JobJournal, driver: CgroupDriver, shimPath: String,
                media: JobMedia, logger: Logger) throws {
        self.config = config
        self.media = media
        self.shimPath = shimPath
        self.configFile = configFile
        self.journal = journal
        // First, before anything in the state dir is touched (the control socket is unlinked
        // and re-created at start): one agent per journal.
        lock = try StateDirLock(stateDir: journal.stateDir)
        inspector = JobInspector(journal: journal, driver: driver)
        journalWatch = JournalWatch(inspector: inspector)
        launcher = JobLauncher(journal: journal, driver: driver, shimPath: shimPath)
        outbox = try Outbox(stateDir: journal.stateDir)
        client = try config.masterURL.map { try MasterClient(baseURL: $0, key: config.apiKey ?? "", timeoutSeconds: 5) }
        self.logger = logger
    }

    var engines: EngineCommand { EngineCommand(ffmpegPath: config.ffmpegPath, gstLaunchPath: config.gstLaunchPath) }

    /// Runs until SIGTERM or SIGINT on `signalFD`; returns the exit status. Jobs keep running.
    public func run(signalFD: Int32) -> Int32 {
        if let port = config.metricsPort {
            do {
                let m = metrics, ob = outbox
                try MetricsServer(port: port, render: { m.registry.emitToString() },
                                  health: { "{\"status\":\"ok\",\"outbox_depth\":\(ob.depth)}\n" }).start()
            } catch {
                logger.error("metrics server not started: \(error)")
                return 1
            }
        }
        do {
            let c = try ControlSocket(stateDir: journal.stateDir)
            c.start()
            control = c
        } catch {
            logger.error("control socket not started: \(error)")
            return 1
        }
        readopt()
        notifier.notify("READY=1\nSTATUS=running")
        logger.info("agent started node=\(config.nodeID) master=\(config.masterURL ?? "none (standalone)") wrapper_enabled=\(config.wrapperEnabled) max_jobs=\(config.maxJobs) job_user=\(media.user?.description ?? "-") media_roots=\(media.roots.listed)")
        while true {
            if Sys.pollReadable([signalFD], timeoutMs: 100)[0] {
                switch Sys.readSignal(signalFD) {
                case SIGTERM, SIGINT:
                    notifier.notify("STOPPING=1")
                    deliver(force: true)
                    if let c = control { unlink(c.path) }
                    logger.info("agent stopping: \(tracked.count) job(s) keep running, \(outbox.depth) result(s) still queued")
                    return 0
                case SIGHUP:
                    reload()
                default: break
                }
            }
            tick()
        }
    }

    /// One pass of the loop; public so tests can drive the agent step by step.
    public func tick() {
        let now = Clock.monotonicNanoseconds()
        reapLegacy()
        for pid in shims {
            var st: Int32 = 0
            let r = waitpid(pid, &st, WNOHANG)
            if r == pid || (r < 0 && errno == ECHILD) { shims.remove(pid) }
        }
        if now >= nextSample {
            // Once a second: the survey reads the journal, procfs and cgroupfs for every job that
            // has not ended; collectFinished reuses what it read for the tracked ones.
            collectFinished(surveyJournal())
            sample()
            nextSample = now + 1_000_000_000
        }
        if let w = notifier.watchdogIntervalNs, now >= nextWatchdog { notifier.notify("WATCHDOG=1"); nextWatchdog = now + w }
        control?.drain(serve)
        finishAttached()
        guard let client else { return }
        if !registered && now >= nextRegister { register(client) }
        if registered && now >= nextHeartbeat {
            heartbeat(client)
            nextHeartbeat = now + Int64(config.heartbeatInterval * 1e9)
        }
        if registered && now >= nextPoll && tracked.count < config.maxJobs {
            poll(client)
            nextPoll = now + Int64(config.pollInterval * 1e9)
        }
        if now >= nextDelivery { deliver(force: false) }
    }

    func reload() {
        guard let file = configFile else { return }
        do {
            // The file is checked before it is read: a reload must not apply what a local user wrote.
            try TrustedPath.check(file, what: "worker.env")
            let next = try WorkerConfig.load(file: FileIO.read(file), environment: startupEnvironment)
            try next.checkTrusted(configFile: file, stateDir: journal.stateDir, shimPath: shimPath)
            let nextMedia = try next.jobMedia()
            // The node's identity and its master are fixed for the agent's life: results in flight name them.
            guard next.nodeID == config.nodeID, next.masterURL == config.masterURL, next.apiKey == config.apiKey else {
                logger.warning("reload of \(file) refused: NODE_ID, MASTER_URL and the key only change with a restart")
                return
            }
            config = next
            media = nextMedia
            if nextMedia.user?.isRoot == true { logger.warning("JOB_USER=root: workloads run as root, with no confinement by user") }
            logger.info("reloaded \(file): wrapper_enabled=\(config.wrapperEnabled) job_user=\(nextMedia.user?.description ?? "-") media_roots=\(nextMedia.roots.listed)")
        } catch {
            logger.warning("reload of \(file) refused, keeping the old settings: \(error)")
        }
    }

    // MARK: control socket

    /// A control-socket request: answered on the loop, except a kill, which waits out a grace
    /// period (10 s) on its own thread so heartbeats, polls and the watchdog keep time.
    func serve(_ req: ControlRequest, reply: @escaping @Sendable (String) -> Void) {
        guard req.op == "kill" else { return reply(handle(req)) }
        let (inspector, log) = (inspector, logger)
        Detached.run { reply(Self.killReply(req, inspector: inspector, logger: log)) }
    }

    static func killReply(_ req: ControlRequest, inspector: JobInspector, logger: Logger) -> String {
        do {
            let id = try JobID(req.job ?? "")
            let out = try JobKiller(inspector: inspector).kill(id, graceSeconds: 10, requestedBy: "operator via control socket")
            for n in out.notes { logger.warning("kill of \(id): \(n)") }
            return ControlJSON.json(.object(["ok": .bool(true), "job": .string(id.value), "state": .string(out.status.state.rawValue)]))
        } catch {
            return ControlJSON.json(.object(["ok": .bool(false), "error": .string("\(error)")]))
        }
    }

    func handle(_ req: ControlRequest) -> String {
        func reply(_ fields: [String: JSONValue]) -> String {
            var f = fields
            f["ok"] = .bool(true)
            return ControlJSON.json(JSONValue.object(f))
        }
        func failure(_ msg: String) -> String { ControlJSON.json(JSONValue.object(["ok": .bool(false), "error": .string(msg)])) }
        do {
            switch req.op {
            case "status":
                return reply(["node_id": .string(config.nodeID), "master_url": config.masterURL.map { .string($0) } ?? .null,
                              "registered": .bool(registered), "wrapper_enabled": .bool(config.wrapperEnabled),
                              "running": .array(tracked.values.map { .string($0.job.masterJobID) }),
                              "outbox_depth": .number(Double(outbox.depth)), "config_file": configFile.map { .string($0) } ?? .null])
            case "get_wrapper":
                return reply(["wrapper_enabled": .bool(config.wrapperEnabled)])
            case "set_wrapper":
                guard let on = req.enabled else { return failure("set_wrapper needs \"enabled\": true or false") }
                var persisted = false
                if let file = configFile {
                    try WorkerConfig.persist(key: "WRAPPER_ENABLED", value: on ? "true" : "false", in: file)
                    persisted = true
                }
                config.wrapperEnabled = on
                logger.info("WRAPPER_ENABLED set to \(on) over the control socket (persisted: \(persisted))")
                return reply(["wrapper_enabled": .bool(on), "persisted": .bool(persisted)])
            case "list":
                let results = inspector.all(withUsage: false).compactMap { try? $0.get().result }
                return reply(["jobs": try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(results))])
            case "kill":
                return Self.killReply(req, inspector: inspector, logger: logger)
            case "launch_test":
                let id = JobID.generate()
                let l = try launcher.launch(TestTranscode.request(jobID: id, engines: engines, durationSeconds: req.durationSeconds ?? 10,
                                                                  cpuMax: req.cpuMax, memoryMaxMB: req.memoryMaxMB, defaults: config.defaultConstraints,
                                                                  user: media.user))
                shims.insert(l.shimPID)
                metrics.started(.wrapper)
                return reply(["job": .string(id.value)])
            case "attach":
                guard let pgid = req.pgid else { return failure("attach needs \"pgid\"") }
                // A pgid of 0 or 1, or one no process has, is said as such, not as "not a transcode".
                let members: [ProcessIdentity]
                do { members = try Attacher.resolve(.pgid(pgid)) } catch { return failure("attach pgid \(pgid): \(error)") }
                // Group members may adopt transcodes, not arbitrary (root) daemons.
                guard members.allSatisfy({ ProcFS.stat($0.pid).map { config.autoAttachTargets.contains($0.comm) } ?? false }) else {
                    return failure("attach is limited to process groups of \(config.autoAttachTargets.joined(separator: ", ")) (AUTO_ATTACH_TARGETS)")
                }
                let spec = try Attacher(journal: journal, driver: inspector.driver).adopt(
                    .pgid(pgid), jobID: JobID.generate(), constraints: try ConstraintParser().parse(config.defaultConstraints), requireGovernance: false)
                attached.insert(spec.jobID)
                metrics.started(.attach)
                return reply(["job": .string(spec.jobID.value)])
            default:
                return failure("unknown op \"\(req.op)\": status, get_wrapper, set_wrapper, list, kill, launch_test, attach")
            }
        } catch {
            return failure("\(error)")
        }
    }

    func finishAttached() {
        let attacher = Attacher(journal: journal, driver: inspector.driver)
        for id in attached {
            guard let spec = try? journal.spec(id) else { attached.remove(id); continue }
            if (try? attacher.finishIfEnded(spec)) != nil { attached.remove(id) }
        }
    }

    // MARK: re-adoption

    /// After a restart: every journal job the agent started is either still running (watch it
    /// again) or finished (report it, unless its result is already queued or delivered).
    func readopt() {
        for id in journal.jobIDs() {
            guard let aj = AgentJob.read(journal, id), !outbox.contains(jobID: aj.masterJobID, attempt: aj.attempt) else { continue }
            tracked[id] = Tracked(job: aj)
        }
        if !tracked.isEmpty { logger.info("re-adopted \(tracked.count) job(s) from the journal") }
        // Attach jobs whose watcher (an earlier agent, or a console) is gone: watch them again,
        // so their record is written when the adopted processes end.
        for id in journal.jobIDs() where !attached.contains(id) {
            guard let st = try? inspector.status(id, withUsage: false), st.spec.mode == .attach, st.exit == nil,
                  !(st.supervisor?.isAlive ?? false), st.state == .orphaned, let me = ProcessIdentity.current(getpid()) else { continue }
            do {
                try journal.writeSupervisor(id, me)
                attached.insert(id)
                logger.info("watching attached job \(id) again")
            } catch {
                logger.warning("attached job \(id) could not be taken over: \(error)")
            }
        }
        collectFinished()
    }

    // MARK: master protocol

    func register(_ client: MasterClient) {
        let body = NodeRegistration(nodeID: config.nodeID, hostname: config.nodeID, wrapperEnabled: config.wrapperEnabled,
                                    runningJobs: tracked.values.map(\.job.masterJobID))
        do {
            _ = try client.json(Node.self, "POST", "/api/nodes/register", body: try JSONEncoder().encode(body))
            registered = true
            logger.info("registered with \(client.baseURL)")
        } catch {
            // Retried once per heartbeat interval, not on every loop pass: a wrong key or a
            // master that is down must not cost it ten requests (and log lines) a second.
            nextRegister = Clock.monotonicNanoseconds() + Int64(config.heartbeatInterval * 1e9)
            metrics.heartbeatFailures.increment()
            logger.warning("register failed (will retry in \(config.heartbeatInterval) s): \(error)")
        }
    }

    func heartbeat(_ client: MasterClient) {
        do {
            let reply = try client.json(HeartbeatReply.self, "POST", "/api/nodes/\(config.nodeID)/heartbeat",
                                        body: try JSONEncoder().encode(Heartbeat(runningJobs: tracked.values.map(\.job.masterJobID))))
            for cancel in reply.cancel { self.cancel(masterID: cancel) }
        } catch MasterClient.ClientError.api(404, _) {
            registered = false
        } catch {
            metrics.heartbeatFailures.increment()
            logger.warning("heartbeat failed: \(error)")
        }
    }

    func poll(_ client: MasterClient) {
        do {
            let (status, data) = try client.call("GET", "/api/jobs/next?node_id=\(config.nodeID)")
            if status == 204 { return }
            guard status == 200 else { logger.warning("poll: master answered \(status)"); return }
            start(try JSONDecoder().decode(MasterJob.self, from: data))
        } catch {
            logger.warning("poll failed: \(error)")
        }
    }

    /// Sends queued results, oldest first; stops at the first failure and backs off (with jitter).
    func deliver(force: Bool) {
        guard let client else { return }
        for (file, report) in outbox.pending() {
            do {
                let (status, data) = try client.call("POST", "/api/results", body: try JSONEncoder().encode(report))
                if [400, 404, 409, 413].contains(status) {
                    // The master will never take this one (stale attempt, unknown job, bad body):
                    // set it aside and count it instead of blocking the queue or dropping it.
                    logger.error("result \(file) refused by the master (\(status)): \(String(decoding: data.prefix(200), as: UTF8.self)); kept in outbox/rejected")
                    try outbox.markRejected(file)
                    metrics.rejected.increment()
                    continue
                }
                if (200..<300).contains(status) {
                    try outbox.markDelivered(file)
                    metrics.outbox.set(Double(outbox.depth))
                    deliveryBackoff = 0.5
                    continue
                }
                logger.warning("result \(file): master answered \(status)")
            } catch {
                if !force { logger.warning("delivering \(file) failed (will retry): \(error)") }
            }
            deliveryBackoff = min(30, deliveryBackoff * 2)
            nextDelivery = Clock.monotonicNanoseconds() + Int64(deliveryBackoff * Double.random(in: 0.8...1.2) * 1e9)
            return
        }
    }

    // MARK: running jobs

    func start(_ job: MasterJob) {
        let path = JobRouting.path(jobSays: job.wrapperEnabled, nodeDefault: config.wrapperEnabled)
        guard (try? WireValidation.jobID(job.id)) != nil, job.attempt >= 1 else {
            // Nothing from this job may become a path; the master is told nothing (there is no valid id to answer).
            logger.error("dispatched job refused: invalid id or attempt \(job.id.prefix(40)) #\(job.attempt)")
            return
        }
        let aj = AgentJob(masterJobID: job.id, attempt: job.attempt, path: path, wrapperEnabled: job.wrapperEnabled, nodeID: config.nodeID)
        var opened: JobMedia.Opened?
        do {
            let id = try AgentJob.journalID(job.id, attempt: job.attempt)
            let params = try TranscodeParameters(job.parameters)
            let wire = JobRouting.constraints(explicit: job.wrapperConstraints, legacy: params.resourceLimits, defaults: config.defaultConstraints)
            var constraints = try ConstraintParser().parse(wire)
            // max_output_mb / max_disk_mb bound what a job writes to local disk: a push to an
            // RTMP server writes to a socket, which /proc/PID/io counts too, and must not be cut
            // off after N MB by a disk limit.
            if params.output.map({ $0.contains("://") }) ?? true { constraints.maxOutputMB = nil }
            // Everything that can be refused is checked before a file is created for the job:
            // the paths and hosts first (as text), then what the engine makes of the rest.
            try media.check(params)
            _ = try engines.argv(job.engine, params, files: .asGiven(params))
            let files = try media.open(params)
            opened = files
            let argv = try engines.argv(job.engine, params, files: files.paths)
            let sidecar = String(decoding: try JSONEncoder().encode(aj), as: UTF8.self)
            switch path {
            case .wrapper, .attach:
                let l = try launcher.launch(LaunchRequest(jobID: id, argv: argv, constraints: constraints,
                                                          timeoutSeconds: params.resourceLimits?.timeoutSec, sidecars: ["agent.json": sidecar],
                                                          user: media.user, files: files.files, progressFile: true))
                shims.insert(l.shimPID)
                tracked[id] = Tracked(job: aj)
            case .legacy:
                tracked[id] = try startLegacy(id, argv: argv, job: aj, sidecar: sidecar, timeout: params.resourceLimits?.timeoutSec,
                                              files: files.files, maxOutputBytes: constraints.maxOutputBytes)
            }
            files.close()
            metrics.started(path)
            logger.info("job \(job.id) attempt \(job.attempt) started on the \(path.rawValue) path as \(id)")
        } catch {
            opened?.discard(media.roots)
            let user = error is WireError || (error as? FFRTMPError).map(Self.isUserError) == true
            logger.warning("job \(job.id) rejected: \(error)")
            let report = JobResultReport(jobID: job.id, attempt: job.attempt, nodeID: config.nodeID, status: .failed,
                                         platformSLA: user, platformSLAReason: user ? "bad_input" : "spawn_failed_platform",
                                         failureReason: user ? "user_error" : "platform_error",
                                         result: .object(["error": .string("\(error)"), "path": .string(path.rawValue)]))
            // A job that never started is a finished job too: a platform spawn failure must
            // count against ffrtmp_platform_sla_uptime_ratio like any other platform fault.
            if enqueue(report) { metrics.finished(path, report, oom: false) }
        }
    }

    static func isUserError(_ e: FFRTMPError) -> Bool {
        switch e {
        case .invalidField, .pathRefused: return true
        default: return false
        }
    }

    /// The legacy path as it always was: a direct child of the agent, no cgroup, its own
    /// timeout from resource_limits. Its logs and exit still go to the journal. Like every
    /// workload of the agent it runs as JOB_USER, and max_disk_mb bounds what it writes.
    func startLegacy(_ id: JobID, argv: [String], job: AgentJob, sidecar: String, timeout: Double?, files: [PassedFD],
                     maxOutputBytes: UInt64?) throws -> Tracked {
        var applied = WireConstraints()
        applied.maxOutputMB = maxOutputBytes.map { Int($0 / (1024 * 1024)) }
        let spec = JobSpec(jobID: id, mode: .legacy, argv: argv, constraints: applied, constraintsApplied: applied,
                           timeoutSeconds: timeout, cgroup: nil, governance: Governance(level: .none, reason: "legacy path (wrapper_enabled not set)"),
                           createdAtUnixNs: Clock.realtimeNanoseconds(), runAs: media.user)
        try journal.create(spec)
        let pid: Int32
        do {
            try FileIO.writeAtomically(journal.file(id, "agent.json"), sidecar, sync: false)
            let out = try journal.createJobFile(id, "stdout.log")
            defer { close(out) }
            let err = try journal.createJobFile(id, "stderr.log")
            defer { close(err) }
            let progress = try journal.createJobFile(id, "progress")
            defer { close(progress) }
            pid = try Sys.spawnLogged(path: argv[0], argv: argv, stdout: out, stderr: err, user: media.user,
                                      files: files + [PassedFD(source: progress, target: WorkloadFD.progress)], maxFileBytes: maxOutputBytes)
        } catch {
            // Nothing started: no journal job is left for `ps` to show, or a restart to find.
            journal.abandon(id)
            throw error
        }
        // The child runs now: a failure to record it (a full disk) must not abandon it untracked.
        do {
            if let me = ProcessIdentity.current(getpid()) { try journal.writeSupervisor(id, me) }
            if let child = ProcessIdentity.current(pid) { try journal.writeWorkload(id, WorkloadPID(identity: child, pgid: pid)) }
        } catch {
            logger.error("job \(id): started as pid \(pid), but its pid files could not be written (it is still watched): \(error)")
        }
        return Tracked(job: job, legacyPID: pid, legacyDeadline: timeout.map { Clock.monotonicNanoseconds() + Int64($0 * 1e9) },
                       legacyMaxOutput: maxOutputBytes)
    }

    /// The legacy child's group and the child itself: it may have left its group (setpgid),
    /// and it is our unreaped child, so its pid is still its own.
    static func signalLegacy(_ pid: Int32, _ sig: Int32) {
        _ = Glibc.kill(-pid, sig)
        _ = Glibc.kill(pid, sig)
    }

    func reapLegacy() {
        for (id, t) in tracked {
            guard let pid = t.legacyPID else { continue }
            if let d = t.legacyDeadline, Clock.monotonicNanoseconds() > d {
                Self.signalLegacy(pid, SIGKILL)
                tracked[id]?.legacyDeadline = nil
                do {
                    try FileIO.writeAtomically(journal.file(id, "timed-out"), "resource_limits.timeout_sec\n", sync: false)
                } catch {
                    logger.error("job \(id): timed out, but the marker could not be written (its result will not say timed_out): \(error)")
                }
            }
            // What the child has written, checked before it may be reaped (a zombie's io still reads).
            if let limit = t.legacyMaxOutput, let written = ProcFS.bytesWritten(pid), written >= limit,
               !FileIO.exists(journal.file(id, "output-limit")) {
                Self.signalLegacy(pid, SIGKILL)
                do {
                    try FileIO.writeAtomically(journal.file(id, "output-limit"), "\(written)\n", sync: false)
                } catch {
                    logger.error("job \(id): output limit reached, but the marker could not be written: \(error)")
                }
            }
            var st: Int32 = 0
            var ru = rusage()
            guard wait4(pid, &st, WNOHANG, &ru) == pid else { continue }
            let spec = try? journal.spec(id)
            let now = Clock.realtimeNanoseconds()
            let started = spec?.createdAtUnixNs ?? now
            let exited = (st & 0x7f) == 0
            let rec = ExitRecord(pid: pid, pidStartTime: journal.workload(id)?.identity.startTime ?? 0, pgid: pid,
                                 exitCode: exited ? (st >> 8) & 0xff : nil, signal: exited ? nil : st & 0x7f, oomKilled: false, oomKillCount: 0,
                                 timedOut: FileIO.exists(journal.file(id, "timed-out")), killedBy: journal.killRequest(id),
                                 startedAtUnixNs: started, endedAtUnixNs: now, durationNs: now - started,
                                 cpuUsageNs: UInt64(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1_000_000_000 + UInt64(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000,
                                 peakMemoryBytes: UInt64(ru.ru_maxrss) * 1024, usageSource: "rusage")
            var record = rec
            if t.legacyMaxOutput != nil, FileIO.exists(journal.file(id, "output-limit")) || (!exited && st & 0x7f == SIGXFSZ) {
                record.outputLimitExceeded = true
            }
            do { try journal.writeExitRecord(id, record) } catch { logger.error("job \(id): cannot write its exit record: \(error)") }
            tracked[id]?.legacyPID = nil
        }
    }

    /// Counts every journal job by state for `ffrtmp_jobs{state}` (orphaned and lost jobs of
    /// any front end show up here), and returns the statuses it read. A job is read in full
    /// once; then only what can change is (JobInspector.refresh), and nothing once it ended.
    func surveyJournal() -> [JobID: JobStatus] {
        var counts: [String: Int] = [:]
        var read: [JobID: JobStatus] = [:]
        for seen in journalWatch.poll() {
            switch seen.status {
            case let .success(st):
                counts[st.state.rawValue, default: 0] += 1
                if seen.fresh { read[seen.id] = st }
            case .failure:
                counts[AgentMetrics.unreadable, default: 0] += 1
            }
        }
        metrics.journal(counts)
        return read
    }

    /// Reports every tracked job that has ended (or whose outcome was lost). `known`: statuses
    /// read moments ago by the survey; a tracked job not among them is read here.
    func collectFinished(_ known: [JobID: JobStatus] = [:]) {
        for (id, t) in tracked where t.legacyPID == nil {
            guard let st = known[id] ?? (try? inspector.status(id, withUsage: false)), !st.state.isLive else { continue }
            let report = t.job.report(st.result, nodeID: config.nodeID)
            guard enqueue(report) else { continue }
            metrics.finished(t.job.path, report, oom: st.result.oomKilled)
            metrics.forget(job: id.value)
            tracked[id] = nil
            logger.info("job \(t.job.masterJobID) attempt \(t.job.attempt) ended: \(st.result.summaryLine)")
        }
    }

    /// True once the result is on disk (or already was); false leaves the job tracked, to retry.
    @discardableResult
    func enqueue(_ r: JobResultReport) -> Bool {
        defer {
            nextDelivery = 0
            metrics.outbox.set(Double(outbox.depth))
        }
        do {
            try outbox.enqueue(r)
            return true
        } catch {
            logger.error("cannot queue the result of \(r.jobID) (will retry): \(error)")
            return false
        }
    }

    /// Live CPU, memory and throttling of the wrapped jobs, once a second.
    func sample() {
        metrics.active.set(Double(tracked.count))
        metrics.outbox.set(Double(outbox.depth))
        for (id, t) in tracked {
            let cached = t.cgroup ?? (try? journal.spec(id))?.cgroup
            tracked[id]?.cgroup = .some(cached)
            guard let cg = cached else { continue }
            metrics.usage(job: id.value, inspector.driver.usage(cg))
        }
    }

    func cancel(masterID: String) {
        guard let (id, t) = tracked.first(where: { $0.value.job.masterJobID == masterID }) else { return }
        // The master repeats a cancel on every heartbeat until the result lands: act once.
        if journal.killRequest(id) != nil { return }
        let who = "master cancel node=\(config.nodeID)"
        if let pid = t.legacyPID {
            try? journal.writeKillRequest(id, by: who)
            Self.signalLegacy(pid, SIGTERM)
        } else {
            // The grace period must not stall the loop (and with it the systemd watchdog).
            let (killer, log) = (JobKiller(inspector: inspector), logger)
            Detached.run {
                do {
                    let out = try killer.kill(id, graceSeconds: 10, requestedBy: who)
                    for n in out.notes { log.warning("cancel of \(masterID): \(n)") }
                } catch { log.warning("cancel of \(masterID) failed: \(error)") }
            }
        }
    }
}
