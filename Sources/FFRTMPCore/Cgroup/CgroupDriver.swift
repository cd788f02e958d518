import CFFRTMPSys
import Glibc

public enum CgroupVersion: String, Codable, Sendable { case v1, v2, unavailable }

/// The cgroup(s) of one job: one directory per v1 hierarchy, or one v2 directory.
public struct JobCgroup: Codable, Equatable, Sendable {
    public var version: CgroupVersion
    /// controller (v1) or "unified" (v2) -> absolute directory.
    public var dirs: [String: String]
    /// The path inside each hierarchy, e.g. "/ffrtmp/job-1", as /proc/PID/cgroup shows it.
    public var path: String

    public init(version: CgroupVersion, dirs: [String: String], path: String) {
        self.version = version
        self.dirs = dirs
        self.path = path
    }

    /// Distinct directories, in a stable order: the workload joins each one before execve.
    public var uniqueDirs: [String] { Array(Set(dirs.values)).sorted() }

    public func dir(_ controller: String) -> String? { dirs[controller] }
}

/// Usage read from cgroupfs. Every field is optional: a missing controller gives nil, never 0.
public struct CgroupUsage: Codable, Equatable, Sendable {
    public var cpuUsageNanoseconds: UInt64?
    public var cpuPeriods: UInt64?
    public var cpuThrottledPeriods: UInt64?
    public var cpuThrottledNanoseconds: UInt64?
    public var memoryCurrentBytes: UInt64?
    public var memoryPeakBytes: UInt64?
    public var memoryLimitBytes: UInt64?
    public var oomKillCount: UInt64?
    public var tasks: Int?
    /// Swap in use (v2 memory.swap.current; v1 memsw.usage minus usage). nil: not accounted.
    public var swapCurrentBytes: UInt64?
    /// The CPU quota the cgroup enforces now, in percent of one core (v2 cpu.max, v1
    /// cpu.cfs_quota_us over cpu.cfs_period_us); nil: no quota. Read from the cgroup, not the
    /// spec: the cgroup is the truth, the spec only what was asked for.
    public var cpuLimitPercent: Double?
    /// Pressure stall information of the job's own cgroup (v2 only; nil on v1 or without PSI).
    public var pressure: CgroupPressure?
    /// Bytes read and written by the job's processes to block devices (v2 io.stat; v1
    /// blkio.throttle.io_service_bytes), summed over devices. Full `usage` only.
    public var ioReadBytes: UInt64?
    public var ioWriteBytes: UInt64?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case cpuUsageNanoseconds = "cpu_usage_ns", cpuPeriods = "cpu_periods", cpuThrottledPeriods = "cpu_throttled_periods"
        case cpuThrottledNanoseconds = "cpu_throttled_ns", memoryCurrentBytes = "memory_current_bytes"
        case memoryPeakBytes = "memory_peak_bytes", memoryLimitBytes = "memory_limit_bytes", oomKillCount = "oom_kill_count", tasks
        case swapCurrentBytes = "swap_current_bytes", cpuLimitPercent = "cpu_limit_percent", pressure
        case ioReadBytes = "io_read_bytes", ioWriteBytes = "io_write_bytes"
    }
}

/// A cgroup's `cpu.pressure`, `memory.pressure` and `io.pressure` "some avg10": the share of
/// the last 10 s in which at least one of its tasks stalled waiting for that resource, in
/// percent. Per job, which no host-wide meter (htop's) shows.
public struct CgroupPressure: Codable, Equatable, Sendable {
    public var cpuSomeAvg10: Double?
    public var memorySomeAvg10: Double?
    public var ioSomeAvg10: Double?

    public init(cpuSomeAvg10: Double? = nil, memorySomeAvg10: Double? = nil, ioSomeAvg10: Double? = nil) {
        self.cpuSomeAvg10 = cpuSomeAvg10
        self.memorySomeAvg10 = memorySomeAvg10
        self.ioSomeAvg10 = ioSomeAvg10
    }

    enum CodingKeys: String, CodingKey {
        case cpuSomeAvg10 = "cpu_some_avg10", memorySomeAvg10 = "memory_some_avg10", ioSomeAvg10 = "io_some_avg10"
    }

    /// The largest of the three: the column the console sorts by.
    public var worst: Double? { [cpuSomeAvg10, memorySomeAvg10, ioSomeAvg10].compactMap { $0 }.max() }

    /// "some avg10=1.23 avg60=... total=..." -> 1.23 (the "some" line of a PSI file).
    public static func someAvg10(_ text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix("some ") {
            for field in line.split(separator: " ") where field.hasPrefix("avg10=") {
                return Double(field.dropFirst(6)).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
            }
        }
        return nil
    }

    /// The three files of a v2 cgroup dir (or the host's /proc/pressure); nil when none is readable.
    public static func read(dir: String) -> CgroupPressure? {
        read(cpu: dir + "/cpu.pressure", memory: dir + "/memory.pressure", io: dir + "/io.pressure")
    }

    /// The three PSI files at these paths (the host's are /proc/pressure/{cpu,memory,io}).
    public static func read(cpu: String, memory: String, io: String) -> CgroupPressure? {
        let p = CgroupPressure(cpuSomeAvg10: FileIO.readIfExists(cpu).flatMap(someAvg10),
                               memorySomeAvg10: FileIO.readIfExists(memory).flatMap(someAvg10),
                               ioSomeAvg10: FileIO.readIfExists(io).flatMap(someAvg10))
        return p.cpuSomeAvg10 == nil && p.memorySomeAvg10 == nil && p.ioSomeAvg10 == nil ? nil : p
    }
}

/// What `create` did: the cgroup, the limits actually written, and why any were not.
public struct CgroupCreation: Sendable {
    public var cgroup: JobCgroup
    public var applied: Constraints
    public var degraded: [String]

    /// Drops from `requested` each limit whose controller reported a reason.
    init(cgroup: JobCgroup, requested: Constraints, cpu: [String], memory: [String], io: [String], pids: [String]) {
        self.cgroup = cgroup
        var a = requested
        if !cpu.isEmpty { a.cpuMax = nil; a.cpuWeight = nil }
        // A swap reason alone leaves the RAM limit in force; any other memory reason means none.
        if memory.contains(where: { !$0.hasPrefix("swap not limited") }) { a.memoryMaxMB = nil; a.memorySwapMaxMB = nil }
        if !io.isEmpty { a.ioMax = [] }
        if !pids.isEmpty { a.pidsMax = nil }
        // Not a cgroup limit: only the shim enforces it (JobLauncher adds it back for its jobs),
        // so an adopted process never shows it as applied.
        a.maxOutputMB = nil
        applied = a
        degraded = cpu + memory + io + pids
    }
}

/// One interface over cgroup v1, v2 and "unavailable". Only `CgroupDriverFactory` picks one.
public protocol CgroupDriver: Sendable {
    var version: CgroupVersion { get }
    /// The parent path inside each hierarchy, e.g. "/ffrtmp".
    var parent: String { get }

    /// Where a job's cgroup lives (whether or not it exists).
    func locate(_ job: JobID) -> JobCgroup
    /// Where it would live under another parent (one it was created under before a change of
    /// FFRTMP_CGROUP_PARENT).
    func locate(_ job: JobID, parent: String) -> JobCgroup
    /// Creates the job cgroup and writes every limit. Says which limits are really enforced
    /// and why the others are not (a missing controller: governance degraded).
    /// On error nothing is left behind.
    func create(_ job: JobID, constraints: Constraints) throws -> CgroupCreation
    /// Live usage. v1: cpuacct.usage, cpu.stat, memory.*; v2: cpu.stat, memory.current/peak/events.
    func usage(_ cg: JobCgroup) -> CgroupUsage
    /// What changes from second to second (CPU time, throttling, memory in use, OOM kills):
    /// fewer files than `usage`, for callers that poll every job every second (the console).
    /// The limits are read too (they can be changed under a running job); peak memory, task
    /// counts and IO bytes are left nil.
    func liveUsage(_ cg: JobCgroup) -> CgroupUsage
    /// `liveUsage` without the limit files when `readLimits` is false: for a caller that
    /// learns of limit changes from `limitFiles` (inotify) and keeps the last values.
    func liveUsage(_ cg: JobCgroup, readLimits: Bool) -> CgroupUsage
    /// The files a limit of `cg` is changed through (a write to one is the only way to change
    /// it); empty when the driver cannot say, and the caller then reads limits every time.
    func limitFiles(_ cg: JobCgroup) -> [String]
    /// Pids in the job cgroup (any hierarchy: membership is the same in each).
    func members(_ cg: JobCgroup) -> [Int32]
    /// Moves a whole process (all threads) into the job cgroup in every hierarchy.
    func move(_ pid: Int32, into cg: JobCgroup) throws
    /// Called before processes that already run are moved into `cg` (attach): arranges for the
    /// memory they already use to be charged to the job where the kernel can do that (v1
    /// `memory.move_charge_at_immigrate`). Returns why it cannot (nil: charged), for the
    /// governance reason of a job with a memory limit.
    func chargeOnMove(_ cg: JobCgroup) -> String?
    /// Moves a process back to where it was, from its saved /proc/PID/cgroup lines.
    func restore(_ pid: Int32, to original: [String: String]) throws
    /// SIGKILLs every member, including ones that escaped the process group.
    /// v2: cgroup.kill. v1: freeze, SIGKILL each member, thaw (the order ENVIRONMENT.md verified).
    func killAll(_ cg: JobCgroup) throws
    /// True when `cg` is exactly where this driver puts job `job`: paths read back from
    /// the journal are checked before anything is frozen, killed or removed there.
    func owns(_ cg: JobCgroup, job: JobID) -> Bool
    /// Removes the job cgroup in every hierarchy; missing directories are fine.
    func destroy(_ cg: JobCgroup) throws
    /// True when /proc/PID/cgroup lines place the process under our parent.
    func isGoverned(_ procCgroups: [String: String]) -> Bool
    /// Whether moving a process into a job cgroup changes its cgroup in this hierarchy (a
    /// /proc/PID/cgroup key: "" for the unified one, "cpu,cpuacct", "name=systemd"...).
    func moves(hierarchy key: String) -> Bool
}

extension CgroupDriver {
    public func liveUsage(_ cg: JobCgroup) -> CgroupUsage { usage(cg) }
    public func liveUsage(_ cg: JobCgroup, readLimits: Bool) -> CgroupUsage { liveUsage(cg) }
    public func limitFiles(_ cg: JobCgroup) -> [String] { [] }

    public func chargeOnMove(_ cg: JobCgroup) -> String? { nil }

    /// A job keeps the parent it was created under: the cgroup the journal names is accepted
    /// under the current parent, or under the parent recorded in its own path, once that
    /// checks out: a safe parent path (not the root), the job's id as the last component, and
    /// exactly the directories this driver would make there, in our own mounts.
    public func owns(_ cg: JobCgroup, job: JobID) -> Bool {
        func matches(_ expected: JobCgroup) -> Bool {
            cg.version == expected.version && !cg.dirs.isEmpty && cg.path == expected.path
                && cg.dirs.allSatisfy { expected.dirs[$0.key] == $0.value }
        }
        if matches(locate(job)) { return true }
        let suffix = "/" + job.value
        guard cg.path.hasSuffix(suffix) else { return false }
        let recorded = String(cg.path.dropLast(suffix.count))
        guard let p = try? CgroupDriverFactory.normalizeParent(recorded), p == recorded else { return false }
        return matches(locate(job, parent: p))
    }

    public func isGoverned(_ procCgroups: [String: String]) -> Bool {
        procCgroups.values.contains { $0.hasPrefix(parent + "/") }
    }

    public func moves(hierarchy key: String) -> Bool { version == .v2 && key.isEmpty }

    /// Sends `sig` to every member (used for the graceful phase of a cgroup-wide kill).
    public func signalAll(_ cg: JobCgroup, _ sig: Int32) {
        for pid in members(cg) { _ = Glibc.kill(pid, sig) }
    }
}

/// The host's swap, from /proc/meminfo: a missing swap limit matters only where there is swap.
enum Swap {
    static func totalBytes(meminfo: String = FileIO.readIfExists("/proc/meminfo") ?? "") -> UInt64 {
        for line in meminfo.split(separator: "\n") where line.hasPrefix("SwapTotal:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0
            return kb * 1024
        }
        return 0
    }
}

/// Shared helpers for the concrete drivers.
public enum CgroupFS {
    /// Set once at start by a process that polls usage every second (the console), before any
    /// other thread reads cgroup files; nil everywhere else.
    public nonisolated(unsafe) static var openAttributes: OpenAttributes?

    static func attribute(_ path: String) -> String? {
        if let cache = openAttributes {
            // A file too long for one read falls back to reading by path.
            return cache.read(path) ?? FileIO.readAttribute(path)
        }
        return FileIO.readAttribute(path)
    }

    static func procs(_ dir: String) -> [Int32] {
        guard let text = FileIO.readIfExists(dir + "/cgroup.procs") else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    static func readUInt(_ path: String) -> UInt64? {
        guard let t = attribute(path) else { return nil }
        return UInt64(t.trimmingCharacters(in: "\n").trimmingCharacters(in: " "))
    }

    /// "key value" files (cpu.stat, memory.events, memory.oom_control).
    static func readKeyed(_ path: String) -> [String: UInt64] {
        guard let t = attribute(path) else { return [:] }
        var out: [String: UInt64] = [:]
        for line in t.split(separator: "\n") {
            let kv = line.split(separator: " ")
            if kv.count == 2, let v = UInt64(kv[1]) { out[String(kv[0])] = v }
        }
        return out
    }

    /// mkdir; EEXIST is an error for a job cgroup (a leftover from another job must not be reused).
    static func makeJobDir(_ dir: String) throws {
        if mkdir(dir, 0o755) != 0 {
            throw FFRTMPError.cgroupDirectory(path: dir, operation: "create", errno: errno)
        }
    }

    static func makeParents(_ dir: String, under root: String) throws {
        var cur = root
        for part in dir.dropFirst(root.count).split(separator: "/") {
            cur += "/" + part
            if mkdir(cur, 0o755) != 0 && errno != EEXIST {
                throw FFRTMPError.cgroupDirectory(path: cur, operation: "create", errno: errno)
            }
        }
    }

    /// rmdir with a short retry: right after the last task is reaped a v1 cgroup can
    /// still report EBUSY for a moment (css offlining is asynchronous).
    static func removeDir(_ dir: String) throws {
        let tries = Int(FFRTMP_RMDIR_EBUSY_RETRIES)  // shared with the shim: ffrtmp_cgroup_limits.h
        for attempt in 0..<tries {
            if rmdir(dir) == 0 || errno == ENOENT { return }
            let err = errno
            if err != EBUSY || attempt == tries - 1 {
                throw FFRTMPError.cgroupDirectory(path: dir, operation: "remove", errno: err)
            }
            Clock.sleep(seconds: Double(FFRTMP_RMDIR_EBUSY_PAUSE_MS) / 1000)
        }
    }

    static func writePID(_ pid: Int32, to dir: String) throws {
        try FileIO.writeCgroup(dir + "/cgroup.procs", String(pid))
    }

    /// Waits until no process is left in `dir`, up to `seconds`.
    static func waitEmpty(_ dir: String, seconds: Double) -> Bool {
        let deadline = Clock.monotonicNanoseconds() + Int64(seconds * 1e9)
        // Dying processes leave within a millisecond or two: look again soon, then less often.
        var pause = 0.0005
        while Clock.monotonicNanoseconds() < deadline {
            if procs(dir).isEmpty { return true }
            Clock.sleep(seconds: pause)
            pause = min(pause * 2, 0.005)
        }
        return procs(dir).isEmpty
    }
}
