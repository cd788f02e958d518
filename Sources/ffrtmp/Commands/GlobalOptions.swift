import ArgumentParser
import FFRTMPCLI
import FFRTMPCore
import Glibc

/// Options every subcommand shares: where the journal lives and which cgroups to use.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: "The state dir holding the job journal. Default: $FFRTMP_STATE_DIR, else /var/lib/ffrtmp as root, else $XDG_STATE_HOME/ffrtmp.")
    var stateDir: String?

    @Option(name: .customLong("cgroup-parent"), help: "The cgroup under which job cgroups are created, in every hierarchy. Default: $FFRTMP_CGROUP_PARENT, else /ffrtmp.")
    var cgroupParent: String?

    var context: CLIContext { CLIContext(stateDir: stateDir, cgroupParent: cgroupParent) }
    var environment: [String: String] { context.environment }
    func journal() -> JobJournal { context.journal() }
    func driver() throws -> CgroupDriver { try context.driver() }
    func inspector() throws -> JobInspector { try context.inspector() }
    var actor: String { context.actor }

    /// Appends a changing action to STATE_DIR/audit.log (docs/CONSOLE.md), like the console
    /// does; a log that cannot be written is said on stderr, never skipped silently.
    func audit(_ action: String, target: String?, succeeded: Bool, detail: String?) {
        do {
            try AuditLog(stateDir: journal().stateDir).append(tool: "cli", action: action, target: target, succeeded: succeeded,
                                                               detail: detail, environment: environment)
        } catch {
            Output.err("ffrtmp: warning: audit log not written: \(error)")
        }
    }
}

