/// Live usage for `ps` (and later the console): two cgroup reads `interval` apart, so
/// CPU% is the rate over that interval, not an average since the job started.
public struct UsageSampler: Sendable {
    public let inspector: JobInspector

    public init(inspector: JobInspector) {
        self.inspector = inspector
    }

    public struct Usage: Codable, Equatable, Sendable {
        public var cpuPercent: Double?
        public var cpuLimitPercent: Double?
        public var throttledPercent: Double?
        public var memoryCurrentBytes: UInt64?
        public var memoryPeakBytes: UInt64?
        public var memoryLimitBytes: UInt64?
        public var oomKills: UInt64?
        public var tasks: Int?
        public var swapCurrentBytes: UInt64?
        /// The CPU limit the job asked for (its spec), when it differs from `cpuLimitPercent`
        /// (read from the cgroup): someone changed the cgroup under the job.
        public var cpuLimitAskedPercent: Double?
        public var pressure: CgroupPressure?
        public var ioReadBytes: UInt64?
        public var ioWriteBytes: UInt64?

        enum CodingKeys: String, CodingKey {
            case cpuPercent = "cpu_percent", cpuLimitPercent = "cpu_limit_percent", throttledPercent = "throttled_percent"
            case memoryCurrentBytes = "memory_current_bytes", memoryPeakBytes = "memory_peak_bytes"
            case memoryLimitBytes = "memory_limit_bytes", oomKills = "oom_kills", tasks, swapCurrentBytes = "swap_current_bytes"
            case cpuLimitAskedPercent = "cpu_limit_asked_percent", pressure, ioReadBytes = "io_read_bytes", ioWriteBytes = "io_write_bytes"
        }
    }

    public struct Entry: Sendable {
        public var jobID: String
        public var status: JobStatus?
        public var usage: Usage?
        public var error: String?
    }

    /// `problems`: what settling ended jobs could not do (JobSettler), for the caller's stderr.
    public func sample(interval: Double, problems: inout [String]) -> [Entry] {
        let settled = JobSettler(inspector: inspector).settleAll(withUsage: true)
        problems += settled.settled.flatMap(\.problems)
        let first = settled.statuses
        let t0 = Clock.monotonicNanoseconds()
        let anyLive = first.contains { (try? $0.get())?.state.isLive ?? false }
        if anyLive && interval > 0 { Clock.sleep(seconds: interval) }
        let elapsed = Double(Clock.monotonicNanoseconds() - t0)
        return first.map { r -> Entry in
            switch r {
            case .failure(let e):
                return Entry(jobID: Self.jobID(of: e), status: nil, usage: nil, error: "\(e)")
            case .success(let st):
                guard st.state.isLive, let cg = st.spec.cgroup, let before = st.usage else {
                    return Entry(jobID: st.spec.jobID.value, status: st, usage: nil, error: st.journalError)
                }
                let after = inspector.driver.usage(cg)
                return Entry(jobID: st.spec.jobID.value, status: st, usage: Self.rates(before, after, elapsedNs: elapsed, spec: st.spec), error: st.journalError)
            }
        }
    }

    static func jobID(of e: FFRTMPError) -> String {
        if case let .corruptJournal(path, _) = e { return String(path.split(separator: "/").last(where: { !$0.hasSuffix(".json") }) ?? "?") }
        if case let .jobNotFound(id) = e { return id }
        return "?"
    }

    public static func rates(_ a: CgroupUsage, _ b: CgroupUsage, elapsedNs: Double, spec: JobSpec) -> Usage {
        var u = Usage()
        // Below 10 ms the two reads are too close for a rate to mean anything: no CPU% then.
        if elapsedNs >= 10_000_000, let c0 = a.cpuUsageNanoseconds, let c1 = b.cpuUsageNanoseconds, c1 >= c0 {
            u.cpuPercent = Double(c1 - c0) / elapsedNs * 100
        }
        if elapsedNs >= 10_000_000, let p0 = a.cpuPeriods, let p1 = b.cpuPeriods, let t0 = a.cpuThrottledPeriods, let t1 = b.cpuThrottledPeriods, p1 > p0, t1 >= t0 {
            u.throttledPercent = Double(t1 - t0) / Double(p1 - p0) * 100
        }
        // The limit in force is the cgroup's; the spec's is only what was asked for.
        let asked = (spec.constraintsApplied ?? spec.constraints).cpuMax.flatMap { try? ConstraintParser().parseCPUMax($0).percentOfOneCore }
        u.cpuLimitPercent = b.cpuLimitPercent
        if let a = asked, b.cpuLimitPercent.map({ abs($0 - a) > 0.05 }) ?? true { u.cpuLimitAskedPercent = a }
        u.pressure = b.pressure
        u.ioReadBytes = b.ioReadBytes
        u.ioWriteBytes = b.ioWriteBytes
        u.memoryCurrentBytes = b.memoryCurrentBytes
        u.memoryPeakBytes = b.memoryPeakBytes
        u.memoryLimitBytes = b.memoryLimitBytes
        u.oomKills = b.oomKillCount
        u.tasks = b.tasks
        u.swapCurrentBytes = b.swapCurrentBytes
        return u
    }
}
