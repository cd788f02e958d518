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
    /// Extra files written into the job dir before the shim starts (the agent's agent.json),
    /// so no crash can leave a running job without them.
    public var sidecars: [String: String] = [:]
    /// The unprivileged user the workload becomes (nil: stay who the caller is).
    public var user: JobUser?
    /// Open files for the workload (media opened by MediaRoots), at fixed numbers (WorkloadFD).
    /// They stay the caller's to close.
    public var files: [PassedFD] = []
    /// Create JOBDIR/progress and hand it to the workload at WorkloadFD.progress (ffmpeg's
    /// `-progress pipe:6`): the job's user writes it without any right on the state dir.
    public var progressFile = false
    /// Who is launching (LaunchMarker): decides whether an abandoned launch is a platform fault.
    public var launcher: LaunchMarker.Launcher = .cli

    public init(jobID: JobID, argv: [String], constraints: Constraints, timeoutSeconds: Double? = nil,
                graceSeconds: Double? = nil, requireGovernance: Bool = false, sidecars: [String: String] = [:],
                user: JobUser? = nil, files: [PassedFD] = [], progressFile: Bool = false) {
        self.jobID = jobID
        self.argv = argv
        self.constraints = constraints
        self.timeoutSeconds = timeoutSeconds
        self.graceSeconds = graceSeconds
        self.requireGovernance = requireGovernance
        self.sidecars = sidecars
        self.user = user
        self.files = files
        self.progressFile = progressFile
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

    /// The longest timeout or grace the shim accepts (ten years).
    public static let maxSeconds: Double = 10 * 365 * 86400

    public func launch(_ req: LaunchRequest) throws -> LaunchedJob {
        guard !req.argv.isEmpty else {
            throw FFRTMPError.invalidField(field: "command", value: "", expected: "a command after --, e.g. ffrtmp run -- ffmpeg -i in.mp4 out.mp4")
        }
        if let t = req.timeoutSeconds, !(t >= 1e-9 && t <= Self.maxSeconds) {
            throw FFRTMPError.invalidField(field: "--timeout", value: String(t), expected: "seconds greater than 0, at most \(Int(Self.maxSeconds))")
        }
        if let g = req.graceSeconds, !(g >= 0 && g <= Self.maxSeconds) {
            throw FFRTMPError.invalidField(field: "--grace", value: String(g), expected: "seconds from 0 to \(Int(Self.maxSeconds))")
        }
        let created = Clock.realtimeNanoseconds()
        // The id first: a second job with the same id must fail here, before it touches the
        // first one's cgroup.
        try journal.claim(req.jobID)
        // Before anything else exists: a launcher killed from here on leaves a job that says who
        // launched it and where its cgroup goes (never_started, not a phantom lost outcome).
        do {
            guard let me = ProcessIdentity.current(getpid()) else {
                throw FFRTMPError.io(path: "/proc/self/stat", operation: "read own start time", errno: errno)
            }
            try journal.writeLaunchMarker(LaunchMarker(launcher: me, kind: req.launcher, jobID: req.jobID, argv: req.argv,
                                                       cgroup: driver.version == .unavailable ? nil : driver.locate(req.jobID), createdAtUnixNs: created))
        } catch {
            journal.abandon(req.jobID)
            throw error
        }
        var creation: CgroupCreation?
        var governance = Governance(level: .full)
        do {
            do {
                let c = try driver.create(req.jobID, constraints: req.constraints)
                creation = c
                if !c.degraded.isEmpty { governance = Governance(level: .degraded, reason: c.degraded.joined(separator: "; ")) }
            } catch let e as FFRTMPError where Self.isUnavailable(e) {
                governance = Governance(level: .degraded, reason: "\(e)")
            }
            if req.requireGovernance && governance.level != .full {
                throw FFRTMPError.governanceUnavailable(reason: (governance.reason ?? "unknown") + " (and --require-governance is set)")
            }
            // The output limit is the shim's to enforce, with or without a cgroup.
            var applied = creation?.applied ?? Constraints()
            applied.maxOutputMB = req.constraints.maxOutputMB
            let spec = JobSpec(jobID: req.jobID, mode: .run, argv: req.argv, constraints: req.constraints.wire,
                               constraintsApplied: applied.wire, timeoutSeconds: req.timeoutSeconds,
                               cgroup: creation?.cgroup, governance: governance, createdAtUnixNs: created, runAs: req.user)
            try journal.writeSpec(spec)
            for (name, contents) in req.sidecars { try FileIO.writeAtomically(journal.file(req.jobID, name), contents, sync: false) }
            var files = req.files
            var progress: Int32 = -1
            defer { if progress >= 0 { close(progress) } }
            if req.progressFile {
                progress = try journal.createJobFile(req.jobID, "progress")
                files.append(PassedFD(source: progress, target: WorkloadFD.progress))
            }
            return try spawnShim(spec, graceSeconds: req.graceSeconds, files: files, maxOutputBytes: req.constraints.maxOutputBytes)
        } catch {
            if let cg = creation?.cgroup { try? driver.destroy(cg) }
            // Only a job that never got as far as a shim is removed; a shim that started owns its dir.
            if !FileIO.exists(journal.file(req.jobID, "shim.pid")) { journal.abandon(req.jobID) }
            throw error
        }
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

    /// Seconds as fixed-point text: Swift prints 1e-05 for tiny doubles, which the shim refuses.
    static func seconds(_ v: Double) -> String {
        let ns = Int64((v * 1e9).rounded())
        let frac = String(ns % 1_000_000_000)
        return "\(ns / 1_000_000_000)." + String(repeating: "0", count: 9 - frac.count) + frac
    }

    func spawnShim(_ spec: JobSpec, graceSeconds: Double?, files: [PassedFD], maxOutputBytes: UInt64?) throws -> LaunchedJob {
        var args = [shimPath, "--job-dir", journal.dir(spec.jobID), "--sync-fd", "3", "--rmdir-cgroups"]
        for d in spec.cgroup?.uniqueDirs ?? [] { args += ["--cgroup", d] }
        if let t = spec.timeoutSeconds { args += ["--timeout", Self.seconds(t)] }
        if let g = graceSeconds { args += ["--grace", Self.seconds(g)] }
        if let u = spec.runAs { args += ["--user", u.shimArgument] }
        for f in files { args += ["--pass-fd", String(f.target)] }
        if let m = maxOutputBytes { args += ["--max-output-bytes", String(m)] }
        args.append("--")
        args += spec.argv
        let pipe = try Sys.pipeCloexec()
        defer { close(pipe.read) }
        let pid: Int32
        do {
            pid = try Sys.spawnDetached(path: shimPath, argv: args, syncFD: pipe.write, files: files)
        } catch {
            close(pipe.write)
            throw error
        }
        close(pipe.write)
        let line = Self.readLine(pipe.read)
        var job = LaunchedJob(jobID: spec.jobID, spec: spec, shimPID: pid, workloadPID: nil)
        let f = line.split(separator: " ")
        if f.first == "running", f.count >= 2 {
            job.workloadPID = Int32(f[1])
        } else if f.first != "failed" {
            // EOF without a word: the shim died or refused its arguments before it could record
            // anything. Reap it and record the failure ourselves, as a platform fault.
            var st: Int32 = 0
            waitpid(pid, &st, 0)
            // If it had already forked the workload, the job did start: its outcome is lost
            // (no record, state `lost` or `orphaned`), which is the truth; do not call it a spawn failure.
            if let w = journal.workload(spec.jobID) {
                job.workloadPID = w.identity.pid
                return job
            }
            if let cg = spec.cgroup { try? driver.destroy(cg) }
            let now = Clock.realtimeNanoseconds()
            let why = (st & 0x7f) == 0 ? "ffrtmp-shim exited \((st >> 8) & 0xff) before starting the job (see shim.log)" : "ffrtmp-shim died of signal \(st & 0x7f) before starting the job"
            try journal.writeExitRecord(spec.jobID, ExitRecord(
                pid: 0, pidStartTime: 0, pgid: 0, exitCode: nil, signal: nil, oomKilled: false, oomKillCount: 0, killedBy: nil,
                startedAtUnixNs: now, endedAtUnixNs: now, durationNs: 0, cpuUsageNs: 0, peakMemoryBytes: 0, usageSource: "none",
                spawnError: .init(stage: "shim", errno: EPROTO, message: why)))
        }
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
