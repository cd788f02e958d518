import ArgumentParser
import FFRTMPCLI
import FFRTMPCore
import Glibc

/// ffrtmp-agent: the worker daemon and the master client (`ffrtmp agent`, `ffrtmp jobs`), in a
/// binary of their own. `ffrtmp` execs it from libexec (like ffrtmp-console), so the code that
/// only a long-running daemon needs (Prometheus, swift-log, the master client) stays out of
/// the edge binary that every `ffrtmp run` loads.
@main
enum AgentEntry {
    static func main() {
        let args = CommandLine.arguments
        // The agent reads INT/TERM/HUP from a signalfd: every thread must have them blocked,
        // so block them while this is still the only thread.
        if args.count < 2 || args[1] == "agent" || args[1].hasPrefix("-") { Sys.blockControlSignals() }
        FFRTMP.main()
    }
}

struct FFRTMP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ffrtmp",
        abstract: "The ffrtmp worker daemon and master client (run through `ffrtmp agent` and `ffrtmp jobs`).",
        subcommands: [AgentCommand.self, Jobs.self],
        defaultSubcommand: AgentCommand.self)
}
