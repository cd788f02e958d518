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
        guard req.op == "kill" else { return reply(handle(req)) }
        let (inspector, log) = (inspector, logger)
        Detached.run { reply(Self.killReply(req, inspector: inspector, logger: log)) }
    }

    static func killReply(_ req: ControlRequest, inspector: JobInspector, logger: Logger) -> String {
        do {
            let id = try JobID(req.job ?? "")
            let out = try JobKiller(inspector: inspector).kill(id, graceSeconds: 10, requestedBy: "operator via control socket")
            for n in out.notes { logger.warning("kill of \(id): \(n)") }
            return ControlJSON.json(.object(["ok": .bool(true), "job": .string(id.value), "state": .string(out.status.state.rawValue)]))
        } catch {
            return ControlJSON.json(.object(["ok": .bool(false), "error": .string("\(error)")]))
        }
    }

    func handle(_ req: ControlRequest) -> String {
        func reply(_ fields: [String: JSONValue]) -> String {
            var f = fields
            f["ok"] = .bool(true)
            return ControlJSON.json(JSONValue.object(f))
        }
        func failure(_ msg: String) -> String { ControlJSON.json(JSONValue.object(["ok": .bool(false), "error": .string(msg)])) }
        do {
            switch req.op {
            case "status":
                return reply(["node_id": .string(config.nodeID), "master_url": config.masterURL.map { .string($0) } ?? .null,
                              "registered": .bool(registered), "wrapper_enabled": .bool(config.wrapperEnabled),
                              "running": .array(tracked.values.map { .string($0.job.masterJobID) }),
                              "outbox_depth": .number(Double(outbox.depth)), "config_file": configFile.map { .string($0) } ?? .null])
            case "get_wrapper":
                return reply(["wrapper_enabled": .bool(config.wrapperEnabled)])
            case "set_wrapper":
                guard let on = req.enabled else { return failure("set_wrapper needs \"enabled\": true or false") }
                var persisted = false
                if let file = configFile {
                    try WorkerConfig.persist(key: "WRAPPER_ENABLED", value: on ? "true" : "false", in: file)
                    persisted = true
                }
                config.wrapperEnabled = on
                logger.info("WRAPPER_ENABLED set to \(on) over the control socket (persisted: \(persisted))")
                return reply(["wrapper_enabled": .bool(on), "persisted": .bool(persisted)])
            case "list":
                let results = inspector.all(withUsage: false).compactMap { try? $0.get().result }
                return reply(["jobs": try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(results))])
            case "kill":
                return Self.killReply(req, inspector: inspector, logger: logger)
            case "launch_test":
                let id = JobID.generate()
                let l = try launcher.launch(TestTranscode.request(jobID: id, engines: engines, durationSeconds: req.durationSeconds ?? 10,
                                                                  cpuMax: req.cpuMax, memoryMaxMB: req.memoryMaxMB, defaults: config.defaultConstraints,
                                                                  user: media.user))
                shims.insert(l.shimPID)
                metrics.started(.wrapper)
                return reply(["job": .string(id.value)])
            case "attach":
                guard let pgid = req.pgid else { return failure("attach needs \"pgid\"") }
                // A pgid of 0 or 1, or one no process has, is said as such, not as "not a transcode".
                let members: [ProcessIdentity]
                do { members = try Attacher.resolve(.pgid(pgid)) } catch { return failure("attach pgid \(pgid): \(error)") }
                // Group members may adopt transcodes, not arbitrary (root) daemons.
                guard members.allSatisfy({ ProcFS.stat($0.pid).map { config.autoAttachTargets.contains($0.comm) } ?? false }) else {
                    return failure("attach is limited to process groups of \(config.autoAttachTargets.joined(separator: ", ")) (AUTO_ATTACH_TARGETS)")
                }
                let spec = try Attacher(journal: journal, driver: inspector.driver).adopt(
                    .pgid(pgid), jobID: JobID.generate(), constraints: try ConstraintParser().parse(config.defaultConstraints), requireGovernance: false)
                attached.insert(spec.jobID)
                metrics.started(.attach)
                return reply(["job": .string(spec.jobID.value)])
            default:
                return failure("unknown op \"\(req.op)\": status, get_wrapper, set_wrapper, list, kill, launch_test, attach")
            }
        } catch {
            return failure("\(error)")
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
