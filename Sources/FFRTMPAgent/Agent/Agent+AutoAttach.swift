import FFRTMPCore
import FFRTMPWire
import Glibc
import Logging

/// What auto-attach keeps between scans: the refusals (also in STATE_DIR/auto-attach.json, so a
/// restarted agent keeps them) and what was last logged for each group, so a group is logged
/// when its verdict changes, not every interval.
struct AutoAttachRun {
    var state: AutoAttachState
    var logged: [GroupIdentity: AutoAttachVerdict] = [:]
    var next: Int64 = 0
}

/// Auto-attach (AUTO_ATTACH=true): every AUTO_ATTACH_INTERVAL the agent adopts the process
/// groups AutoAttachScan takes, with the WRAPPER_DEFAULT_* limits, as attach jobs that report
/// to no master (as a manual attach). A group refused once, by the settings or by a failed
/// adoption, is remembered by identity and not tried again.
extension Agent {
    /// At start and after a reload: the settings in force, the refusals kept from before (those
    /// made under other settings are dropped: the operator changed them so they would apply).
    func configureAutoAttach() {
        let policy = config.autoAttachPolicy(inspector.driver.version)
        let me = ProcessIdentity.current(getpid())
        var kept: [AutoAttachState.Refusal] = []
        do {
            if let old = try AutoAttachState.load(stateDir: journal.stateDir) {
                kept = old.refused.filter { $0.attempted || old.policy == policy }
            }
        } catch {
            logger.warning("auto-attach: \(error); starting without its remembered refusals")
        }
        if let run = autoAttach { kept = run.state.refused.filter { $0.attempted || run.state.policy == policy } }
        var run = AutoAttachRun(state: AutoAttachState(enabled: config.autoAttach, policy: policy, agent: me,
                                                       updatedAtUnixNs: Clock.realtimeNanoseconds(), refused: kept))
        run.logged = autoAttach?.state.policy == policy ? autoAttach?.logged ?? [:] : [:]
        autoAttach = run
        saveAutoAttach()
        guard config.autoAttach else { return }
        logger.info("auto-attach on\(policy.dryRun ? " (dry run: nothing is moved)" : ""): targets \(policy.targets.joined(separator: ",")), min age \(policy.minAgeSeconds) s, every \(policy.intervalSeconds) s, from \(policy.from.joined(separator: ","))\(policy.users.map { ", uids " + $0.map(String.init).joined(separator: ",") } ?? "")")
        if policy.targets.isEmpty { logger.warning("auto-attach: AUTO_ATTACH_TARGETS is empty: no group can be adopted") }
        let d = config.defaultConstraints
        if d.cpuMax == nil && d.cpuWeight == nil && d.memoryMaxMB == nil && d.ioMax == nil {
            logger.warning("auto-attach: no WRAPPER_DEFAULT_CPU_MAX, _CPU_WEIGHT, _MEMORY_MAX_MB or _IO_MAX: adopted groups are watched and can be killed, but not limited")
        }
    }

    func saveAutoAttach() {
        guard var run = autoAttach else { return }
        run.state.updatedAtUnixNs = Clock.realtimeNanoseconds()
        autoAttach = run
        do { try run.state.write(stateDir: journal.stateDir) } catch { logger.warning("auto-attach: its state could not be written: \(error)") }
    }

    /// One scan, when one is due.
    func autoAttachIfDue(_ now: Int64) {
        guard config.autoAttach, var run = autoAttach, now >= run.next else { return }
        run.next = now + Int64(run.state.policy.intervalSeconds * 1e9)
        autoAttach = run
        autoAttachScan()
    }

    func autoAttachScan() {
        guard var run = autoAttach else { return }
        let policy = run.state.policy
        let scan = AutoAttachScan(policy: policy, driver: inspector.driver, agentPID: getpid(), journalGroups: workloadGroups)
        let found = scan.candidates()
        let seen = Set(found.map(\.identity))
        var changed = false
        // A refusal lasts as long as its group: one that has ended is forgotten.
        let before = run.state.refused.count
        run.state.refused.removeAll { !seen.contains($0.group) }
        changed = run.state.refused.count != before
        run.logged = run.logged.filter { seen.contains($0.key) }
        let constraints: Constraints
        do { constraints = try ConstraintParser().parse(config.defaultConstraints) } catch {
            logger.error("auto-attach: the WRAPPER_DEFAULT_* limits do not parse, nothing is adopted: \(error)")
            return
        }
        // At most this many adoptions per scan: each one lists /proc again, and the loop must
        // keep the watchdog's and the master's time (the rest are taken at the next scan).
        var adoptionsLeft = 4
        for c in found where !run.state.refused.contains(where: { $0.group == c.identity }) {
            let what = "pgid \(c.pgidText) (\(c.command), \(c.members.count) process\(c.members.count == 1 ? "" : "es"))"
            let v = c.verdict
            switch v.kind {
            case .take where !policy.dryRun && attached.filter({ $0.value.hasPrefix("auto-") }).count >= config.autoAttachMaxJobs:
                // Looked at again once an adopted group ends; said once, not every interval.
                let full = AutoAttachVerdict(.wait, "AUTO_ATTACH_MAX_JOBS (\(config.autoAttachMaxJobs)) adopted groups are watched already")
                if run.logged[c.identity] == full { continue }
                logger.warning("auto-attach: not yet \(what): \(full.reason)")
                run.logged[c.identity] = full
            case .take where !policy.dryRun && adoptionsLeft == 0:
                continue
            case .take where !policy.dryRun:
                adoptionsLeft -= 1
                let leader = c.members.first { $0.pid == c.identity.pgid }
                do {
                    let spec = try Attacher(journal: journal, driver: inspector.driver).adopt(
                        .pgid(c.identity.pgid), jobID: c.identity.jobID, constraints: constraints, requireGovernance: false, expectedLeader: leader)
                    attached.insert(spec.jobID)
                    metrics.started(.attach)
                    metrics.autoAttached.increment()
                    let limits = "limits " + (spec.constraintsApplied ?? spec.constraints).summary
                    logger.info("auto-attach: adopted \(what) as job \(spec.jobID) with \(limits) (\(v.reason))")
                    audit(c, ok: true, detail: "job \(spec.jobID), \(limits), governance \(spec.governance.level.rawValue)")
                } catch {
                    let reason = Self.attemptFailure(error)
                    run.state.refused.append(.init(group: c.identity, command: c.command, reason: reason, atUnixNs: Clock.realtimeNanoseconds(), attempted: true))
                    changed = true
                    metrics.autoAttachRefused.increment()
                    logger.warning("auto-attach: \(what) not adopted, and not tried again: \(reason)")
                    audit(c, ok: false, detail: reason)
                }
                run.logged[c.identity] = v
            case .refuse:
                run.state.refused.append(.init(group: c.identity, command: c.command, reason: v.reason, atUnixNs: Clock.realtimeNanoseconds(), attempted: false))
                changed = true
                if !policy.dryRun { metrics.autoAttachRefused.increment() }
                logger.info("auto-attach\(policy.dryRun ? " dry run: would not adopt" : ": not adopting") \(what): \(v.reason)")
                run.logged[c.identity] = v
            case .take, .wait, .refused:
                // Logged when the verdict changes, not with every scan (nor every new age).
                if run.logged[c.identity]?.kind == v.kind { continue }
                let head = !policy.dryRun ? "auto-attach: not yet" : v.kind == .take ? "auto-attach dry run: would adopt" : "auto-attach dry run: not yet"
                logger.info("\(head) \(what): \(v.reason)")
                run.logged[c.identity] = v
            }
        }
        autoAttach = run
        if changed { saveAutoAttach() }
    }

    /// Why an adoption that was tried did not happen, as the refusal says it.
    public static func attemptFailure(_ error: Error) -> String {
        switch error {
        case FFRTMPError.processNotFound, FFRTMPError.identityMismatch:
            return "the group exited (or its leader was replaced) during the move: \(error)"
        default:
            return "adoption failed: \(error)"
        }
    }

    func audit(_ c: AutoAttachCandidate, ok: Bool, detail: String) {
        do {
            try AuditLog(stateDir: journal.stateDir).append(tool: "agent", action: "auto_attach", target: "pgid \(c.identity.pgid) \(c.command)",
                                                            succeeded: ok, detail: detail, environment: ["USER": "ffrtmp-agent"])
        } catch {
            logger.warning("auto-attach: the audit log could not be written: \(error)")
        }
    }
}

extension AutoAttachCandidate {
    var pgidText: String { String(identity.pgid) }
}
