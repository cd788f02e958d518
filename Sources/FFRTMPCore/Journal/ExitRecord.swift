/// jobs/<id>/exit.json: how the workload ended. Written last and atomically by
/// ffrtmp-shim (run), or by the attach watcher (attach). Its absence after the
/// supervisor is gone means the outcome was lost.
public struct ExitRecord: Codable, Equatable, Sendable {
    public struct SpawnError: Codable, Equatable, Sendable {
        public var stage: String
        public var errno: Int32
        public var message: String
    }

    public var version: Int
    public var pid: Int32
    public var pidStartTime: UInt64
    public var pgid: Int32
    public var exitCode: Int32?
    public var signal: Int32?
    public var coreDumped: Bool
    public var oomKilled: Bool
    public var oomKillCount: UInt64
    public var timedOut: Bool
    /// Processes still in the job's cgroup when its leader ended, which the shim then killed.
    public var stragglersKilled: Int?
    public var forwardedSignal: Int32?
    public var killedBy: String?
    public var startedAtUnixNs: Int64
    public var endedAtUnixNs: Int64
    public var durationNs: Int64
    public var cpuUsageNs: UInt64
    public var peakMemoryBytes: UInt64
    /// The most swap the job used, where the kernel keeps that peak (v2 memory.swap.peak,
    /// Linux 6.5+); nil elsewhere, and in records older than this field.
    public var swapPeakBytes: UInt64?
    public var usageSource: String
    public var spawnError: SpawnError?
    /// attach only: the watcher detached and handed the processes back; they still run.
    public var detached: Bool?
    /// Why exit_code is null although the process ended (an adopted non-child).
    public var exitUnknownReason: String?
    /// Problems met while finishing the job (e.g. a process that could not be moved back on detach).
    public var notes: [String]?
    /// The job's supervisor died while the workload ran on, and the workload was adopted by
    /// another job: the outcome of this one is lost, and that is a platform fault.
    public var supervisorLost: Bool?
    /// The shim ended the job because it reached its max_output_mb (older records: nil).
    public var outputLimitExceeded: Bool?

    public init(version: Int = 1, pid: Int32, pidStartTime: UInt64, pgid: Int32, exitCode: Int32?, signal: Int32?,
                coreDumped: Bool = false, oomKilled: Bool, oomKillCount: UInt64, timedOut: Bool = false,
                forwardedSignal: Int32? = nil, killedBy: String?, startedAtUnixNs: Int64, endedAtUnixNs: Int64,
                durationNs: Int64, cpuUsageNs: UInt64, peakMemoryBytes: UInt64, usageSource: String,
                spawnError: SpawnError? = nil, detached: Bool? = nil, exitUnknownReason: String? = nil) {
        self.version = version
        self.pid = pid
        self.pidStartTime = pidStartTime
        self.pgid = pgid
        self.exitCode = exitCode
        self.signal = signal
        self.coreDumped = coreDumped
        self.oomKilled = oomKilled
        self.oomKillCount = oomKillCount
        self.timedOut = timedOut
        self.forwardedSignal = forwardedSignal
        self.killedBy = killedBy
        self.startedAtUnixNs = startedAtUnixNs
        self.endedAtUnixNs = endedAtUnixNs
        self.durationNs = durationNs
        self.cpuUsageNs = cpuUsageNs
        self.peakMemoryBytes = peakMemoryBytes
        self.usageSource = usageSource
        self.spawnError = spawnError
        self.detached = detached
        self.exitUnknownReason = exitUnknownReason
    }

    /// Every key a reader knows. The shim writes the ones `shimKeys` lists, always all of them.
    enum CodingKeys: String, CodingKey, CaseIterable {
        case version, pid, pidStartTime = "pid_start_time", pgid, exitCode = "exit_code", signal
        case coreDumped = "core_dumped", oomKilled = "oom_killed", oomKillCount = "oom_kill_count", timedOut = "timed_out"
        case stragglersKilled = "stragglers_killed", notes
        case forwardedSignal = "forwarded_signal", killedBy = "killed_by", startedAtUnixNs = "started_at_unix_ns"
        case endedAtUnixNs = "ended_at_unix_ns", durationNs = "duration_ns", cpuUsageNs = "cpu_usage_ns"
        case peakMemoryBytes = "peak_memory_bytes", swapPeakBytes = "swap_peak_bytes", usageSource = "usage_source", spawnError = "spawn_error"
        case detached, exitUnknownReason = "exit_unknown_reason", supervisorLost = "supervisor_lost"
        case outputLimitExceeded = "output_limit_exceeded"
    }

    /// The version this build writes and the highest it reads (ffrtmp_cgroup_limits.h).
    public static let currentVersion = 1

    /// The keys only Swift writers add (attach, kill of an orphan, retirement); the shim writes
    /// every other key of `CodingKeys`, in every record.
    public static let swiftOnlyKeys: Set<String> = ["detached", "exit_unknown_reason", "notes", "supervisor_lost"]
    public static var allKeys: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    /// A record written for processes that are not our children (adopted ones, or a job whose
    /// supervisor is gone): the end time and cgroup usage are known, the exit status is not.
    public static func statusUnknown(pid: Int32, pidStartTime: UInt64, pgid: Int32, startedAtUnixNs: Int64, usage: CgroupUsage?,
                                     killedBy: String?, reason: String?, detached: Bool = false) -> ExitRecord {
        let now = Clock.realtimeNanoseconds()
        return ExitRecord(pid: pid, pidStartTime: pidStartTime, pgid: pgid, exitCode: nil, signal: nil,
                          oomKilled: (usage?.oomKillCount ?? 0) > 0, oomKillCount: usage?.oomKillCount ?? 0, killedBy: killedBy,
                          startedAtUnixNs: startedAtUnixNs, endedAtUnixNs: now, durationNs: now - startedAtUnixNs,
                          cpuUsageNs: usage?.cpuUsageNanoseconds ?? 0, peakMemoryBytes: usage?.memoryPeakBytes ?? 0,
                          usageSource: "cgroup", detached: detached ? true : nil, exitUnknownReason: reason)
    }

    /// The status a shell would report: the exit code, or 128+N for death by signal N.
    public var shellStatus: Int32? {
        if let c = exitCode { return c }
        if let s = signal { return 128 + s }
        return nil
    }
}
