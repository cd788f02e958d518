import Glibc

/// Did *we* fail the job, or did the workload? DESIGN.md's table, in one place.
/// false only for platform faults; true for success and for every outcome the
/// workload, its input, or its operator caused.
public enum PlatformSLA {
    public struct Verdict: Equatable, Sendable {
        public var compliant: Bool
        public var reason: String
    }

    /// errnos from execve that mean "the command is wrong", not "the platform broke".
    static let externalExecErrors: Set<Int32> = [ENOENT, EACCES, ENOEXEC, ENOTDIR, ELOOP, ENAMETOOLONG, EISDIR]

    public static func classify(_ r: ExitRecord, mode: JobMode) -> Verdict {
        if let e = r.spawnError {
            if e.stage == "launch" || e.stage == "launch_agent" { return neverStarted(byPlatform: e.stage == "launch_agent") }
            if e.stage == "exec" && externalExecErrors.contains(e.errno) {
                return Verdict(compliant: true, reason: e.errno == ENOENT ? "command_not_found" : "command_not_executable")
            }
            return Verdict(compliant: false, reason: "spawn_failed_\(e.stage)")
        }
        if r.supervisorLost == true { return Verdict(compliant: false, reason: "supervisor_lost") }
        if r.detached == true { return Verdict(compliant: true, reason: "detached") }
        if r.killedBy != nil { return Verdict(compliant: true, reason: "operator_cancel") }
        if r.outputLimitExceeded == true { return Verdict(compliant: true, reason: "output_limit") }
        if r.timedOut { return Verdict(compliant: true, reason: "job_timeout") }
        if r.oomKilled { return Verdict(compliant: true, reason: "oom_own_limit") }
        if r.signal != nil && r.forwardedSignal != nil { return Verdict(compliant: true, reason: "operator_cancel") }
        if let code = r.exitCode { return Verdict(compliant: true, reason: code == 0 ? "success" : "workload_exit_nonzero") }
        if r.signal != nil { return Verdict(compliant: true, reason: "workload_signaled") }
        if r.exitUnknownReason != nil { return Verdict(compliant: true, reason: "adopted_exit_unknown") }
        return Verdict(compliant: false, reason: "outcome_lost")
    }

    /// The launcher ended before the shim started, so nothing ran. The agent is the platform:
    /// its crash mid-launch is on us. `ffrtmp run` and the console are the operator's own
    /// processes: killing one before its job started is the operator's act (SLA.md).
    public static func neverStarted(byPlatform: Bool) -> Verdict {
        byPlatform ? Verdict(compliant: false, reason: "launch_interrupted") : Verdict(compliant: true, reason: "launch_abandoned")
    }

    /// The supervisor died without an exit record: the outcome is lost, and that is on us.
    public static let lost = Verdict(compliant: false, reason: "outcome_lost")
}
