extension CgroupV2Driver {
    func applyCPU(_ c: Constraints, _ dir: String, _ enabled: Set<String>) throws -> [String] {
        guard c.cpuMax != nil || c.cpuWeight != nil else { return [] }
        guard enabled.contains("cpu") else { return ["cpu controller not available in \(root): cpu_max/cpu_weight not enforced"] }
        if let m = c.cpuMax { try write(dir + "/cpu.max", m.wireValue) }
        if let w = c.cpuWeight { try write(dir + "/cpu.weight", String(w)) }
        return []
    }

    func readCPU(_ dir: String, into u: inout CgroupUsage) {
        // cpu.stat's usage_usec exists without the cpu controller (it is core accounting).
        let st = CgroupFS.readKeyed(dir + "/cpu.stat")
        u.cpuUsageNanoseconds = st["usage_usec"].map { $0 * 1000 }
        u.cpuPeriods = st["nr_periods"]
        u.cpuThrottledPeriods = st["nr_throttled"]
        u.cpuThrottledNanoseconds = st["throttled_usec"].map { $0 * 1000 }
    }
}
