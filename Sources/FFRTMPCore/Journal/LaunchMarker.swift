/// jobs/<id>/launching: written by the launcher right after it claims the id, before it creates
/// a cgroup or spawns the shim. It names the launcher (pid and start time) and where the job's
/// cgroup goes, so a launcher killed half-way (kill -9 between the cgroup and the shim) leaves a
/// job that reads as `never_started`, not a phantom `lost` outcome, and a cgroup that the next
/// `ffrtmp` command or agent survey can find and remove (JobSettler).
public struct LaunchMarker: Codable, Equatable, Sendable {
    /// Who launched the job: an operator's front end, or the agent (the platform itself).
    public enum Launcher: String, Codable, Sendable {
        case cli, console, agent
        /// Whether a launch this front end abandoned is the platform's fault: the agent is the
        /// platform; `ffrtmp run` and the console are an operator's own processes, which the
        /// operator ends (kill -9, a closed SSH session before the job started).
        public var isPlatform: Bool { self == .agent }
    }

    /// The exit-record stages of an abandoned launch (JobSettler writes them): by an operator's
    /// front end, or by the agent.
    public static let abandonedStages: Set<String> = ["launch", "launch_agent"]

    public var launcher: ProcessIdentity
    public var kind: Launcher
    public var jobID: JobID
    public var argv: [String]
    public var cgroup: JobCgroup?
    public var createdAtUnixNs: Int64

    public init(launcher: ProcessIdentity, kind: Launcher, jobID: JobID, argv: [String], cgroup: JobCgroup?, createdAtUnixNs: Int64) {
        self.launcher = launcher
        self.kind = kind
        self.jobID = jobID
        self.argv = argv
        self.cgroup = cgroup
        self.createdAtUnixNs = createdAtUnixNs
    }

    enum CodingKeys: String, CodingKey { case launcher, kind, jobID = "job_id", argv, cgroup, createdAtUnixNs = "created_at_unix_ns" }

    /// What the inspector shows for a job killed before its spec.json was written.
    public var provisionalSpec: JobSpec {
        JobSpec(jobID: jobID, mode: .run, argv: argv, constraints: WireConstraints(), cgroup: cgroup,
                governance: Governance(level: .none, reason: "the launch was interrupted before the limits were recorded"),
                createdAtUnixNs: createdAtUnixNs)
    }
}

extension JobJournal {
    public func writeLaunchMarker(_ m: LaunchMarker) throws {
        try FileIO.writeAtomically(file(m.jobID, "launching"), try Self.encode(m), sync: false)
    }

    /// nil when the job has none (jobs started before this file existed, attach jobs).
    /// A marker that does not parse is an error (a torn or edited journal), never "no marker".
    public func launchMarker(_ id: JobID) throws -> LaunchMarker? {
        guard let t = FileIO.readIfExists(file(id, "launching"), noFollow: true) else { return nil }
        return try Self.decode(LaunchMarker.self, t, path: file(id, "launching"))
    }
}
