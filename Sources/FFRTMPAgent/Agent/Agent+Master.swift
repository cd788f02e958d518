import FFRTMPCore
import FFRTMPMasterClient
import FFRTMPWire
import FoundationEssentials
import Glibc
import Logging

/// The master protocol: register, heartbeat, poll, result delivery from the outbox, cancels.
extension Agent {
    // MARK: master protocol

    func register(_ client: MasterClient) {
        let body = NodeRegistration(nodeID: config.nodeID, hostname: config.nodeID, wrapperEnabled: config.wrapperEnabled,
                                    runningJobs: tracked.values.map(\.job.masterJobID))
        do {
            _ = try client.json(Node.self, "POST", "/api/nodes/register", body: try JSONEncoder().encode(body))
            registered = true
            logger.info("registered with \(client.baseURL)")
        } catch {
            // Retried once per heartbeat interval, not on every loop pass: a wrong key or a
            // master that is down must not cost it ten requests (and log lines) a second.
            nextRegister = Clock.monotonicNanoseconds() + Int64(config.heartbeatInterval * 1e9)
            metrics.heartbeatFailures.increment()
            logger.warning("register failed (will retry in \(config.heartbeatInterval) s): \(error)")
        }
    }

    func heartbeat(_ client: MasterClient) {
        do {
            let reply = try client.json(HeartbeatReply.self, "POST", "/api/nodes/\(config.nodeID)/heartbeat",
                                        body: try JSONEncoder().encode(Heartbeat(runningJobs: tracked.values.map(\.job.masterJobID))))
            for cancel in reply.cancel { self.cancel(masterID: cancel) }
        } catch MasterClient.ClientError.api(404, _) {
            registered = false
        } catch {
            metrics.heartbeatFailures.increment()
            logger.warning("heartbeat failed: \(error)")
        }
    }

    func poll(_ client: MasterClient) {
        do {
            let (status, data) = try client.call("GET", "/api/jobs/next?node_id=\(config.nodeID)")
            if status == 204 { return }
            guard status == 200 else { logger.warning("poll: master answered \(status)"); return }
            start(try JSONDecoder().decode(MasterJob.self, from: data))
        } catch {
            logger.warning("poll failed: \(error)")
        }
    }

    /// Sends queued results, oldest first; stops at the first failure and backs off (with jitter).
    func deliver(force: Bool) {
        guard let client else { return }
        for (file, report) in outbox.pending() {
            do {
                let (status, data) = try client.call("POST", "/api/results", body: try JSONEncoder().encode(report))
                if [400, 404, 409, 413].contains(status) {
                    // The master will never take this one (stale attempt, unknown job, bad body):
                    // set it aside and count it instead of blocking the queue or dropping it.
                    logger.error("result \(file) refused by the master (\(status)): \(String(decoding: data.prefix(200), as: UTF8.self)); kept in outbox/rejected")
                    try outbox.markRejected(file)
                    metrics.rejected.increment()
                    continue
                }
                if (200..<300).contains(status) {
                    try outbox.markDelivered(file)
                    metrics.outbox.set(Double(outbox.depth))
                    deliveryBackoff = 0.5
                    continue
                }
                logger.warning("result \(file): master answered \(status)")
            } catch {
                if !force { logger.warning("delivering \(file) failed (will retry): \(error)") }
            }
            deliveryBackoff = min(30, deliveryBackoff * 2)
            nextDelivery = Clock.monotonicNanoseconds() + Int64(deliveryBackoff * Double.random(in: 0.8...1.2) * 1e9)
            return
        }
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
