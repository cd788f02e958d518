import Glibc

extension CgroupV1Driver {
    /// v1 reports "unlimited" as a huge page-aligned number; anything above this is treated as no limit.
    static let unlimitedThreshold: UInt64 = 1 << 62

    func applyMemory(_ c: Constraints, _ cg: JobCgroup) throws -> [String] {
        guard let bytes = c.memoryMaxBytes else { return [] }
        guard let dir = cg.dir("memory") else { return ["memory controller not mounted: memory_max_mb not enforced"] }
        try FileIO.writeCgroup(dir + "/memory.limit_in_bytes", String(bytes))
        // memsw bounds RAM plus swap (it must be >= limit_in_bytes, so it is written second).
        // Without it a job under a memory limit swaps on past the limit.
        let swap = c.swapMaxBytes ?? 0
        if FileIO.exists(dir + "/memory.memsw.limit_in_bytes") {
            try FileIO.writeCgroup(dir + "/memory.memsw.limit_in_bytes", String(bytes + swap))
        } else if Swap.totalBytes() > 0 {
            return ["swap not limited: this kernel does not account swap per cgroup (memory.memsw.* is missing; boot with swapaccount=1), " +
                    "so a job may swap past memory_max_mb"]
        }
        return []
    }

    /// 3 = move both anonymous and file pages charged to the process. Linux deprecated the
    /// knob in 6.x and newer kernels refuse it (EINVAL): the adopted memory then stays charged
    /// where it was, which the caller reports as degraded governance.
    public func chargeOnMove(_ cg: JobCgroup) -> String? {
        guard let dir = cg.dir("memory") else { return nil }
        do {
            try FileIO.writeCgroup(dir + "/memory.move_charge_at_immigrate", "3")
            return nil
        } catch let FFRTMPError.cgroupWrite(_, _, err) {
            return "memory not charged: the kernel refused memory.move_charge_at_immigrate (\(String(cString: strerror(err)))), " +
                "so memory the process already used stays charged to its old cgroup and memory_max_mb covers only what it allocates from now on"
        } catch {
            return "memory not charged: \(error)"
        }
    }

    func readMemory(_ cg: JobCgroup, into u: inout CgroupUsage) {
        guard let d = cg.dir("memory") else { return }
        u.memoryCurrentBytes = CgroupFS.readUInt(d + "/memory.usage_in_bytes")
        u.memoryPeakBytes = CgroupFS.readUInt(d + "/memory.max_usage_in_bytes")
        if let l = CgroupFS.readUInt(d + "/memory.limit_in_bytes"), l < Self.unlimitedThreshold { u.memoryLimitBytes = l }
        // oom_kill in memory.oom_control exists since Linux 4.13.
        u.oomKillCount = CgroupFS.readKeyed(d + "/memory.oom_control")["oom_kill"]
        if let both = CgroupFS.readUInt(d + "/memory.memsw.usage_in_bytes"), let ram = u.memoryCurrentBytes {
            u.swapCurrentBytes = both > ram ? both - ram : 0
        }
    }
}
