/// The Result on the wire (DESIGN.md): what `ffrtmp run --json` and `ffrtmp ps --json` print.
public struct JobResult: Codable, Equatable, Sendable {
    public var jobID: String
    public var pid: Int32?
    public var mode: JobMode
    public var state: String
    public var exitCode: Int32?
    public var signal: String?
    public var oomKilled: Bool
    public var timedOut: Bool
    /// Ended by the shim at its max_output_mb: a resource error of the job's own making.
    public var outputLimitExceeded: Bool
    public var killedBy: String?
    public var startedAt: String?
    public var endedAt: String?
    public var durationSeconds: Double?
    public var cpuSeconds: Double?
    public var peakMemoryBytes: UInt64?
    /// The most swap the job used (null where the kernel keeps no swap peak: v1, v2 before 6.5).
    public var swapPeakBytes: UInt64?
    public var constraintsApplied: WireConstraints
    public var governance: GovernanceLevel
    public var governanceReason: String?
    public var cgroup: String?
    public var platformSLA: Bool?
    public var platformSLAReason: String?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", pid, mode, state, exitCode = "exit_code", signal, oomKilled = "oom_killed"
        case timedOut = "timed_out", outputLimitExceeded = "output_limit_exceeded", killedBy = "killed_by", startedAt = "started_at", endedAt = "ended_at"
        case durationSeconds = "duration_seconds", cpuSeconds = "cpu_seconds", peakMemoryBytes = "peak_memory_bytes", swapPeakBytes = "swap_peak_bytes"
        case constraintsApplied = "constraints_applied", governance, governanceReason = "governance_reason", cgroup
        case platformSLA = "platform_sla", platformSLAReason = "platform_sla_reason", error
    }

    // Optionals are written as null, never dropped: scripts can rely on every key being present.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(jobID, forKey: .jobID)
        try c.encode(pid, forKey: .pid)
        try c.encode(mode, forKey: .mode)
        try c.encode(state, forKey: .state)
        try c.encode(exitCode, forKey: .exitCode)
        try c.encode(signal, forKey: .signal)
        try c.encode(oomKilled, forKey: .oomKilled)
        try c.encode(timedOut, forKey: .timedOut)
        try c.encode(outputLimitExceeded, forKey: .outputLimitExceeded)
        try c.encode(killedBy, forKey: .killedBy)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(endedAt, forKey: .endedAt)
        try c.encode(durationSeconds, forKey: .durationSeconds)
        try c.encode(cpuSeconds, forKey: .cpuSeconds)
        try c.encode(peakMemoryBytes, forKey: .peakMemoryBytes)
        try c.encode(swapPeakBytes, forKey: .swapPeakBytes)
        try c.encode(constraintsApplied, forKey: .constraintsApplied)
        try c.encode(governance, forKey: .governance)
        try c.encode(governanceReason, forKey: .governanceReason)
        try c.encode(cgroup, forKey: .cgroup)
        try c.encode(platformSLA, forKey: .platformSLA)
        try c.encode(platformSLAReason, forKey: .platformSLAReason)
        try c.encode(error, forKey: .error)
    }

    /// Builds the result from the journal's records. `exit` nil with `lost` true: the supervisor
    /// died without a record, so exit_code stays null and the SLA is a platform fault.
    public init(spec: JobSpec, exit: ExitRecord?, state: JobState, workload: WorkloadPID?, launch: LaunchMarker? = nil) {
        jobID = spec.jobID.value
        mode = spec.mode
        self.state = state.rawValue
        pid = exit.map { $0.pid == 0 ? nil : $0.pid } ?? workload?.identity.pid
        constraintsApplied = spec.constraintsApplied ?? spec.constraints
        governance = spec.governance.level
        governanceReason = spec.governance.reason
        cgroup = spec.cgroup?.path
        oomKilled = exit?.oomKilled ?? false
        timedOut = exit?.timedOut ?? false
        outputLimitExceeded = exit?.outputLimitExceeded ?? false
        killedBy = exit?.killedBy
        exitCode = exit?.exitCode
        signal = exit?.signal.map(Signals.name)
        if let e = exit {
            startedAt = Clock.iso8601(unixNanoseconds: e.startedAtUnixNs)
            endedAt = Clock.iso8601(unixNanoseconds: e.endedAtUnixNs)
            durationSeconds = Double(e.durationNs) / 1e9
            cpuSeconds = Double(e.cpuUsageNs) / 1e9
            peakMemoryBytes = e.peakMemoryBytes
            swapPeakBytes = e.swapPeakBytes
            let v = PlatformSLA.classify(e, mode: spec.mode)
            platformSLA = v.compliant
            platformSLAReason = v.reason
            if let s = e.spawnError { error = "\(s.stage): \(s.message)" }
            if outputLimitExceeded {
                let limit = constraintsApplied.maxOutputMB.map { "max_output_mb=\($0)" } ?? "the output limit"
                error = "\(limit) reached: the job wrote as much as it may, and was stopped"
            }
        } else {
            startedAt = Clock.iso8601(unixNanoseconds: spec.createdAtUnixNs)
            if state == .neverStarted, let m = launch {
                let v = PlatformSLA.neverStarted(byPlatform: m.kind.isPlatform)
                platformSLA = v.compliant
                platformSLAReason = v.reason
                error = JobSettler.neverStartedMessage(m)
            } else if state == .lost {
                platformSLA = PlatformSLA.lost.compliant
                platformSLAReason = PlatformSLA.lost.reason
                error = "the supervisor ended without writing an exit record"
            }
        }
    }

    /// One grep-able line per finished job, for logs and the terminal.
    public var summaryLine: String {
        let sla = platformSLA.map { $0 ? "true" : "false" } ?? "unknown"
        let exit = exitCode.map(String.init) ?? signal ?? "unknown"
        let rt = durationSeconds.map { String(Int(($0 * 1000).rounded())) }.map { ms -> String in
            let s = ms.count > 3 ? String(ms.dropLast(3)) : "0"
            let frac = String(repeating: "0", count: max(0, 3 - ms.count)) + ms.suffix(3)
            return "\(s).\(frac)"
        } ?? "?"
        return "JOB \(jobID) | sla=\(sla) | reason=\(platformSLAReason ?? "running") | exit=\(exit) | runtime=\(rt)s"
    }
}
