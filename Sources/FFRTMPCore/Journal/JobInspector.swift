public enum JobState: String, Codable, Sendable, CaseIterable {
    case starting, running, exited, killed, failed, detached, lost, orphaned
    /// The launcher ended before the shim started: nothing ran (LaunchMarker).
    case neverStarted = "never_started"
    public var isLive: Bool { self == .starting || self == .running || self == .orphaned }
}

/// Everything known about one job right now: journal records plus live checks.
public struct JobStatus: Sendable {
    public var spec: JobSpec
    public var exit: ExitRecord?
    public var state: JobState
    public var supervisor: ProcessIdentity?
    public var workload: WorkloadPID?
    public var usage: CgroupUsage?
    /// The launcher's marker, read while the job has no supervisor record.
    public var launch: LaunchMarker?
    /// Set when a journal file is unreadable; the job is then reported as such, not skipped.
    public var journalError: String?

    public var result: JobResult {
        var r = JobResult(spec: spec, exit: exit, state: state, workload: workload, launch: launch)
        if let e = journalError { r.error = e }
        return r
    }
}

/// Derives a job's state from the journal, procfs and cgroupfs. Read-only.
public struct JobInspector: Sendable {
    public let journal: JobJournal
    public let driver: CgroupDriver
    /// A job directory without a supervisor record younger than this is still starting.
    public var startGraceNs: Int64 = 5_000_000_000

    public init(journal: JobJournal, driver: CgroupDriver) {
        self.journal = journal
        self.driver = driver
    }

    /// `knownSpec` saves re-reading spec.json when the caller wrote it itself (it never changes).
    public func status(_ id: JobID, withUsage: Bool = true, knownSpec: JobSpec? = nil) throws -> JobStatus {
        let supervisor = journal.supervisor(id)
        var launch: LaunchMarker?
        var launchError: String?
        if supervisor == nil {
            do { launch = try journal.launchMarker(id) } catch { launchError = "\(error)" }
        }
        let spec: JobSpec
        if let known = knownSpec {
            spec = known
        } else if let m = launch, !FileIO.exists(journal.file(id, "spec.json")), FileIO.isRealDirectory(journal.dir(id)) {
            // Killed between claiming the id and writing the spec: the marker says enough.
            spec = m.provisionalSpec
        } else {
            spec = try journal.spec(id)
        }
        var st = JobStatus(spec: spec, exit: nil, state: .lost, supervisor: supervisor, workload: journal.workload(id), launch: launch,
                           journalError: launchError)
        // Liveness first, the record second: a supervisor found dead here wrote its record (if
        // it ever did) before we read it, so "dead and no record" really means lost.
        let supervisorAlive = st.supervisor?.isAlive ?? false
        do {
            st.exit = try journal.exitRecord(id)
        } catch {
            st.journalError = "\(error)"
        }
        st.state = state(of: st, supervisorAlive: supervisorAlive)
        if withUsage, st.state.isLive, let cg = spec.cgroup { st.usage = driver.usage(cg) }
        return st
    }

    /// The same answer as `status` for a job seen before, re-reading only what can change:
    /// spec.json never does, and the supervisor and workload records are written once.
    /// The console calls this every second for every live job, so it must stay cheap.
    public func refresh(_ prev: JobStatus, withUsage: Bool = true) -> JobStatus {
        var st = prev
        let id = prev.spec.jobID
        var supervisorAlive = st.supervisor?.isAlive ?? false
        if !supervisorAlive {
            // Not written yet, or taken over by a new watcher (an agent re-adopting an attach job).
            st.supervisor = journal.supervisor(id)
            supervisorAlive = st.supervisor?.isAlive ?? false
        }
        if st.workload == nil { st.workload = journal.workload(id) }
        st.journalError = nil
        if st.supervisor == nil && st.launch == nil {
            do { st.launch = try journal.launchMarker(id) } catch { st.journalError = "\(error)" }
        }
        if st.exit == nil && FileIO.exists(journal.file(id, "exit.json")) {
            do { st.exit = try journal.exitRecord(id) } catch { st.journalError = "\(error)" }
        }
        st.state = state(of: st, supervisorAlive: supervisorAlive)
        st.usage = withUsage && st.state.isLive ? st.spec.cgroup.map(driver.usage) : nil
        return st
    }

    func state(of st: JobStatus, supervisorAlive: Bool) -> JobState {
        if let e = st.exit {
            if let s = e.spawnError, LaunchMarker.abandonedStages.contains(s.stage) { return .neverStarted }
            if e.spawnError != nil { return .failed }
            if e.detached == true { return .detached }
            return e.killedBy != nil ? .killed : .exited
        }
        if supervisorAlive { return .running }
        if workloadAlive(st) { return .orphaned }
        if st.supervisor == nil, let m = st.launch {
            // A launcher still at work (a slow cgroup create) is starting, however long it takes;
            // once it is gone, a shim it spawned a moment before has the grace to write shim.pid.
            if m.launcher.isAlive || Clock.realtimeNanoseconds() &- m.createdAtUnixNs < startGraceNs { return .starting }
            return st.workload == nil ? .neverStarted : .lost
        }
        if st.supervisor == nil && Clock.realtimeNanoseconds() &- st.spec.createdAtUnixNs < startGraceNs { return .starting }
        return .lost
    }

    func workloadAlive(_ st: JobStatus) -> Bool {
        if let cg = st.spec.cgroup, !driver.members(cg).isEmpty { return true }
        return st.workload?.identity.isAlive ?? false
    }

    public func all(withUsage: Bool = true) -> [Result<JobStatus, FFRTMPError>] {
        journal.jobIDs().map { id in
            do { return .success(try status(id, withUsage: withUsage)) } catch let e as FFRTMPError {
                return .failure(e)
            } catch { return .failure(.corruptJournal(path: journal.dir(id), detail: "\(error)")) }
        }
    }
}
