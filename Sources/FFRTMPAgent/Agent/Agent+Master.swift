import FFRTMPCore
import FFRTMPWire
import FoundationEssentials
import Glibc
import Logging

/// The loop's side of the master protocol: jobs and cancels from the session, acted on here.
extension Agent {
    // MARK: master protocol (the calls themselves run in MasterSession, off the loop)

    var registered: Bool { session?.registered ?? false }

    var sessionView: MasterSession.View {
        var view = MasterSession.View(running: [], freeSlots: config.maxJobs - tracked.count,
                                      wrapperEnabled: config.wrapperEnabled, heartbeatInterval: config.heartbeatInterval,
                                      pollInterval: config.pollInterval, pollReserveBytes: UInt64(config.pollReserveMB) << 20)
        for t in tracked.values {
            view.attempts[t.job.masterJobID] = t.job.attempt
            if let n = t.job.nodeID, n != config.nodeID { view.otherNodes[n, default: []].append(t.job.masterJobID) }
            else { view.running.append(t.job.masterJobID) }
        }
        return view
    }

    /// Once per loop pass: act on the cancels and start the jobs the session took from the master.
    func exchangeWithMaster() {
        guard let session else { return }
        let (jobs, cancels) = session.exchange(sessionView)
        for c in cancels { cancel(masterID: c) }
        for d in jobs {
            // Past this point the master may have requeued the job as a new attempt (for another
            // node): a stale attempt is never started, only handed back.
            let late = Clock.monotonicNanoseconds() - d.startBy
            guard late <= 0 else {
                logger.warning("job \(d.job.id) attempt \(d.job.attempt) not started: taken too late in its lease (\(late / 1_000_000) ms past the start deadline); handed back to the master")
                session.release(d.job, reason: "not started within its lease", startBy: d.startBy)
                continue
            }
            start(d.job, startBy: d.startBy)
        }
    }

    /// The grace period of a master cancel before SIGKILL.
    static let cancelGrace = 10.0

    func cancel(masterID: String) {
        guard let (id, t) = tracked.first(where: { $0.value.job.masterJobID == masterID }) else { return }
        let who = "master cancel node=\(config.nodeID)"
        if let pid = t.legacyPID {
            // The master repeats a cancel on every heartbeat until the result lands: act once.
            if journal.killRequest(id) != nil { return }
            do { try journal.writeKillRequest(id, by: who) } catch { logger.warning("cancel of \(masterID): kill request not written: \(error)") }
            Self.signalLegacy(pid, SIGTERM)
            return
        }
        // Once per agent process: the master repeats the cancel on every heartbeat.
        guard cancelled.insert(id).inserted else { return }
        // A kill request an earlier agent wrote (it died during the grace period) is re-armed:
        // the grace counts from when it was written, so the workload still dies on time.
        let age = journal.killRequest(id) != nil ? journal.killRequestAge(id) : nil
        if age != nil {
            do {
                guard try inspector.status(id, withUsage: false).state.isLive else { return }
            } catch {
                logger.warning("cancel of \(masterID): not re-armed, the job's state cannot be read: \(error)")
                return
            }
        }
        let grace = max(0, Self.cancelGrace - (age ?? 0))
        if let age { logger.info("cancel of \(masterID): re-armed after a restart (requested \(Int(age)) s ago, \(Int(grace.rounded(.up))) s of grace left)") }
        // The grace period must not stall the loop (and with it the systemd watchdog).
        let (killer, log) = (JobKiller(inspector: inspector), logger)
        Detached.run {
            do {
                let out = try killer.kill(id, signal: grace > 0 ? SIGTERM : SIGKILL, graceSeconds: grace, requestedBy: who, keepRequest: true)
                for n in out.notes { log.warning("cancel of \(masterID): \(n)") }
            } catch { log.warning("cancel of \(masterID) failed: \(error)") }
        }
    }
}
