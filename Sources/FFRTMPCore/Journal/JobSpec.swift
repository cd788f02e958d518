public enum JobMode: String, Codable, Sendable { case run, attach, legacy }

public enum GovernanceLevel: String, Codable, Sendable { case full, degraded, none }

/// What the platform promised for a job: every limit enforced (full), some or none
/// (degraded, with the reason), or not asked for (none: the legacy path).
public struct Governance: Codable, Equatable, Sendable {
    public var level: GovernanceLevel
    public var reason: String?
    public init(level: GovernanceLevel, reason: String? = nil) {
        self.level = level
        self.reason = reason
    }
}

/// jobs/<id>/spec.json: written once, before the workload starts.
public struct JobSpec: Codable, Equatable, Sendable {
    public var jobID: JobID
    public var mode: JobMode
    public var argv: [String]
    public var constraints: WireConstraints
    /// The limits really enforced (nil in specs written before this field existed: same as asked).
    public var constraintsApplied: WireConstraints?
    public var timeoutSeconds: Double?
    public var cgroup: JobCgroup?
    public var governance: Governance
    public var createdAtUnixNs: Int64
    /// attach: the processes adopted and the cgroups they came from (restored on detach).
    public var adopted: [AdoptedProcess]?
    /// Who the workload runs as (nil: the caller's own identity, as with `ffrtmp run`).
    public var runAs: JobUser?
    /// attach --pgid: the process group adopted whole. Only then may a kill signal the group;
    /// a job adopted by --pid owns its cgroup's members and nothing else in the leader's group.
    public var adoptedPGID: Int32?
    /// attach: why the memory the adopted processes already used stays charged to their old
    /// cgroup (nil: it moved with them). The job's memory figures then count only what they
    /// allocated since: screens say "not charged" instead of showing a number that is too low.
    public var memoryNotCharged: String?

    public init(jobID: JobID, mode: JobMode, argv: [String], constraints: WireConstraints, constraintsApplied: WireConstraints? = nil,
                timeoutSeconds: Double? = nil,
                cgroup: JobCgroup?, governance: Governance, createdAtUnixNs: Int64, adopted: [AdoptedProcess]? = nil, runAs: JobUser? = nil) {
        self.jobID = jobID
        self.mode = mode
        self.argv = argv
        self.constraints = constraints
        self.constraintsApplied = constraintsApplied
        self.timeoutSeconds = timeoutSeconds
        self.cgroup = cgroup
        self.governance = governance
        self.createdAtUnixNs = createdAtUnixNs
        self.adopted = adopted
        self.runAs = runAs
    }

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", mode, argv, constraints, constraintsApplied = "constraints_applied", timeoutSeconds = "timeout_seconds", cgroup, governance
        case createdAtUnixNs = "created_at_unix_ns", adopted, runAs = "run_as", adoptedPGID = "adopted_pgid"
        case memoryNotCharged = "memory_not_charged"
    }

    /// Whether a kill may signal the workload's process group: a job we started owns its group
    /// (the shim made it with setsid); an adopted one only when it was adopted as a whole group.
    public func ownsProcessGroup(_ pgid: Int32) -> Bool {
        mode != .attach || adoptedPGID == pgid
    }
}

public struct AdoptedProcess: Codable, Equatable, Sendable {
    public var identity: ProcessIdentity
    public var originalCgroups: [String: String]
    enum CodingKeys: String, CodingKey { case identity, originalCgroups = "original_cgroups" }
}

/// jobs/<id>/workload.pid: "PID STARTTIME PGID".
public struct WorkloadPID: Equatable, Sendable {
    public var identity: ProcessIdentity
    public var pgid: Int32

    public init(identity: ProcessIdentity, pgid: Int32) {
        self.identity = identity
        self.pgid = pgid
    }

    public static func parse(_ text: String) -> WorkloadPID? {
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard f.count >= 2, let pid = Int32(f[0]), let st = UInt64(f[1]) else { return nil }
        let pgid = f.count >= 3 ? Int32(f[2]) ?? pid : pid
        return WorkloadPID(identity: ProcessIdentity(pid: pid, startTime: st), pgid: pgid)
    }
}
