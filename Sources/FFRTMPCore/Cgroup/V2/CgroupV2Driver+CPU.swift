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
        // "max 100000" (no quota) does not parse: nil.
        if let f = FileIO.readIfExists(dir + "/cpu.max")?.split(whereSeparator: { $0 == " " || $0 == "\n" }), f.count == 2,
           let q = UInt64(f[0]), let p = UInt64(f[1]), p > 0 {
            u.cpuLimitPercent = Double(q) * 100 / Double(p)
        }
    }

    /// io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device.
    func readIO(_ dir: String, into u: inout CgroupUsage) {
        guard let text = FileIO.readIfExists(dir + "/io.stat") else { return }
        var r: UInt64 = 0, w: UInt64 = 0
        for line in text.split(separator: "\n") {
            for f in line.split(separator: " ") {
                if f.hasPrefix("rbytes="), let v = UInt64(f.dropFirst(7)) { r &+= v }
                if f.hasPrefix("wbytes="), let v = UInt64(f.dropFirst(7)) { w &+= v }
            }
        }
        u.ioReadBytes = r
        u.ioWriteBytes = w
    }
}
