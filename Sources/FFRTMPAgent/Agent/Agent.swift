import FFRTMPCore
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
    /// Register, heartbeat, poll and delivery, on tasks of their own (nil: standalone).
    let session: MasterSession?
    /// The session writes a byte here when a job or a cancel comes in, so the loop starts the
    /// job at once rather than at its next 100 ms pass (a job taken from the master but not yet
    /// journaled is lost if the agent dies in between).
    let wake: (read: Int32, write: Int32)
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
    var nextSample: Int64 = 0
    var nextWatchdog: Int64 = 0
    var attached: Set<JobID> = []
    /// Master cancels this process acted on (the loop's only: the kill itself runs detached).
    var cancelled: Set<JobID> = []
    /// The once-a-second survey of every journal job (ended ones are not read again).
    let journalWatch: JournalWatch
    /// Shims this agent started are its children until they exit: reaped here so none lingers
    /// as a zombie (only these pids: a legacy child's status belongs to reapLegacy).
    var shims: Set<Int32> = []
    public let metrics: AgentMetrics
    /// What the environment overrode at start (WorkerConfig.environmentOverrides): a SIGHUP
    /// reload applies only this over worker.env, so the file's values are the ones in force.
    public var startupEnvironment: [String: String] = [:]
    var control: ControlSocket?
    /// Auto-attach's settings, refusals and log memory (configureAutoAttach).
    var autoAttach: AutoAttachRun?
    /// Process groups that are running journal jobs' workloads, from the last survey.
    var workloadGroups: [Int32: JobID] = [:]
    let notifier = SystemdNotifier(environment: ProcessEnvironment.current())

    /// Starts the /metrics and /health server (HOST, PORT, metrics text, health JSON): the
    /// daemon binary passes its HTTP server in, so this library links none.
    public typealias MetricsServing = @Sendable (String, Int, @escaping @Sendable () -> String, @escaping @Sendable () -> String) throws -> Void
    public var serveMetrics: MetricsServing?

    /// The job side of the configuration: JOB_USER, MEDIA_ROOTS, the host policy.
    var media: JobMedia
    let shimPath: String

    /// `master`: how to reach MASTER_URL (the daemon's HTTP client); nil runs standalone.
    public init(config: WorkerConfig, configFile: String?, journal: JobJournal, driver: CgroupDriver, shimPath: String,
                media: JobMedia, master: MasterTransport?, logger: Logger) throws {
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
        let box = try Outbox(stateDir: journal.stateDir)
        outbox = box
        self.logger = logger
        let view = MasterSession.View(running: [], freeSlots: config.maxJobs, wrapperEnabled: config.wrapperEnabled,
                                      heartbeatInterval: config.heartbeatInterval, pollInterval: config.pollInterval,
                                      pollReserveBytes: UInt64(config.pollReserveMB) << 20)
        let m = AgentMetrics()
        metrics = m
        let w = try Sys.pipeCloexec()
        for fd in [w.read, w.write] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wake = w
        let instance = master == nil ? "" : try AgentInstance.id(stateDir: journal.stateDir)
        session = master.map { MasterSession(transport: $0, nodeID: config.nodeID, outbox: box, stateDir: journal.stateDir, wakeFD: w.write, metrics: m,
                                             logger: logger, view: view, instanceID: instance, hostname: Sys.hostname()) }
    }

    /// The session is stopped whenever run() returns, so nothing writes to the pipe after this.
    deinit {
        close(wake.read)
        close(wake.write)
    }

    var engines: EngineCommand { EngineCommand(ffmpegPath: config.ffmpegPath, gstLaunchPath: config.gstLaunchPath) }

    /// Runs until SIGTERM or SIGINT on `signalFD`; returns the exit status. Jobs keep running.
    public func run(signalFD: Int32) -> Int32 {
        if let port = config.metricsPort {
            do {
                let m = metrics, ob = outbox
                guard let serve = serveMetrics else { throw FFRTMPError.invalidField(field: "METRICS_PORT", value: String(port), expected: "an agent binary with a metrics server (ffrtmp-agent)") }
                try serve(config.metricsListen, port, { m.registry.emitToString() }, { "{\"status\":\"ok\",\"outbox_depth\":\(ob.depth)}\n" })
                logger.info("metrics on http://\(config.metricsListen.contains(":") ? "[\(config.metricsListen)]" : config.metricsListen):\(port)/metrics")
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
        configureAutoAttach()
        if let session {
            // The session's first register carries the re-adopted jobs.
            _ = session.exchange(sessionView)
            session.start()
        }
        notifier.notify("READY=1\nSTATUS=running")
        logger.info("agent started node=\(config.nodeID) master=\(config.masterURL ?? "none (standalone)") wrapper_enabled=\(config.wrapperEnabled) max_jobs=\(config.maxJobs) job_user=\(media.user?.description ?? "-") media_roots=\(media.roots.listed)")
        while true {
            let ready = Sys.pollReadable([signalFD, wake.read], timeoutMs: 100)
            if ready[1] { MasterSession.drain(wake.read) }
            if ready[0] {
                switch Sys.readSignal(signalFD) {
                case SIGTERM, SIGINT:
                    notifier.notify("STOPPING=1")
                    if let session {
                        session.stop(flushWithin: 5)
                        // A job the last poll brought in is started, not dropped: the next
                        // agent finds it in the journal like every running job.
                        exchangeWithMaster()
                    }
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
        autoAttachIfDue(now)
        finishAttached()
        exchangeWithMaster()
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
            guard next.nodeID == config.nodeID, next.masterURL == config.masterURL, next.apiKey == config.apiKey,
                  next.masterCAFile == config.masterCAFile, next.masterClientCert == config.masterClientCert,
                  next.masterClientKey == config.masterClientKey else {
                logger.warning("reload of \(file) refused: NODE_ID, MASTER_URL, the key and the MASTER_CA_FILE/MASTER_CLIENT_* settings only change with a restart")
                return
            }
            config = next
            media = nextMedia
            configureAutoAttach()
            if nextMedia.user?.isRoot == true { logger.warning("JOB_USER=root: workloads run as root, with no confinement by user") }
            logger.info("reloaded \(file): wrapper_enabled=\(config.wrapperEnabled) job_user=\(nextMedia.user?.description ?? "-") media_roots=\(nextMedia.roots.listed)")
        } catch {
            logger.warning("reload of \(file) refused, keeping the old settings: \(error)")
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
}
