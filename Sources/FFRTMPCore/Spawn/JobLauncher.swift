import Glibc

/// What to run and how it is governed.
public struct LaunchRequest: Sendable {
    public var jobID: JobID
    public var argv: [String]
    public var constraints: Constraints
    public var timeoutSeconds: Double?
    public var graceSeconds: Double?
    /// Refuse to run rather than run degraded.
    public var requireGovernance: Bool

    public init(jobID: JobID, argv: [String], constraints: Constraints, timeoutSeconds: Double? = nil,
                graceSeconds: Double? = nil, requireGovernance: Bool = false) {
        self.jobID = jobID
        self.argv = argv
        self.constraints = constraints
        self.timeoutSeconds = timeoutSeconds
        self.graceSeconds = graceSeconds
        self.requireGovernance = requireGovernance
    }
}

/// A job that ffrtmp-shim has started (or failed to start).
public struct LaunchedJob: Sendable {
    public var jobID: JobID
    public var spec: JobSpec
    /// The shim is our child until we exit; then init (or a subreaper) adopts it.
    public var shimPID: Int32
    /// Set when the workload exec'ed; nil when the spawn failed (see the exit record).
    public var workloadPID: Int32?
}

/// Starts jobs through ffrtmp-shim: claim the id, create the cgroup with its limits,
/// then spawn the shim, which puts the workload in the cgroup before execve.
public struct JobLauncher: Sendable {
    public let journal: JobJournal
    public let driver: CgroupDriver
    public let shimPath: String

    public init(journal: JobJournal, driver: CgroupDriver, shimPath: String) {
        self.journal = journal
        self.driver = driver
        self.shimPath = shimPath
    }

    public func launch(_ req: LaunchRequest) throws -> LaunchedJob {
        guard !req.argv.isEmpty else {
            throw FFRTMPError.invalidField(field: "command", value: "", expected: "a command after --, e.g. ffrtmp run -- ffmpeg -i in.mp4 out.mp4")
        }
        let created = Clock.realtimeNanoseconds()
        var cgroup: JobCgroup?
        var governance = Governance(level: .full)
        do {
            let (cg, degraded) = try driver.create(req.jobID, constraints: req.constraints)
            cgroup = cg
            if !degraded.isEmpty { governance = Governance(level: .degraded, reason: degraded.joined(separator: "; ")) }
        } catch let e as FFRTMPError {
            guard Self.isUnavailable(e) else { throw e }
            governance = Governance(level: .degraded, reason: "\(e)")
        }
        if req.requireGovernance && governance.level != .full {
            if let cg = cgroup { try? driver.destroy(cg) }
            throw FFRTMPError.governanceUnavailable(reason: (governance.reason ?? "unknown") + " (and --require-governance is set)")
        }
        let spec = JobSpec(jobID: req.jobID, mode: .run, argv: req.argv, constraints: req.constraints.wire,
                           timeoutSeconds: req.timeoutSeconds, cgroup: cgroup, governance: governance, createdAtUnixNs: created)
        do {
            try journal.create(spec)
        } catch {
            if let cg = cgroup { try? driver.destroy(cg) }
            throw error
        }
        return try spawnShim(spec)
    }

    /// Cgroups that cannot be created for lack of rights or mounts degrade governance;
    /// anything else (a rejected value, a full disk) is an error the caller must see.
    static func isUnavailable(_ e: FFRTMPError) -> Bool {
        switch e {
        case .governanceUnavailable: return true
        case let .cgroupDirectory(_, op, err): return op == "create" && [EACCES, EPERM, EROFS, ENOENT].contains(err)
        case let .cgroupWrite(path, _, err): return path.hasSuffix("subtree_control") && [EACCES, EPERM, EROFS].contains(err)
        default: return false
        }
    }

    func spawnShim(_ spec: JobSpec) throws -> LaunchedJob {
        var args = [shimPath, "--job-dir", journal.dir(spec.jobID), "--sync-fd", "3", "--rmdir-cgroups"]
        for d in spec.cgroup?.uniqueDirs ?? [] { args += ["--cgroup", d] }
        if let t = spec.timeoutSeconds { args += ["--timeout", String(t)] }
        args.append("--")
        args += spec.argv
        let pipe = try Sys.pipeCloexec()
        let pid: Int32
        do {
            pid = try Sys.spawnDetached(path: shimPath, argv: args, syncFD: pipe.write)
        } catch {
            close(pipe.read)
            close(pipe.write)
            if let cg = spec.cgroup { try? driver.destroy(cg) }
            throw error
        }
        close(pipe.write)
        let line = Self.readLine(pipe.read)
        close(pipe.read)
        var job = LaunchedJob(jobID: spec.jobID, spec: spec, shimPID: pid, workloadPID: nil)
        let f = line.split(separator: " ")
        if f.first == "running", f.count >= 2 { job.workloadPID = Int32(f[1]) }
        // "failed STAGE ERRNO" or EOF: the shim has written (or will have lost) the exit record.
        return job
    }

    static func readLine(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var c: UInt8 = 0
        while bytes.count < 256 {
            let n = read(fd, &c, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || c == UInt8(ascii: "\n") { break }
            bytes.append(c)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
