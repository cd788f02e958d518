extension CgroupV1Driver {
    /// cpu_weight -> cpu.shares uses systemd's mapping: shares = weight * 1024 / 100,
    /// so the default weight 100 is the v1 default 1024 shares; clamped to the kernel's minimum of 2.
    public static func shares(forWeight w: Int) -> Int { max(2, w * 1024 / 100) }

    func applyCPU(_ c: Constraints, _ cg: JobCgroup) throws -> [String] {
        guard c.cpuMax != nil || c.cpuWeight != nil else { return [] }
        guard let dir = cg.dir("cpu") else { return ["cpu controller not mounted: cpu_max/cpu_weight not enforced"] }
        if let m = c.cpuMax {
            // Period first: a quota is validated against the current period.
            try FileIO.writeCgroup(dir + "/cpu.cfs_period_us", String(m.periodMicros))
            try FileIO.writeCgroup(dir + "/cpu.cfs_quota_us", m.quotaMicros.map(String.init) ?? "-1")
        }
        if let w = c.cpuWeight {
            try FileIO.writeCgroup(dir + "/cpu.shares", String(Self.shares(forWeight: w)))
        }
        return []
    }

    func readCPU(_ cg: JobCgroup, into u: inout CgroupUsage, limits: Bool = true) {
        if let d = cg.dir("cpuacct") { u.cpuUsageNanoseconds = CgroupFS.readUInt(d + "/cpuacct.usage") }
        if let d = cg.dir("cpu") {
            let st = CgroupFS.readKeyed(d + "/cpu.stat")
            u.cpuPeriods = st["nr_periods"]
            u.cpuThrottledPeriods = st["nr_throttled"]
            u.cpuThrottledNanoseconds = st["throttled_time"]
            // cfs_quota_us is -1 without a quota (readUInt does not parse it: nil).
            if limits, let q = CgroupFS.readUInt(d + "/cpu.cfs_quota_us"), let p = CgroupFS.readUInt(d + "/cpu.cfs_period_us"), p > 0 {
                u.cpuLimitPercent = Double(q) * 100 / Double(p)
            }
        }
    }

    /// blkio.throttle.io_service_bytes: "MAJ:MIN Read N" / "MAJ:MIN Write N" per device.
    func readIO(_ cg: JobCgroup, into u: inout CgroupUsage) {
        guard let d = cg.dir("blkio"), let text = FileIO.readIfExists(d + "/blkio.throttle.io_service_bytes") else { return }
        var r: UInt64 = 0, w: UInt64 = 0
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 3, let v = UInt64(f[2]) else { continue }
            if f[1] == "Read" { r &+= v } else if f[1] == "Write" { w &+= v }
        }
        u.ioReadBytes = r
        u.ioWriteBytes = w
    }
}
