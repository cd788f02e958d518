import Glibc

/// Adopts running processes into a job cgroup with limits, watches them, and on
/// detach hands them back to the cgroups they came from. An adopted process is not
/// our child, so its exit status is unknowable: the record says so instead of guessing.
public struct Attacher: Sendable {
    public let journal: JobJournal
    public let driver: CgroupDriver

    public init(journal: JobJournal, driver: CgroupDriver) {
        self.journal = journal
        self.driver = driver
    }

    public enum Target: Sendable {
        case pid(Int32, expectedStartTime: UInt64?)
        case pgid(Int32)
    }

    /// Resolves the target to live processes. A zombie is not running; EPERM still means "exists".
    public static func resolve(_ target: Target) throws -> [ProcessIdentity] {
        switch target {
        case let .pid(pid, expected):
            guard pid > 1 else { throw FFRTMPError.invalidField(field: "--pid", value: String(pid), expected: "a pid greater than 1") }
            guard let st = ProcFS.stat(pid), !st.isZombie else { throw FFRTMPError.processNotFound(pid: pid) }
            if let e = expected, e != st.startTime {
                throw FFRTMPError.identityMismatch(pid: pid, expectedStartTime: e, actualStartTime: st.startTime)
            }
            return [ProcessIdentity(pid: pid, startTime: st.startTime)]
        case let .pgid(pgid):
            guard pgid > 1 else { throw FFRTMPError.invalidField(field: "--pgid", value: String(pgid), expected: "a process group id greater than 1") }
            let members = ProcFS.allPIDs().compactMap { ProcFS.stat($0) }.filter { $0.pgrp == pgid && !$0.isZombie }
            guard !members.isEmpty else { throw FFRTMPError.processNotFound(pid: pgid) }
            return members.map { ProcessIdentity(pid: $0.pid, startTime: $0.startTime) }
        }
    }

    /// `expectedLeader`: the group leader the caller judged (auto-attach): checked again here,
    /// right before anything moves, so a group whose pgid was reused since is never taken.
    public func adopt(_ target: Target, jobID: JobID, constraints: Constraints, requireGovernance: Bool,
                      expectedLeader: ProcessIdentity? = nil) throws -> JobSpec {
        let procs = try Self.resolve(target)
        if let e = expectedLeader, !procs.contains(e) {
            guard let now = procs.first(where: { $0.pid == e.pid }) else { throw FFRTMPError.processNotFound(pid: e.pid) }
            throw FFRTMPError.identityMismatch(pid: e.pid, expectedStartTime: e.startTime, actualStartTime: now.startTime)
        }
        let own = getpid()
        guard !procs.contains(where: { $0.pid == own }) else {
            throw FFRTMPError.invalidField(field: "--pid", value: String(own), expected: "a process other than ffrtmp itself")
        }
        try journal.claim(jobID)
        var adopted = procs.compactMap { p in ProcFS.cgroups(p.pid).map { AdoptedProcess(identity: p, originalCgroups: $0) } }
        var creation: CgroupCreation?
        do {
            let c: CgroupCreation
            do {
                c = try driver.create(jobID, constraints: constraints)
            } catch let e as FFRTMPError where JobLauncher.isUnavailable(e) {
                // Attach without a cgroup cannot govern anything; say so rather than pretend.
                throw FFRTMPError.governanceUnavailable(reason: "attach needs cgroups: \(e)")
            }
            creation = c
            var degraded = c.degraded
            // Before the move: the memory the processes already use must follow them to count.
            let notCharged = driver.chargeOnMove(c.cgroup)
            if let why = notCharged, constraints.memoryMaxMB != nil { degraded.append(why) }
            if requireGovernance && !degraded.isEmpty {
                throw FFRTMPError.governanceUnavailable(reason: degraded.joined(separator: "; ") + " (and --require-governance is set)")
            }
            var spec = JobSpec(jobID: jobID, mode: .attach, argv: procs.compactMap { ProcFS.stat($0.pid)?.comm },
                               constraints: constraints.wire, constraintsApplied: c.applied.wire, cgroup: c.cgroup,
                               governance: Governance(level: degraded.isEmpty ? .full : .degraded,
                                                      reason: degraded.isEmpty ? nil : degraded.joined(separator: "; ")),
                               createdAtUnixNs: Clock.realtimeNanoseconds(), adopted: adopted)
            if case let .pgid(pgid) = target { spec.adoptedPGID = pgid }
            spec.memoryNotCharged = notCharged
            try journal.writeSpec(spec)
            if let me = ProcessIdentity.current(own) { try journal.writeSupervisor(jobID, me) }
            // The group's leader (pid = pgid) when it is one of them: listing order is not.
            var leader = procs[0]
            if case let .pgid(pgid) = target, let l = procs.first(where: { $0.pid == pgid }) { leader = l }
            try journal.writeWorkload(jobID, WorkloadPID(identity: leader, pgid: ProcFS.stat(leader.pid)?.pgrp ?? leader.pid))
            try moveAll(adopted, into: c.cgroup)
            if case let .pgid(pgid) = target {
                // A member may fork between our listing and its move; its child is born where the
                // parent was. Re-list until a pass finds nobody new.
                for _ in 0..<10 {
                    let known = Set(adopted.map(\.identity))
                    let fresh = ((try? Self.resolve(.pgid(pgid))) ?? []).filter { !known.contains($0) }
                        .compactMap { p in ProcFS.cgroups(p.pid).map { AdoptedProcess(identity: p, originalCgroups: $0) } }
                    if fresh.isEmpty { break }
                    try moveAll(fresh, into: c.cgroup)
                    adopted += fresh
                }
                spec.adopted = adopted
                try journal.writeSpec(spec)
            }
            return spec
        } catch {
            for a in adopted { try? driver.restore(a.identity.pid, to: a.originalCgroups) }
            if let cg = creation?.cgroup { try? driver.destroy(cg) }
            journal.abandon(jobID)
            throw error
        }
    }

    /// Moves each process (re-checking its identity right before, so a reused pid is never moved).
    func moveAll(_ adopted: [AdoptedProcess], into cg: JobCgroup) throws {
        for a in adopted {
            switch a.identity.liveness {
            case .alive: try driver.move(a.identity.pid, into: cg)
            case .gone: continue
            case .reused(let actual):
                throw FFRTMPError.identityMismatch(pid: a.identity.pid, expectedStartTime: a.identity.startTime, actualStartTime: actual)
            }
        }
    }

    public enum WatchEnd: Sendable { case exited, detached(signal: Int32) }

    /// Watches until every process in the job cgroup is gone or a control signal arrives on `signalFD`.
    public func watch(_ spec: JobSpec, signalFD: Int32, pollMs: Int32 = 200) throws -> (WatchEnd, ExitRecord) {
        guard let cg = spec.cgroup else { throw FFRTMPError.governanceUnavailable(reason: "no cgroup to watch") }
        var last = driver.usage(cg)
        while true {
            if driver.members(cg).isEmpty {
                let rec = record(spec, usage: last, detached: false)
                try journal.writeExitRecord(spec.jobID, rec)
                try driver.destroy(cg)
                return (.exited, rec)
            }
            last = driver.usage(cg)
            if Sys.pollReadable([signalFD], timeoutMs: pollMs)[0] {
                let sig = Sys.readSignal(signalFD)
                if sig > 0 { return (.detached(signal: sig), try detach(spec, usage: driver.usage(cg))) }
            }
        }
    }

    /// For a caller with its own loop (the agent): if every adopted process has ended, write
    /// the record and remove the cgroup; nil while any member still runs.
    public func finishIfEnded(_ spec: JobSpec) throws -> ExitRecord? {
        guard let cg = spec.cgroup, driver.members(cg).isEmpty else { return nil }
        let rec = record(spec, usage: driver.usage(cg), detached: false)
        try journal.writeExitRecord(spec.jobID, rec)
        try driver.destroy(cg)
        return rec
    }

    /// Hands every member back to its original cgroups; processes born after adoption
    /// go where the group leader came from. A member that exits meanwhile is fine; any other
    /// failure is noted in the record and the rest are still handed back.
    public func detach(_ spec: JobSpec, usage: CgroupUsage) throws -> ExitRecord {
        guard let cg = spec.cgroup else { throw FFRTMPError.governanceUnavailable(reason: "no cgroup") }
        let originals = Dictionary(spec.adopted?.map { ($0.identity.pid, $0.originalCgroups) } ?? [], uniquingKeysWith: { a, _ in a })
        let fallback = spec.adopted?.first?.originalCgroups ?? [:]
        var notes: [String] = []
        for _ in 0..<3 {
            let members = driver.members(cg)
            if members.isEmpty { break }
            for pid in members {
                do {
                    try driver.restore(pid, to: originals[pid] ?? fallback)
                } catch let FFRTMPError.cgroupWrite(_, _, err) where err == ESRCH {
                    continue
                } catch {
                    if !notes.contains("\(error)") { notes.append("\(error)") }
                }
            }
        }
        var rec = record(spec, usage: usage, detached: true)
        do { try driver.destroy(cg) } catch { notes.append("\(error)") }
        if !notes.isEmpty { rec.notes = notes }
        try journal.writeExitRecord(spec.jobID, rec)
        return rec
    }

    /// Closes a journal job whose supervisor died while its processes ran on, once those
    /// processes were adopted as job `newID`: the record says the outcome is lost (a platform
    /// fault) and names the new job, and the emptied cgroup goes. A job that already has a
    /// record keeps it (first writer wins).
    @discardableResult
    public func retireOrphan(_ id: JobID, adoptedAs newID: JobID) throws -> ExitRecord {
        let spec = try journal.spec(id)
        let w = journal.workload(id)
        var rec = ExitRecord.statusUnknown(pid: w?.identity.pid ?? 0, pidStartTime: w?.identity.startTime ?? 0, pgid: w?.pgid ?? 0,
                                           startedAtUnixNs: spec.createdAtUnixNs, usage: spec.cgroup.map(driver.usage), killedBy: nil,
                                           reason: "supervisor lost; its processes were adopted as job \(newID)")
        rec.supervisorLost = true
        guard try journal.writeExitRecord(id, rec) else { return try journal.exitRecord(id) ?? rec }
        if let cg = spec.cgroup, driver.owns(cg, job: id), driver.members(cg).isEmpty { try driver.destroy(cg) }
        return rec
    }

    func record(_ spec: JobSpec, usage: CgroupUsage, detached: Bool) -> ExitRecord {
        let leader = spec.adopted?.first?.identity
        return .statusUnknown(pid: leader?.pid ?? 0, pidStartTime: leader?.startTime ?? 0,
                              pgid: leader.flatMap { ProcFS.stat($0.pid)?.pgrp } ?? leader?.pid ?? 0,
                              startedAtUnixNs: spec.createdAtUnixNs, usage: usage, killedBy: journal.killRequest(spec.jobID),
                              reason: detached ? nil : "adopted process is not our child: its exit status cannot be read", detached: detached)
    }
}
