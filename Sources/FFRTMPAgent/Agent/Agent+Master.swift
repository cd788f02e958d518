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
        MasterSession.View(running: tracked.values.map(\.job.masterJobID), freeSlots: config.maxJobs - tracked.count,
                           wrapperEnabled: config.wrapperEnabled, heartbeatInterval: config.heartbeatInterval,
                           pollInterval: config.pollInterval)
    }

    /// Once per loop pass: act on the cancels and start the jobs the session took from the master.
    func exchangeWithMaster() {
        guard let session else { return }
        let (jobs, cancels) = session.exchange(sessionView)
        for c in cancels { cancel(masterID: c) }
        for j in jobs { start(j) }
    }

    func cancel(masterID: String) {
        guard let (id, t) = tracked.first(where: { $0.value.job.masterJobID == masterID }) else { return }
        // The master repeats a cancel on every heartbeat until the result lands: act once.
        if journal.killRequest(id) != nil { return }
        let who = "master cancel node=\(config.nodeID)"
        if let pid = t.legacyPID {
            try? journal.writeKillRequest(id, by: who)
            Self.signalLegacy(pid, SIGTERM)
        } else {
            // The grace period must not stall the loop (and with it the systemd watchdog).
            let (killer, log) = (JobKiller(inspector: inspector), logger)
            Detached.run {
                do {
                    let out = try killer.kill(id, graceSeconds: 10, requestedBy: who)
                    for n in out.notes { log.warning("cancel of \(masterID): \(n)") }
                } catch { log.warning("cancel of \(masterID) failed: \(error)") }
            }
        }
    }
}
