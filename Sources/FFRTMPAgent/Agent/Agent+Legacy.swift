import FFRTMPCore
import FFRTMPWire
import FoundationEssentials
import Glibc
import Logging

/// The legacy path: a direct child of the agent, as before, now as JOB_USER with its output bounded.
extension Agent {
    // MARK: the legacy path

    /// The legacy path as it always was: a direct child of the agent, no cgroup, its own
    /// timeout from resource_limits. Its logs and exit still go to the journal. Like every
    /// workload of the agent it runs as JOB_USER, and max_disk_mb bounds what it writes.
    func startLegacy(_ id: JobID, argv: [String], job: AgentJob, sidecar: String, timeout: Double?, files: [PassedFD],
                     maxOutputBytes: UInt64?) throws -> Tracked {
        var applied = WireConstraints()
        applied.maxOutputMB = maxOutputBytes.map { Int($0 / (1024 * 1024)) }
        let spec = JobSpec(jobID: id, mode: .legacy, argv: argv, constraints: applied, constraintsApplied: applied,
                           timeoutSeconds: timeout, cgroup: nil, governance: Governance(level: .none, reason: "legacy path (wrapper_enabled not set)"),
                           createdAtUnixNs: Clock.realtimeNanoseconds(), runAs: media.user)
        try journal.create(spec)
        let pid: Int32
        do {
            try FileIO.writeAtomically(journal.file(id, "agent.json"), sidecar, sync: false)
            let out = try journal.createJobFile(id, "stdout.log")
            defer { close(out) }
            let err = try journal.createJobFile(id, "stderr.log")
            defer { close(err) }
            let progress = try journal.createJobFile(id, "progress")
            defer { close(progress) }
            pid = try Sys.spawnLogged(path: argv[0], argv: argv, stdout: out, stderr: err, user: media.user,
                                      files: files + [PassedFD(source: progress, target: WorkloadFD.progress)], maxFileBytes: maxOutputBytes)
        } catch {
            // Nothing started: no journal job is left for `ps` to show, or a restart to find.
            journal.abandon(id)
            throw error
        }
        // The child runs now: a failure to record it (a full disk) must not abandon it untracked.
        do {
            if let me = ProcessIdentity.current(getpid()) { try journal.writeSupervisor(id, me) }
            if let child = ProcessIdentity.current(pid) { try journal.writeWorkload(id, WorkloadPID(identity: child, pgid: pid)) }
        } catch {
            logger.error("job \(id): started as pid \(pid), but its pid files could not be written (it is still watched): \(error)")
        }
        return Tracked(job: job, legacyPID: pid, legacyDeadline: timeout.map { Clock.monotonicNanoseconds() + Int64($0 * 1e9) },
                       legacyMaxOutput: maxOutputBytes)
    }

    /// The legacy child's group and the child itself: it may have left its group (setpgid),
    /// and it is our unreaped child, so its pid is still its own.
    static func signalLegacy(_ pid: Int32, _ sig: Int32) {
        _ = Glibc.kill(-pid, sig)
        // Only when it left its group: a second copy would count twice in ffmpeg's signal tally.
        if getpgid(pid) != pid { _ = Glibc.kill(pid, sig) }
    }

    func reapLegacy() {
        for (id, t) in tracked {
            guard let pid = t.legacyPID else { continue }
            if let d = t.legacyDeadline, Clock.monotonicNanoseconds() > d {
                Self.signalLegacy(pid, SIGKILL)
                tracked[id]?.legacyDeadline = nil
                do {
                    try FileIO.writeAtomically(journal.file(id, "timed-out"), "resource_limits.timeout_sec\n", sync: false)
                } catch {
                    logger.error("job \(id): timed out, but the marker could not be written (its result will not say timed_out): \(error)")
                }
            }
            // What the child has written, checked before it may be reaped (a zombie's io still reads).
            if let limit = t.legacyMaxOutput, let written = ProcFS.bytesWritten(pid), written >= limit,
               !FileIO.exists(journal.file(id, "output-limit")) {
                Self.signalLegacy(pid, SIGKILL)
                do {
                    try FileIO.writeAtomically(journal.file(id, "output-limit"), "\(written)\n", sync: false)
                } catch {
                    logger.error("job \(id): output limit reached, but the marker could not be written: \(error)")
                }
            }
            var st: Int32 = 0
            var ru = rusage()
            guard wait4(pid, &st, WNOHANG, &ru) == pid else { continue }
            let spec = try? journal.spec(id)
            let now = Clock.realtimeNanoseconds()
            let started = spec?.createdAtUnixNs ?? now
            let exited = (st & 0x7f) == 0
            let rec = ExitRecord(pid: pid, pidStartTime: journal.workload(id)?.identity.startTime ?? 0, pgid: pid,
                                 exitCode: exited ? (st >> 8) & 0xff : nil, signal: exited ? nil : st & 0x7f, oomKilled: false, oomKillCount: 0,
                                 timedOut: FileIO.exists(journal.file(id, "timed-out")), killedBy: journal.killRequest(id),
                                 startedAtUnixNs: started, endedAtUnixNs: now, durationNs: now - started,
                                 cpuUsageNs: UInt64(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1_000_000_000 + UInt64(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000,
                                 peakMemoryBytes: UInt64(ru.ru_maxrss) * 1024, usageSource: "rusage")
            var record = rec
            if t.legacyMaxOutput != nil, FileIO.exists(journal.file(id, "output-limit")) || (!exited && st & 0x7f == SIGXFSZ) {
                record.outputLimitExceeded = true
            }
            do { try journal.writeExitRecord(id, record) } catch { logger.error("job \(id): cannot write its exit record: \(error)") }
            tracked[id]?.legacyPID = nil
        }
    }
}
