import FFRTMPCore
import FFRTMPWire
import FoundationEssentials
import Glibc
import Logging

/// The control socket: requests from the console and `ffrtmp ctl`, answered on the loop (a
/// kill, which waits out its grace period, on a thread of its own).
extension Agent {
    // MARK: control socket

    /// A control-socket request: answered on the loop, except a kill, which waits out a grace
    /// period (10 s) on its own thread so heartbeats, polls and the watchdog keep time.
    func serve(_ req: ControlRequest, reply: @escaping @Sendable (String) -> Void) {
        guard req.op == .kill else { return reply(handle(req)) }
        let (inspector, log) = (inspector, logger)
        Detached.run { reply(Self.killReply(req, inspector: inspector, logger: log)) }
    }

    static func killReply(_ req: ControlRequest, inspector: JobInspector, logger: Logger) -> String {
        do {
            let id = try JobID(req.job ?? "")
            let out = try JobKiller(inspector: inspector).kill(id, graceSeconds: 10, requestedBy: "operator via control socket")
            for n in out.notes { logger.warning("kill of \(id): \(n)") }
            return ControlJSON.encode(JobReply(job: id.value, state: out.status.state.rawValue))
        } catch {
            return ControlJSON.failure("\(error)")
        }
    }

    /// The operations the console also performs with the agent down, on this agent's settings.
    var node: NodeOperations { NodeOperations(config: config, configFile: configFile, journal: journal, driver: inspector.driver) }

    func handle(_ req: ControlRequest) -> String {
        do {
            switch req.op {
            case .status:
                return ControlJSON.encode(StatusReply(
                    nodeID: config.nodeID, masterURL: config.masterURL, registered: registered, wrapperEnabled: config.wrapperEnabled,
                    running: tracked.values.map { $0.job.masterJobID }, outboxDepth: outbox.depth, configFile: configFile))
            case .getWrapper:
                return ControlJSON.encode(WrapperReply(wrapperEnabled: config.wrapperEnabled))
            case .setWrapper:
                guard let on = req.enabled else { return ControlJSON.failure("set_wrapper needs \"enabled\": true or false") }
                let persisted = try node.persistWrapper(on)
                config.wrapperEnabled = on
                logger.info("WRAPPER_ENABLED set to \(on) over the control socket (persisted: \(persisted))")
                return ControlJSON.encode(WrapperReply(wrapperEnabled: on, persisted: persisted))
            case .list:
                return ControlJSON.encode(ListReply(jobs: inspector.all(withUsage: false).compactMap { try? $0.get().result }))
            case .kill:
                return Self.killReply(req, inspector: inspector, logger: logger)
            case .launchTest:
                let l = try node.launchTest(durationSeconds: req.durationSeconds ?? 10, cpuMax: req.cpuMax, memoryMaxMB: req.memoryMaxMB,
                                            user: media.user, shimPath: shimPath, launcher: .agent)
                shims.insert(l.shimPID)
                metrics.started(.wrapper)
                return ControlJSON.encode(JobReply(job: l.jobID.value))
            case .attach:
                guard let pgid = req.pgid else { return ControlJSON.failure("attach needs \"pgid\"") }
                let spec = try node.adopt(pgid: pgid)
                attached.insert(spec.jobID)
                metrics.started(.attach)
                return ControlJSON.encode(JobReply(job: spec.jobID.value))
            }
        } catch {
            return ControlJSON.failure("\(error)")
        }
    }

    func finishAttached() {
        let attacher = Attacher(journal: journal, driver: inspector.driver)
        for id in attached {
            guard let spec = try? journal.spec(id) else { attached.remove(id); continue }
            if (try? attacher.finishIfEnded(spec)) != nil { attached.remove(id) }
        }
    }
}
