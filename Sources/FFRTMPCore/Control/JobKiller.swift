import Glibc

/// Cgroup-wide kill: the signal goes to the process group and to every cgroup member
/// (children that called setsid included); after the grace period, SIGKILL via the driver.
public struct JobKiller: Sendable {
    public let inspector: JobInspector
    public var journal: JobJournal { inspector.journal }
    public var driver: CgroupDriver { inspector.driver }

    public init(inspector: JobInspector) {
        self.inspector = inspector
    }

    public struct Outcome: Sendable {
        public var status: JobStatus
        public var escalated: Bool
        /// What the killer refused to do and why (a workload.pid that names a group its leader
        /// is not in). Callers log these.
        public var notes: [String] = []
        /// The job's launcher ended before its shim started: there was nothing to kill, and the
        /// job was settled instead (its record written, its cgroup removed).
        public var neverStarted = false
    }

    /// `keepRequest`: a kill re-armed after a restart leaves the earlier kill request (its
    /// author and its time, from which the grace period counts) as it is.
    public func kill(_ id: JobID, signal sig: Int32 = SIGTERM, graceSeconds: Double = 10, requestedBy who: String,
                     keepRequest: Bool = false) throws -> Outcome {
        // A job nobody finished (a launch cut short, a shim killed) is settled first: a kill of a
        // job that never started succeeds with nothing to signal, and leaves no cgroup behind.
        let settled = JobSettler(inspector: inspector).settle(try inspector.status(id, withUsage: false))
        let st = settled.status
        if st.state == .neverStarted {
            return Outcome(status: st, escalated: false, notes: settled.problems, neverStarted: true)
        }
        guard st.state.isLive else {
            throw FFRTMPError.invalidField(field: "job", value: id.value, expected: "a live job (this one is \(st.state.rawValue))")
        }
        let cg = st.spec.cgroup
        // The journal is only a file: never freeze, kill or remove a cgroup it names unless it
        // is exactly where this job's cgroup belongs.
        if let cg, !driver.owns(cg, job: id) {
            throw FFRTMPError.invalidField(field: "cgroup in \(journal.file(id, "spec.json"))", value: cg.path,
                                           expected: "\(driver.locate(id).path) (the job's cgroup under the configured parent; check FFRTMP_CGROUP_PARENT)")
        }
        if !(keepRequest && journal.killRequest(id) != nil) {
            try journal.writeKillRequest(id, by: "\(who) signal=\(Signals.name(sig)) at=\(Clock.iso8601(unixNanoseconds: Clock.realtimeNanoseconds()))")
        }
        var escalated = false
        var notes: [String] = []
        if sig != SIGKILL {
            if let n = sendToGroup(st, sig) { notes.append(n) }
            if let cg { driver.signalAll(cg, sig) }
            escalated = !waitGone(st, seconds: graceSeconds)
        } else {
            escalated = true
        }
        if escalated {
            if let cg {
                try driver.killAll(cg)
            } else {
                if let n = sendToGroup(st, SIGKILL), notes.isEmpty { notes.append(n) }
                _ = waitGone(st, seconds: 5)
            }
        }
        // The shim notices its child's death and writes the exit record; wait for it.
        // A job this process watches itself (the console's adoptions while the agent is down):
        // nobody else will write its record, so do it here instead of waiting on ourselves.
        var supervisorAlive = (st.supervisor?.isAlive ?? false) && st.supervisor?.pid != getpid()
        if let sup = st.supervisor, supervisorAlive {
            Self.waitExit(sup, seconds: 5)
            supervisorAlive = sup.isAlive
        }
        // Only a job without a living supervisor gets its record from us (an orphan, or an
        // attach watcher that died); a supervisor that is still alive writes its own.
        if !supervisorAlive, try journal.exitRecord(id) == nil {
            try journal.writeExitRecord(id, orphanKillRecord(st, killedBy: journal.killRequest(id) ?? who))
        }
        if let cg { try driver.destroy(cg) }
        return Outcome(status: try inspector.status(id, withUsage: false), escalated: escalated, notes: notes)
    }

    /// workload.pid is only a file, and an edited one could aim kill(-pgid) at any process
    /// group on the box. The group is signalled only when the leader is still the process we
    /// started (pid and start time, signalled through a pidfd) and /proc says it is in that
    /// very group. Otherwise just the verified leader is signalled (cgroup members get the
    /// signal from the driver either way), and the mismatch is returned for the log.
    func sendToGroup(_ st: JobStatus, _ sig: Int32) -> String? {
        guard let w = st.workload else { return nil }
        // An attach --pid job adopted one process, not its group: whatever else is in that group
        // (the shell or daemon that started it, a test runner) was never ours to signal. Its
        // cgroup members get the signal from the driver.
        guard st.spec.ownsProcessGroup(w.pgid) else { return nil }
        // /proc is read before the leader is signalled: a leader that dies of the signal at once
        // (and is reaped by its shim) would otherwise leave no stat to compare, and a forged
        // group would go unreported.
        let seen = ProcFS.stat(w.identity.pid)
        guard (try? w.identity.signal(sig)) == true else { return nil }
        guard let now = seen, now.startTime == w.identity.startTime else { return nil }
        guard w.pgid > 1, now.pgrp == w.pgid else {
            return "workload.pid names process group \(w.pgid), but the leader \(w.identity.pid) is in group \(now.pgrp): " +
                "only the leader and the job's cgroup members were signalled"
        }
        _ = Glibc.kill(-w.pgid, sig)
        return nil
    }

    /// True once the job's leader has exited and its cgroup is empty. The leader is waited for
    /// on a pidfd (readable the moment it exits); cgroup members, which v1 cannot notify about,
    /// are re-checked after 1, 2, 4 ... up to 20 ms, so a quick death is seen within a millisecond.
    func waitGone(_ st: JobStatus, seconds: Double) -> Bool {
        let deadline = Clock.monotonicNanoseconds() + Int64(seconds * 1e9)
        if let leader = st.workload?.identity { Self.waitExit(leader, seconds: seconds) }
        var pause = 0.001
        repeat {
            let cgEmpty = st.spec.cgroup.map { driver.members($0).isEmpty } ?? true
            let leaderGone = !(st.workload?.identity.isAlive ?? false)
            if cgEmpty && leaderGone { return true }
            Clock.sleep(seconds: pause)
            pause = min(pause * 2, 0.02)
        } while Clock.monotonicNanoseconds() < deadline
        return false
    }

    /// Waits until `p` exits (or `seconds` pass) on a pidfd, re-checking its identity after
    /// opening it so a reused pid is never waited for; polls where pidfds are missing.
    static func waitExit(_ p: ProcessIdentity, seconds: Double) {
        let deadline = Clock.monotonicNanoseconds() + Int64(seconds * 1e9)
        let fd = Sys.pidfdOpen(p.pid)
        if fd >= 0 {
            defer { close(fd) }
            guard p.isAlive else { return }
            let ms = Int32(clamping: max(0, (deadline - Clock.monotonicNanoseconds()) / 1_000_000))
            _ = Sys.pidfdWait(fd, timeoutMs: ms)
            return
        }
        while p.isAlive && Clock.monotonicNanoseconds() < deadline { Clock.sleep(seconds: 0.005) }
    }

    func orphanKillRecord(_ st: JobStatus, killedBy: String) -> ExitRecord {
        let w = st.workload
        var rec = ExitRecord.statusUnknown(pid: w?.identity.pid ?? 0, pidStartTime: w?.identity.startTime ?? 0, pgid: w?.pgid ?? 0,
                                           startedAtUnixNs: st.spec.createdAtUnixNs, usage: st.spec.cgroup.map(driver.usage), killedBy: killedBy,
                                           reason: "killed without a supervisor: the exit status of a process that is not our child cannot be read")
        // Its supervisor died before the kill (a shim killed with -9, an agent restarted under a
        // legacy job): that loss is on us, and it decides before the kill that followed
        // (docs/SLA.md). A job this very process watches (the console's adoptions) lost nothing.
        if !(st.supervisor?.isAlive ?? false) { rec.supervisorLost = true }
        rec.timedOut = FileIO.exists(journal.file(st.spec.jobID, "timed-out"))
        return rec
    }
}
