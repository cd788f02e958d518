import ArgumentParser
import FFRTMPCLI
import FFRTMPAgent
import FFRTMPCore
import FFRTMPMasterClient
import Glibc
import Logging

extension FFRTMP {
    struct AgentCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "agent",
            abstract: "Run the headless worker: pull jobs from the master and run them.",
            discussion: """
                Settings come from --config (worker.env, systemd EnvironmentFile syntax), overridden \
                by the environment: MASTER_URL, FFRTMP_API_KEY or FFRTMP_API_KEY_FILE, NODE_ID, MAX_JOBS, \
                HEARTBEAT_INTERVAL, POLL_INTERVAL, WRAPPER_ENABLED, WRAPPER_DEFAULT_CPU_MAX, \
                WRAPPER_DEFAULT_CPU_WEIGHT, WRAPPER_DEFAULT_MEMORY_MAX_MB, WRAPPER_DEFAULT_MEMORY_SWAP_MAX_MB, WRAPPER_DEFAULT_IO_MAX, \
                MASTER_CA_FILE, MASTER_CLIENT_CERT, MASTER_CLIENT_KEY, \
                FFMPEG_PATH, GST_LAUNCH_PATH, FFRTMP_STATE_DIR, FFRTMP_CGROUP_PARENT. Without MASTER_URL \
                it runs standalone. SIGTERM stops it and leaves every job running; SIGHUP reloads --config. \
                A restarted agent finds its running jobs again and reports the ones that ended meanwhile.
                """)

        @Option(help: "The worker.env file. Default: /etc/ffrtmp/worker.env when it exists.")
        var config: String?

        /// swift-log to stderr, one line per event (journald keeps each line as one entry).
        static func logger() -> Logger {
            LoggingSystem.bootstrap { label in
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = .info
                return h
            }
            return Logger(label: "ffrtmp-agent")
        }

        func run() throws {
            let sigFD = Sys.controlSignalFD()
            signal(SIGPIPE, SIG_IGN)
            let logger = Self.logger()
            let file = config ?? (FileIO.exists("/etc/ffrtmp/worker.env") ? "/etc/ffrtmp/worker.env" : nil)
            let cfg: WorkerConfig, media: JobMedia, ctx: CLIContext, shim: String, overrides: [String: String], master: MasterClient?
            let env = ProcessEnvironment.current()
            do {
                // Checked before it is read: a worker.env others can write is not our configuration.
                if let file { try TrustedPath.check(file, what: "worker.env") }
                let text = try file.map { try FileIO.read($0) }
                cfg = try WorkerConfig.load(file: text, environment: env)
                overrides = try WorkerConfig.environmentOverrides(file: text, environment: env)
                ctx = CLIContext(stateDir: cfg.stateDir, cgroupParent: cfg.cgroupParent)
                shim = try ShimLocator.locate(environment: ctx.environment)
                try cfg.checkTrusted(configFile: file, stateDir: ctx.journal().stateDir, shimPath: shim)
                media = try cfg.jobMedia()
                master = try cfg.masterURL.map {
                    try MasterClient(baseURL: $0, key: cfg.apiKey ?? "",
                                     tls: MasterTLS(caFile: cfg.masterCAFile, clientCert: cfg.masterClientCert, clientKey: cfg.masterClientKey),
                                     timeoutSeconds: 5)
                }
            } catch {
                // EX_CONFIG (sysexits.h): systemd and operators can tell "fix the configuration"
                // from a crash.
                throw fail(error, status: 78)
            }
            if media.user?.isRoot == true { logger.warning("JOB_USER=root: workloads run as root, with no confinement by user") }
            for root in media.roots.roots where !FileIO.isDirectory(root) {
                logger.warning("media root \(root) (MEDIA_ROOTS) does not exist: jobs with local files there fail (a platform fault) until it exists")
            }
            // AsyncHTTPClient wants its pool closed before the client goes away.
            defer {
                do { try master?.syncShutdown() } catch { logger.warning("closing the connections to the master: \(error)") }
            }
            if let m = master, !m.endpoint.isHTTPS {
                if m.endpoint.isLoopback {
                    logger.info("MASTER_URL is plain http on loopback (\(m.endpoint.host))")
                } else {
                    logger.warning("MASTER_URL \(m.baseURL) is plain http to a host that is not loopback: the node's key, every job and every result cross the network unencrypted; use https:// (MASTER_CA_FILE pins a private CA)")
                }
            }
            do {
                // The master key is the fleet's admin key: no workload (ffmpeg, gst, legacy child) inherits it.
                unsetenv("FFRTMP_API_KEY")
                unsetenv("FFRTMP_API_KEY_FILE")
                // On v2 under systemd's Delegate=yes the agent takes its own subtree: it moves into
                // …/agent and its jobs go under …/jobs (CgroupDelegation, docs/AGENT.md).
                let (driver, delegated, notDelegated) = try CgroupDriverFactory.makeForAgent(environment: ctx.environment, parentFlag: cfg.cgroupParent)
                if let notDelegated { logger.notice("cgroup v2: \(notDelegated)") }
                if let delegated, let me = ProcessIdentity.current(getpid()) {
                    try CgroupDelegation.record(stateDir: ctx.journal().stateDir, jobsParent: driver.parent, delegated: delegated, agent: me)
                    logger.info("cgroup v2: delegated \(delegated); the agent runs in \(delegated)/\(CgroupDelegation.agentLeaf), jobs under \(driver.parent)")
                }
                let agent = try Agent(config: cfg, configFile: file, journal: ctx.journal(), driver: driver,
                                      shimPath: shim, media: media, master: master, logger: logger)
                agent.startupEnvironment = overrides
                let httpLogger = Logger(label: "ffrtmp-agent.metrics")
                agent.serveMetrics = { host, port, render, health in
                    try MetricsHTTP.start(host: host, port: port, render: render, health: health, logger: httpLogger)
                }
                throw ExitCode(agent.run(signalFD: sigFD))
            } catch let e as ExitCode {
                throw e
            } catch {
                throw fail(error, status: 1)
            }
        }
    }
}
