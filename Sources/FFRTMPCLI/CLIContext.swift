import ArgumentParser
import FFRTMPCore

// What the edge CLI (ffrtmp) and the daemon binary (ffrtmp-agent) share: the state dir and
// cgroup context, error endings, and output. ArgumentParser and the core only: no HTTP, no
// metrics, no logging library, so `ffrtmp run` stays lean.

/// What every command needs from the flags and the environment, free of
/// ArgumentParser so the `run` fast path can use it too.
public struct CLIContext {
    public var stateDir: String?
    public var cgroupParent: String?
    public let environment: [String: String] = ProcessEnvironment.current()

    public init(stateDir: String? = nil, cgroupParent: String? = nil) {
        self.stateDir = stateDir
        self.cgroupParent = cgroupParent
    }

    public func journal() -> JobJournal {
        JobJournal(stateDir: JobJournal.defaultStateDir(flag: stateDir, environment: environment))
    }

    public func driver() throws -> CgroupDriver {
        try CgroupDriverFactory.make(environment: environment, parentFlag: cgroupParent, stateDir: journal().stateDir)
    }

    public func inspector() throws -> JobInspector { JobInspector(journal: journal(), driver: try driver()) }

    /// Who is acting, for kill requests: the sudo user if any, and the SSH peer.
    public var actor: String { AuditLog.actor(environment) }
}

/// Errors end the command with a message naming what was wrong, never a stack trace.
public func fail(_ error: Error, status: Int32) -> ExitCode {
    let text = (error as? FFRTMPError)?.description ?? "\(error)"
    Output.err("ffrtmp: error: \(text)")
    return ExitCode(status)
}
