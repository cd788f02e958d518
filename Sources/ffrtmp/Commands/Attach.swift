import ArgumentParser
import FFRTMPCLI
import FFRTMPCore
import Glibc

extension FFRTMP {
    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Adopt a running process or process group into a governed job.",
            discussion: """
                Moves the process (--pid) or every member of the group (--pgid) into a new job cgroup \
                with the given limits, with no restart: pids and open files stay as they are. Then \
                watches until they have all exited, or until this command gets SIGINT, SIGTERM or \
                SIGHUP: it then detaches, moving the processes back to the cgroups they came from.

                An adopted process is not our child, so its exit code cannot be known: the result \
                says exit_code null rather than guessing. Pass --start-time (from ffrtmp orphans \
                --json) to refuse a pid that has been reused by another process.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var limits: LimitOptions

        @Option(help: "The pid of the process to adopt.")
        var pid: Int32?

        @Option(help: "A process group to adopt, all its members.")
        var pgid: Int32?

        @Option(name: .customLong("start-time"), help: "The expected start time (field 22 of /proc/PID/stat) of --pid.")
        var startTime: UInt64?

        @Option(name: .customLong("job-id"), help: "The job id. Default: generated.")
        var jobID: String?

        @Flag(help: "Print the Result as one JSON object when the watch ends.")
        var json = false

        @Flag(name: .customLong("require-governance"), help: "Fail unless every limit can be enforced.")
        var requireGovernance = false

        func validate() throws {
            if (pid == nil) == (pgid == nil) { throw ValidationError("give exactly one of --pid N or --pgid N") }
            if startTime != nil && pid == nil { throw ValidationError("--start-time goes with --pid") }
        }

        func run() throws {
            let sigFD = Sys.controlSignalFD()
            signal(SIGPIPE, SIG_IGN)
            do {
                let inspector = try global.inspector()
                let attacher = Attacher(journal: inspector.journal, driver: inspector.driver)
                let id = try jobID.map(JobID.init) ?? JobID.generate()
                let target: Attacher.Target = pid.map { .pid($0, expectedStartTime: startTime) } ?? .pgid(pgid!)
                let what = pid.map { "pid \($0)" } ?? "pgid \(pgid!)"
                let spec: JobSpec
                do {
                    spec = try attacher.adopt(target, jobID: id, constraints: try limits.constraints(), requireGovernance: requireGovernance)
                } catch {
                    global.audit("attach", target: what, succeeded: false, detail: (error as? FFRTMPError)?.description ?? "\(error)")
                    throw error
                }
                global.audit("attach", target: what, succeeded: true, detail: "job \(id)")
                Output.err("attached \((spec.adopted ?? []).map { String($0.identity.pid) }.joined(separator: ",")) as job \(id) in \(spec.cgroup?.path ?? "-"); Ctrl-C detaches")
                let (end, _) = try attacher.watch(spec, signalFD: sigFD)
                if case .detached(let sig) = end {
                    Output.err("detached on \(Signals.name(sig)): processes moved back to their original cgroups")
                }
                let r = try inspector.status(id, withUsage: false).result
                Output.err(r.summaryLine)
                if json { Output.out(Output.json(r)) }
            } catch let e as ExitCode {
                throw e
            } catch {
                throw fail(error, status: 1)
            }
        }
    }
}
