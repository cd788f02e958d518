import ArgumentParser
import FFRTMPCLI
import FFRTMPCore
import Glibc

extension FFRTMP {
    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a job and everything it started, cgroup-wide.",
            discussion: """
                Sends the signal to the job's process group and to every process in its cgroup, \
                waits up to --grace seconds, then SIGKILLs what is left through the cgroup (v2: \
                cgroup.kill; v1: freeze, kill, thaw), so children that called setsid die too. \
                The exit record names the operator who asked. Works without the agent running.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The job id (see ffrtmp ps).")
        var job: String

        @Option(help: "The first signal: TERM, INT, KILL, ... or a number.")
        var signal: String = "TERM"

        @Option(help: "Seconds to wait after the first signal before SIGKILL.")
        var grace: Double = 10

        @Flag(help: "Print the job's Result as JSON.")
        var json = false

        func validate() throws {
            if !(grace >= 0 && grace <= 3600) { throw ValidationError("--grace must be between 0 and 3600 seconds") }
        }

        func run() throws {
            do {
                let id = try JobID(job)
                let sig = try Signals.parse(signal)
                let killer = JobKiller(inspector: try global.inspector())
                let outcome: JobKiller.Outcome
                do {
                    outcome = try killer.kill(id, signal: sig, graceSeconds: grace, requestedBy: global.actor)
                } catch {
                    global.audit("kill", target: id.value, succeeded: false, detail: (error as? FFRTMPError)?.description ?? "\(error)")
                    throw error
                }
                for n in outcome.notes { Output.err("warning: job \(id): \(n)") }
                global.audit("kill", target: id.value, succeeded: true, detail: "\(outcome.status.state.rawValue)" + (outcome.escalated ? ", SIGKILL" : "")
                             + outcome.notes.map { "; " + $0 }.joined())
                let r = outcome.status.result
                if outcome.neverStarted {
                    Output.err("job \(id) never started (\(r.error ?? "its launcher ended first")): nothing to kill; its record is written and its cgroup removed")
                    Output.err(r.summaryLine)
                    if json { Output.out(Output.json(r)) }
                    return
                }
                let how = sig == SIGKILL ? " with SIGKILL" : outcome.escalated ? " (escalated to SIGKILL after \(grace)s)" : ""
                Output.err("killed job \(id)" + how)
                Output.err(r.summaryLine)
                if json { Output.out(Output.json(r)) }
            } catch {
                throw fail(error, status: 1)
            }
        }
    }
}
