import FFRTMPCore

/// What the agent's control socket and the console (with the agent down) both do to the
/// node, written once: a test transcode, adopting a process group, the wrapper switch. Each
/// caller keeps its own bookkeeping (the agent's shims and attach jobs, the console's
/// watched jobs and audit log) and its own checks before acting (the console's trust check).
public struct NodeOperations: Sendable {
    /// The settings in force: the agent's own, or worker.env as the console reads it.
    public var config: WorkerConfig
    /// worker.env, where the wrapper switch is persisted (nil: nowhere).
    public var configFile: String?
    public let journal: JobJournal
    public let driver: CgroupDriver

    public init(config: WorkerConfig, configFile: String?, journal: JobJournal, driver: CgroupDriver) {
        self.config = config
        self.configFile = configFile
        self.journal = journal
        self.driver = driver
    }

    /// A refusal in the words the operator reads (the agent's answer, the console's status line).
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    // MARK: test transcode

    /// Starts a wrapped test transcode through `shimPath`: the configuration's engines, its
    /// WRAPPER_DEFAULT_* limits under the given ones, run as `user` (JOB_USER). The shim is the
    /// caller's child: it must reap it.
    public func launchTest(durationSeconds: Double, cpuMax: String?, memoryMaxMB: Int?, user: JobUser?, shimPath: String,
                           launcher: LaunchMarker.Launcher) throws -> LaunchedJob {
        var request = try TestTranscode.request(
            jobID: JobID.generate(), engines: EngineCommand(ffmpegPath: config.ffmpegPath, gstLaunchPath: config.gstLaunchPath),
            durationSeconds: durationSeconds, cpuMax: cpuMax, memoryMaxMB: memoryMaxMB, defaults: config.defaultConstraints, user: user)
        request.launcher = launcher
        return try JobLauncher(journal: journal, driver: driver, shimPath: shimPath).launch(request)
    }

    // MARK: adoption

    /// Adopts process group `pgid` as a new attach job with the WRAPPER_DEFAULT_* limits, after
    /// checking that every member runs a program of AUTO_ATTACH_TARGETS: transcodes, never a
    /// service script's group or an arbitrary (root) daemon. The caller watches the job.
    /// `ownedBy`: the members of a journal orphan's cgroup. A group whose every member is there
    /// is ffrtmp's own job (whatever its program), so the AUTO_ATTACH_TARGETS check is skipped.
    public func adopt(pgid: Int32, ownedBy: Set<Int32> = []) throws -> JobSpec {
        // A pgid of 0 or 1, or one no process has, is said as such, not as "not a transcode".
        let members: [ProcessIdentity]
        do { members = try Attacher.resolve(.pgid(pgid)) } catch { throw Refusal(description: "attach pgid \(pgid): \(error)") }
        if ownedBy.isEmpty || !members.allSatisfy({ ownedBy.contains($0.pid) }) {
            try Self.checkTargets(members, pgid: pgid, targets: config.autoAttachTargets)
        }
        return try Attacher(journal: journal, driver: driver).adopt(
            .pgid(pgid), jobID: JobID.generate(), constraints: try ConstraintParser().parse(config.defaultConstraints), requireGovernance: false)
    }

    /// Every member's command (comm) must be one of `targets`; a member whose stat cannot be read
    /// counts against the group (it is shown as ?[pid]). The refusal names AUTO_ATTACH_TARGETS,
    /// its commands, and the first members that are not among them.
    public static func checkTargets(_ members: [ProcessIdentity], pgid: Int32, targets: [String]) throws {
        let allowed = Set(targets)
        let others = members.compactMap { m -> String? in
            guard let st = ProcFS.stat(m.pid) else { return "?[\(m.pid)]" }
            return allowed.contains(st.comm) ? nil : "\(st.comm)[\(m.pid)]"
        }
        guard others.isEmpty else {
            throw Refusal(description: "attach pgid \(pgid): attach is limited to process groups of "
                + (targets.isEmpty ? "(none)" : targets.joined(separator: ", ")) + " (AUTO_ATTACH_TARGETS); it also holds "
                + others.prefix(3).joined(separator: ", ") + (others.count > 3 ? " and \(others.count - 3) more" : ""))
        }
    }

    // MARK: wrapper switch

    /// Writes WRAPPER_ENABLED to worker.env (atomically, the rest of the file kept) when there is
    /// one; returns whether it was written. Applying it to a running agent is the agent's part.
    public func persistWrapper(_ on: Bool) throws -> Bool {
        guard let file = configFile else { return false }
        try WorkerConfig.persist(key: "WRAPPER_ENABLED", value: on ? "true" : "false", in: file)
        return true
    }
}
