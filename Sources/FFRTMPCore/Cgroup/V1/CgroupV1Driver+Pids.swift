extension CgroupV1Driver {
    func applyPids(_ c: Constraints, _ cg: JobCgroup) throws -> [String] {
        guard let n = c.pidsMax else { return [] }
        guard let dir = cg.dir("pids") else { return ["pids controller not mounted: pids_max not enforced"] }
        try FileIO.writeCgroup(dir + "/pids.max", String(n))
        return []
    }

    func readPids(_ cg: JobCgroup, into u: inout CgroupUsage) {
        if let d = cg.dir("pids"), let n = CgroupFS.readUInt(d + "/pids.current") {
            u.tasks = Int(n)
        } else if let d = membershipDir(cg) {
            u.tasks = CgroupFS.procs(d).count
        }
    }
}
