import ArgumentParser
import FFRTMPCLI
import FFRTMPCore

extension FFRTMP {
    struct Orphans: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List work that runs without a supervisor.",
            discussion: """
                Two kinds: journal jobs whose ffrtmp-shim is gone while their processes still run, \
                and ffmpeg / gst-launch-1.0 process groups that are in no ffrtmp cgroup. Adopt either \
                with: ffrtmp attach --pgid PGID [limits]. Where the agent runs auto-attach \
                (AUTO_ATTACH=true), each group says what auto-attach does with it (takes, waits, \
                refused) and why.
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print {\"jobs\": [...], \"groups\": [...]} as JSON.")
        var json = false

        struct Report: Encodable {
            struct Job: Encodable {
                var jobID: String
                var pid: Int32?
                var pgid: Int32?
                var members: [Int32]
                enum CodingKeys: String, CodingKey { case jobID = "job_id", pid, pgid, members }
            }
            var jobs: [Job]
            var groups: [OrphanScanner.UngovernedGroup]
            /// Jobs nobody had finished, settled by this command: a launch cut short (never
            /// started) gets its record, an ended job's leftover cgroup is removed.
            struct SettledJob: Encodable {
                var jobID: String
                var state: String
                var actions: [String]
                var problems: [String]
                enum CodingKeys: String, CodingKey { case jobID = "job_id", state, actions, problems }
            }
            var settled: [SettledJob]
            /// Whether auto-attach runs here, as the agent last wrote it (nil: it never ran).
            struct AutoAttach: Encodable {
                var enabled: Bool
                var dryRun: Bool
                var agentRunning: Bool
                var refused: Int
                var updatedAt: String
                enum CodingKeys: String, CodingKey { case enabled, dryRun = "dry_run", agentRunning = "agent_running", refused, updatedAt = "updated_at" }
            }
            var autoAttach: AutoAttach?
            enum CodingKeys: String, CodingKey { case jobs, groups, settled, autoAttach = "auto_attach" }
        }

        func run() throws {
            let inspector: JobInspector
            do { inspector = try global.inspector() } catch { throw fail(error, status: 1) }
            let scanner = OrphanScanner(inspector: inspector)
            let settler = JobSettler(inspector: inspector)
            let all = settler.settleAll()
            var settled = all.settled.map {
                Report.SettledJob(jobID: $0.status.spec.jobID.value, state: $0.status.state.rawValue, actions: $0.actions, problems: $0.problems)
            }
            // With no agent to re-arm it, an orphan past its timeout is ended here.
            for case let .success(st) in all.statuses where JobSettler.deadlinePassed(st) {
                let id = st.spec.jobID
                do {
                    let out = try settler.enforceDeadline(id)
                    settled.append(Report.SettledJob(jobID: id.value, state: out.status.state.rawValue,
                                                     actions: ["ended at its timeout (\(st.spec.timeoutSeconds ?? 0) s) with its supervisor gone"], problems: out.notes))
                } catch {
                    settled.append(Report.SettledJob(jobID: id.value, state: st.state.rawValue, actions: [], problems: ["timeout not enforced: \(error)"]))
                }
            }
            let jobs = scanner.journalOrphans().map { st in
                Report.Job(jobID: st.spec.jobID.value, pid: st.workload?.identity.pid, pgid: st.workload?.pgid,
                           members: st.spec.cgroup.map(inspector.driver.members) ?? [])
            }
            var state: AutoAttachState?
            do { state = try AutoAttachState.load(stateDir: inspector.journal.stateDir) } catch {
                Output.err("warning: \(error); groups are listed without auto-attach's verdicts")
            }
            let summary = state.map {
                Report.AutoAttach(enabled: $0.enabled, dryRun: $0.policy.dryRun, agentRunning: $0.agentRunning, refused: $0.refused.count,
                                  updatedAt: Clock.iso8601(unixNanoseconds: $0.updatedAtUnixNs))
            }
            let report = Report(jobs: jobs, groups: scanner.ungovernedGroups(autoAttach: state), settled: settled, autoAttach: summary)
            if json {
                Output.out(Output.json(report))
                return
            }
            let rows = report.jobs.map { ["job", $0.jobID, $0.pgid.map(String.init) ?? "-", $0.members.map(String.init).joined(separator: ",")] }
                + report.groups.map { ["group", $0.command, String($0.pgid), $0.processes.map { String($0.pid) }.joined(separator: ","),
                                       $0.autoAttach.map { $0.kind.label(dryRun: summary?.dryRun ?? false) } ?? "-"] }
            for s in report.settled {
                Output.err("settled job \(s.jobID) (\(s.state)): " + (s.actions + s.problems.map { "could not: " + $0 }).joined(separator: "; "))
            }
            if rows.isEmpty {
                Output.out("no orphans")
            } else {
                Output.out(Output.table(["KIND", "JOB/COMMAND", "PGID", "PIDS", "AUTO-ATTACH"], rows.map { $0.count == 4 ? $0 + ["-"] : $0 }))
            }
            for g in report.groups { if let v = g.autoAttach { Output.out("pgid \(g.pgid): auto-attach \(v.kind.label(dryRun: summary?.dryRun ?? false)): \(v.reason)") } }
            if let a = summary, a.enabled, !a.agentRunning { Output.err("note: the agent that runs auto-attach here is not running (last seen \(a.updatedAt))") }
        }
    }
}
