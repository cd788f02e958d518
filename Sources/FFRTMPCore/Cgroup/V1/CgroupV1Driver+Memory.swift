extension CgroupV1Driver {
    /// v1 reports "unlimited" as a huge page-aligned number; anything above this is treated as no limit.
    static let unlimitedThreshold: UInt64 = 1 << 62

    func applyMemory(_ c: Constraints, _ cg: JobCgroup) throws -> [String] {
        guard let bytes = c.memoryMaxBytes else { return [] }
        guard let dir = cg.dir("memory") else { return ["memory controller not mounted: memory_max_mb not enforced"] }
        try FileIO.writeCgroup(dir + "/memory.limit_in_bytes", String(bytes))
        return []
    }

    func readMemory(_ cg: JobCgroup, into u: inout CgroupUsage) {
        guard let d = cg.dir("memory") else { return }
        u.memoryCurrentBytes = CgroupFS.readUInt(d + "/memory.usage_in_bytes")
        u.memoryPeakBytes = CgroupFS.readUInt(d + "/memory.max_usage_in_bytes")
        if let l = CgroupFS.readUInt(d + "/memory.limit_in_bytes"), l < Self.unlimitedThreshold { u.memoryLimitBytes = l }
        // oom_kill in memory.oom_control exists since Linux 4.13.
        u.oomKillCount = CgroupFS.readKeyed(d + "/memory.oom_control")["oom_kill"]
    }
}
