import ArgumentParser
import FFRTMPAgent
import FFRTMPCore
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
                WRAPPER_DEFAULT_CPU_WEIGHT, WRAPPER_DEFAULT_MEMORY_MAX_MB, WRAPPER_DEFAULT_IO_MAX, \
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
            do {
                let file = config ?? (FileIO.exists("/etc/ffrtmp/worker.env") ? "/etc/ffrtmp/worker.env" : nil)
                let text = try file.map { try FileIO.read($0) }
                let env = ProcessEnvironment.current()
                let cfg = try WorkerConfig.load(file: text, environment: env)
                // The master key is the fleet's admin key: no workload (ffmpeg, gst, legacy child) inherits it.
                unsetenv("FFRTMP_API_KEY")
                unsetenv("FFRTMP_API_KEY_FILE")
                let ctx = CLIContext(stateDir: cfg.stateDir, cgroupParent: cfg.cgroupParent)
                let agent = try Agent(config: cfg, configFile: file, journal: ctx.journal(), driver: try ctx.driver(),
                                      shimPath: try ShimLocator.locate(environment: ctx.environment),
                                      logger: Self.logger())
                agent.startupEnvironment = env
                throw ExitCode(agent.run(signalFD: sigFD))
            } catch let e as ExitCode {
                throw e
            } catch {
                throw fail(error, status: 1)
            }
        }
    }
}
