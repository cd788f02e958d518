import Glibc

/// Finishes, on first sight, what no supervisor is left to finish. Whoever reads the journal
/// first (the agent's survey, `ffrtmp ps`, `kill`, `orphans`) calls `settle`:
/// - a job whose launcher ended before its shim started (`never_started`) gets its exit
///   record, so its outcome is written exactly once and reads the same everywhere;
/// - an ended job whose cgroups are still there (its shim was killed, or a launch was cut short)
///   has them removed, once they are empty and verified to be the job's own.
public struct JobSettler: Sendable {
    public let inspector: JobInspector

    public init(inspector: JobInspector) {
        self.inspector = inspector
    }

    static func neverStartedMessage(_ m: LaunchMarker) -> String {
        let who = m.kind == .agent ? "the agent" : m.kind == .console ? "the console" : "ffrtmp run"
        return "\(who) (pid \(m.launcher.pid)) ended before the job's supervisor started: nothing ran"
    }

    public struct Settled: Sendable {
        /// The status after settling (the same one when there was nothing to do).
        public var status: JobStatus
        /// What was done ("recorded never_started", "removed cgroup"), for orphans and the log.
        public var actions: [String] = []
        /// What could not be done, for the caller's log.
        public var problems: [String] = []
    }

    public func settle(_ st: JobStatus) -> Settled {
        var problems: [String] = []
        var actions: [String] = []
        var st = st
        let id = st.spec.jobID
        if st.state == .neverStarted, st.exit == nil, let m = st.launch {
            let now = Clock.realtimeNanoseconds()
            let rec = ExitRecord(pid: 0, pidStartTime: 0, pgid: 0, exitCode: nil, signal: nil, oomKilled: false, oomKillCount: 0,
                                 killedBy: nil, startedAtUnixNs: m.createdAtUnixNs, endedAtUnixNs: now, durationNs: 0, cpuUsageNs: 0,
                                 peakMemoryBytes: 0, usageSource: "none",
                                 spawnError: .init(stage: m.kind.isPlatform ? "launch_agent" : "launch", errno: 0, message: Self.neverStartedMessage(m)))
            do {
                if try inspector.journal.writeExitRecord(id, rec) { actions.append("recorded that it never started") }
                if let s = try? inspector.status(id, withUsage: false) { st = s }
            } catch {
                problems.append("job \(id): cannot record that it never started: \(error)")
            }
        }
        if !st.state.isLive && st.state != .starting, let cg = st.spec.cgroup, cg.uniqueDirs.contains(where: FileIO.exists) {
            let driver = inspector.driver
            if !driver.owns(cg, job: id) {
                problems.append("job \(id): its cgroup \(cg.path) is not where this job's cgroup belongs; left in place")
            } else if !driver.members(cg).isEmpty {
                problems.append("job \(id) has ended but processes remain in \(cg.path); left in place")
            } else {
                do {
                    try driver.destroy(cg)
                    actions.append("removed its cgroup \(cg.path)")
                } catch { problems.append("job \(id): cannot remove its cgroup: \(error)") }
            }
        }
        return Settled(status: st, actions: actions, problems: problems)
    }

    /// An orphan's timeout outlives its supervisor: the deadline is the spec's creation time plus
    /// its timeout_seconds on the wall clock, so it holds across any restart of anything.
    public static func deadlinePassed(_ st: JobStatus, now: Int64 = Clock.realtimeNanoseconds()) -> Bool {
        guard st.state == .orphaned, let t = st.spec.timeoutSeconds, t.isFinite, t > 0 else { return false }
        return now >= st.spec.createdAtUnixNs &+ Int64(min(t, JobLauncher.maxSeconds) * 1e9)
    }

    /// Ends an orphan past its deadline as its shim would have: SIGTERM to what it owns, the
    /// cgroup-wide SIGKILL after `graceSeconds`, and a record that says timed_out (and, since the
    /// supervisor was lost, supervisor_lost first).
    public func enforceDeadline(_ id: JobID, graceSeconds: Double = 10) throws -> JobKiller.Outcome {
        try FileIO.writeAtomically(inspector.journal.file(id, "timed-out"), "timeout_seconds (enforced after its supervisor was lost)\n", sync: false)
        return try JobKiller(inspector: inspector).kill(id, signal: SIGTERM, graceSeconds: graceSeconds,
                                                        requestedBy: "timeout (supervisor gone)", keepRequest: true)
    }

    /// Settles every job in the journal; the statuses afterwards.
    public func settleAll(withUsage: Bool = false) -> (statuses: [Result<JobStatus, FFRTMPError>], settled: [Settled]) {
        var settled: [Settled] = []
        let out = inspector.all(withUsage: withUsage).map { r -> Result<JobStatus, FFRTMPError> in
            guard case let .success(st) = r else { return r }
            let s = settle(st)
            if !s.actions.isEmpty || !s.problems.isEmpty { settled.append(s) }
            return .success(s.status)
        }
        return (out, settled)
    }
}
