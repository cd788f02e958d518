import ArgumentParser
import FFRTMPCLI
import FFRTMPCore
import Glibc

@main
enum Entry {
    static func main() {
        let args = CommandLine.arguments
        // run and attach read these signals from a signalfd; every thread must have them
        // blocked, so block them here, while this is still the only thread. (This is also why
        // the root command is synchronous: an async main runs dispatch_main, which leaves
        // the main thread with an empty signal mask.)
        if args.count > 1, DaemonCommands.names.contains(args[1]) { DaemonCommands.exec(Array(args.dropFirst())) }
        if args.count > 1, ["run", "attach"].contains(args[1]) { Sys.blockControlSignals() }
        if args.count > 2, args[1] == "run", let inv = RunInvocation.fastParse(args.dropFirst(2)) {
            exit(inv.execute())
        }
        FFRTMP.main()
    }
}

struct FFRTMP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ffrtmp",
        abstract: "Run and govern FFmpeg/GStreamer transcodes on an edge box.",
        discussion: """
            Every job runs in its own process group and cgroup with CPU, memory and IO limits, \
            under a small supervisor (ffrtmp-shim) that outlives this command, so a job keeps \
            running if the terminal, the SSH session or ffrtmp itself goes away. Its true outcome \
            (exit code, signal, OOM) is recorded in the state dir and shown by `ffrtmp ps`.

            Environment: FFRTMP_STATE_DIR (state dir), FFRTMP_CGROUP_PARENT (cgroup parent, default /ffrtmp), \
            FFRTMP_CGROUP_DRIVER (auto, v1, v2 or none), FFRTMP_SHIM (path of ffrtmp-shim).
            """,
        subcommands: [Run.self, Attach.self, Ps.self, Kill.self, Orphans.self, Jobs.self, AgentCommand.self, Ctl.self, Console.self])

    /// Listed for `ffrtmp --help`; Entry.main hands both to ffrtmp-agent before parsing.
    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Submit, list, show and cancel jobs on the master (runs ffrtmp-agent jobs; see ffrtmp jobs --help).")
    }

    struct AgentCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "agent", abstract: "Run the headless worker: pull jobs from the master and run them (runs ffrtmp-agent; see ffrtmp agent --help).")
    }
}
