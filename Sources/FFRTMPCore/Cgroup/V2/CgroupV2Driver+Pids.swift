extension CgroupV2Driver {
    func applyPids(_ c: Constraints, _ dir: String, _ enabled: Set<String>) throws -> [String] {
        guard let n = c.pidsMax else { return [] }
        guard enabled.contains("pids") else { return ["pids controller not available in \(root): pids_max not enforced"] }
        try write(dir + "/pids.max", String(n))
        return []
    }

    func readPids(_ dir: String, into u: inout CgroupUsage) {
        u.tasks = CgroupFS.readUInt(dir + "/pids.current").map(Int.init) ?? CgroupFS.procs(dir).count
    }
}
