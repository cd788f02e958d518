import FFRTMPCore
import FFRTMPWire
import FoundationEssentials
import Glibc
import Logging

/// Jobs from the master: checked and started on the wrapper path, watched, reported once.
extension Agent {
    // MARK: running jobs

    /// `startBy`: the monotonic time after which the master may have requeued the attempt (a
    /// release is worth sending until a little after it).
    func start(_ job: MasterJob, startBy: Int64 = .max) {
        let path = JobRouting.path(jobSays: job.wrapperEnabled, nodeDefault: config.wrapperEnabled)
        guard (try? WireValidation.jobID(job.id)) != nil, job.attempt >= 1 else {
            // Nothing from this job may become a path; the master is told nothing (there is no valid id to answer).
            logger.error("dispatched job refused: invalid id or attempt \(job.id.prefix(40)) #\(job.attempt)")
            return
        }
        let aj = AgentJob(masterJobID: job.id, attempt: job.attempt, path: path, wrapperEnabled: job.wrapperEnabled, nodeID: config.nodeID)
        var opened: JobMedia.Opened?
        do {
            let id = try AgentJob.journalID(job.id, attempt: job.attempt)
            let params = try TranscodeParameters(job.parameters)
            let wire = JobRouting.constraints(explicit: job.wrapperConstraints, legacy: params.resourceLimits, defaults: config.defaultConstraints)
            var constraints = try ConstraintParser().parse(wire)
            // max_output_mb / max_disk_mb bound what a job writes to local disk: a push to an
            // RTMP server writes to a socket, which /proc/PID/io counts too, and must not be cut
            // off after N MB by a disk limit.
            if params.output.map({ $0.contains("://") }) ?? true { constraints.maxOutputMB = nil }
            // Everything that can be refused is checked before a file is created for the job:
            // the paths and hosts first (as text), then what the engine makes of the rest.
            try media.check(params)
            _ = try engines.argv(job.engine, params, files: .asGiven(params))
            // The engine is the node's own configuration (FFMPEG_PATH, GST_LAUNCH_PATH), not the
            // submitter's: one that cannot be run is a platform fault, on either path alike.
            let engine = try engines.argv(job.engine, params, files: .asGiven(params))[0]
            if access(engine, X_OK) != 0 {
                let err = errno
                refuseForEngine(job, path: path, engine: engine, errno: err, startBy: startBy)
                return
            }
            let files = try media.open(params)
            opened = files
            let argv = try engines.argv(job.engine, params, files: files.paths)
            let sidecar = String(decoding: try JSONEncoder().encode(aj), as: UTF8.self)
            switch path {
            case .wrapper, .attach:
                var req = LaunchRequest(jobID: id, argv: argv, constraints: constraints,
                                        timeoutSeconds: params.resourceLimits?.timeoutSec, sidecars: ["agent.json": sidecar],
                                        user: media.user, files: files.files, progressFile: true)
                req.launcher = .agent
                let l = try launcher.launch(req)
                shims.insert(l.shimPID)
                tracked[id] = Tracked(job: aj)
            case .legacy:
                tracked[id] = try startLegacy(id, argv: argv, job: aj, sidecar: sidecar, timeout: params.resourceLimits?.timeoutSec,
                                              files: files.files, maxOutputBytes: constraints.maxOutputBytes)
            }
            files.close()
            metrics.started(path)
            logger.info("job \(job.id) attempt \(job.attempt) started on the \(path.rawValue) path as \(id)")
        } catch {
            opened?.discard(media.roots)
            let user = error is WireError || (error as? FFRTMPError).map(Self.isUserError) == true
            logger.warning("job \(job.id) rejected: \(error)")
            let report = JobResultReport(jobID: job.id, attempt: job.attempt, nodeID: config.nodeID, status: .failed,
                                         platformSLA: user, platformSLAReason: user ? "bad_input" : "spawn_failed_platform",
                                         failureReason: user ? "user_error" : "platform_error",
                                         result: .object(["error": .string("\(error)"), "path": .string(path.rawValue)]))
            // A job that never started is a finished job too: a platform spawn failure must
            // count against ffrtmp_platform_sla_uptime_ratio like any other platform fault.
            metrics.finished(path, report, oom: false)
            if !enqueue(report) {
                // Its verdict cannot even be queued (a full state dir): hand the attempt back so
                // the master requeues it now, rather than leaving it assigned until the lease ends.
                session?.release(job, reason: "not started on \(config.nodeID): \(error)", startBy: startBy)
            }
        }
    }

    var settler: JobSettler { JobSettler(inspector: inspector) }

    func refuseForEngine(_ job: MasterJob, path: ExecutionPath, engine: String, errno err: Int32, startBy: Int64) {
        let why = "the node's engine \(engine) cannot be run: \(String(cString: strerror(err))) (check FFMPEG_PATH / GST_LAUNCH_PATH in worker.env)"
        logger.error("job \(job.id) not started: \(why)")
        let report = JobResultReport(jobID: job.id, attempt: job.attempt, nodeID: config.nodeID, status: .failed,
                                     platformSLA: false, platformSLAReason: "engine_unavailable", failureReason: "platform_error",
                                     result: .object(["error": .string(why), "path": .string(path.rawValue)]))
        metrics.finished(path, report, oom: false)
        if !enqueue(report) { session?.release(job, reason: "not started on \(config.nodeID): \(why)", startBy: startBy) }
    }

    /// An orphan past its timeout (its shim was killed, or a legacy job outlived the agent that
    /// timed it): ended once, off the loop, since the grace period takes seconds.
    func enforceDeadline(_ id: JobID) {
        guard cancelled.insert(id).inserted else { return }
        logger.warning("job \(id): past its timeout with its supervisor gone; ending it")
        let (settler, log) = (settler, logger)
        Detached.run {
            do {
                let out = try settler.enforceDeadline(id)
                for n in out.notes { log.warning("timeout of \(id): \(n)") }
            } catch { log.warning("timeout of \(id) could not be enforced: \(error)") }
        }
    }

    static func isUserError(_ e: FFRTMPError) -> Bool {
        switch e {
        case .invalidField, .pathRefused: return true
        default: return false
        }
    }

    /// Counts every journal job by state for `ffrtmp_jobs{state}` (orphaned and lost jobs of
    /// any front end show up here), and returns the statuses it read. A job is read in full
    /// once; then only what can change is (JobInspector.refresh), and nothing once it ended.
    func surveyJournal() -> [JobID: JobStatus] {
        var counts: [String: Int] = [:]
        var read: [JobID: JobStatus] = [:]
        var groups: [Int32: JobID] = [:]
        for seen in journalWatch.poll() {
            switch seen.status {
            case var .success(st):
                if st.exit == nil, let w = st.workload { groups[w.pgid] = seen.id }
                if seen.fresh {
                    // First sight of an ended job nobody finished: record it, remove its cgroup.
                    let s = settler.settle(st)
                    for a in s.actions { logger.info("settled job \(seen.id): \(a)") }
                    for p in s.problems { logger.warning("settling: \(p)") }
                    st = s.status
                    read[seen.id] = st
                    if JobSettler.deadlinePassed(st) { enforceDeadline(seen.id) }
                }
                counts[st.state.rawValue, default: 0] += 1
            case .failure:
                counts[AgentMetrics.unreadable, default: 0] += 1
            }
        }
        metrics.journal(counts)
        workloadGroups = groups
        return read
    }

    /// Reports every tracked job that has ended (or whose outcome was lost). `known`: statuses
    /// read moments ago by the survey; a tracked job not among them is read here.
    func collectFinished(_ known: [JobID: JobStatus] = [:]) {
        for (id, t) in tracked where t.legacyPID == nil {
            guard let st = known[id] ?? (try? inspector.status(id, withUsage: false)), !st.state.isLive else { continue }
            let report = t.job.report(st.result, nodeID: config.nodeID)
            guard enqueue(report) else { continue }
            metrics.finished(t.job.path, report, oom: st.result.oomKilled)
            metrics.forget(job: id.value)
            tracked[id] = nil
            logger.info("job \(t.job.masterJobID) attempt \(t.job.attempt) ended: \(st.result.summaryLine)")
        }
    }

    /// True once the result is on disk (or already was); false leaves the job tracked, to retry.
    @discardableResult
    func enqueue(_ r: JobResultReport) -> Bool {
        // The session's delivery task picks it up (it looks at the outbox 4 times a second).
        defer { metrics.outbox.set(Double(outbox.depth)) }
        do {
            try outbox.enqueue(r)
            return true
        } catch {
            logger.error("cannot queue the result of \(r.jobID) (will retry): \(error)")
            return false
        }
    }

    /// Live CPU, memory and throttling of the wrapped jobs, once a second.
    func sample() {
        metrics.active.set(Double(tracked.count))
        metrics.outbox.set(Double(outbox.depth))
        for (id, t) in tracked {
            let cached = t.cgroup ?? (try? journal.spec(id))?.cgroup
            tracked[id]?.cgroup = .some(cached)
            guard let cg = cached else { continue }
            metrics.usage(job: id.value, inspector.driver.usage(cg))
        }
    }
}
