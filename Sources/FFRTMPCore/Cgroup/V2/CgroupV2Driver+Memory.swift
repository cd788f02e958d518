extension CgroupV2Driver {
    func applyMemory(_ c: Constraints, _ dir: String, _ enabled: Set<String>) throws -> [String] {
        guard let bytes = c.memoryMaxBytes else { return [] }
        guard enabled.contains("memory") else { return ["memory controller not available in \(root): memory_max_mb not enforced"] }
        try write(dir + "/memory.max", String(bytes))
        // memory.max bounds RAM only: without memory.swap.max a job swaps on past its limit.
        let swap = c.swapMaxBytes ?? 0
        if fixture || FileIO.exists(dir + "/memory.swap.max") {
            try write(dir + "/memory.swap.max", String(swap))
        } else if Swap.totalBytes() > 0 {
            return ["swap not limited: this kernel does not account swap per cgroup (memory.swap.max is missing), so a job may swap past memory_max_mb"]
        }
        return []
    }

    /// cgroup v2 never moves a charge: pages stay charged to the cgroup that first touched them.
    public func chargeOnMove(_ cg: JobCgroup) -> String? {
        "memory not charged: cgroup v2 never moves memory already in use, so it stays charged to the process's old cgroup and " +
            "memory_max_mb covers only what it allocates from now on"
    }

    func readMemory(_ dir: String, into u: inout CgroupUsage) {
        u.memoryCurrentBytes = CgroupFS.readUInt(dir + "/memory.current")
        // memory.peak exists only since Linux 5.19; older kernels leave it nil.
        u.memoryPeakBytes = CgroupFS.readUInt(dir + "/memory.peak")
        u.memoryLimitBytes = CgroupFS.readUInt(dir + "/memory.max")  // "max" does not parse: nil = unlimited
        u.oomKillCount = CgroupFS.readKeyed(dir + "/memory.events")["oom_kill"]
        u.swapCurrentBytes = CgroupFS.readUInt(dir + "/memory.swap.current")
    }
}
