import Glibc

/// cgroup v1: each controller is its own hierarchy, so a job has one directory per
/// mounted controller and the workload joins each before execve.
public struct CgroupV1Driver: CgroupDriver {
    public let version = CgroupVersion.v1
    public let parent: String
    /// controller -> mount point (only the controllers we use).
    public let mounts: [String: String]

    public init(mounts: [String: String], parent: String) {
        self.mounts = mounts.filter { CgroupLayout.v1Controllers.contains($0.key) }
        self.parent = parent
    }

    public func locate(_ job: JobID) -> JobCgroup { locate(job, parent: parent) }

    public func locate(_ job: JobID, parent: String) -> JobCgroup {
        let path = parent + "/" + job.value
        var dirs: [String: String] = [:]
        for (c, m) in mounts { dirs[c] = m + path }
        return JobCgroup(version: .v1, dirs: dirs, path: path)
    }

    public func create(_ job: JobID, constraints: Constraints) throws -> CgroupCreation {
        let cg = locate(job)
        var created: [String] = []
        do {
            for dir in cg.uniqueDirs {
                let mount = mounts.values.first { dir.hasPrefix($0 + "/") } ?? ""
                try CgroupFS.makeParents(String(dir.dropLast(job.value.count + 1)), under: mount)
                try CgroupFS.makeJobDir(dir)
                created.append(dir)
            }
            return CgroupCreation(cgroup: cg, requested: constraints, cpu: try applyCPU(constraints, cg),
                                  memory: try applyMemory(constraints, cg), io: try applyIO(constraints, cg),
                                  pids: try applyPids(constraints, cg))
        } catch {
            // Never leave a half-configured cgroup behind.
            for dir in created.reversed() { try? CgroupFS.removeDir(dir) }
            throw error
        }
    }

    public func usage(_ cg: JobCgroup) -> CgroupUsage {
        var u = CgroupUsage()
        readCPU(cg, into: &u)
        readMemory(cg, into: &u)
        readPids(cg, into: &u)
        readIO(cg, into: &u)
        return u
    }

    public func liveUsage(_ cg: JobCgroup) -> CgroupUsage { liveUsage(cg, readLimits: true) }

    public func limitFiles(_ cg: JobCgroup) -> [String] {
        [cg.dir("cpu").map { $0 + "/cpu.cfs_quota_us" }, cg.dir("cpu").map { $0 + "/cpu.cfs_period_us" },
         cg.dir("memory").map { $0 + "/memory.limit_in_bytes" }].compactMap { $0 }
    }

    public func liveUsage(_ cg: JobCgroup, readLimits: Bool) -> CgroupUsage {
        var u = CgroupUsage()
        readCPU(cg, into: &u, limits: readLimits)
        if let d = cg.dir("memory") {
            u.memoryCurrentBytes = CgroupFS.readUInt(d + "/memory.usage_in_bytes")
            if readLimits, let l = CgroupFS.readUInt(d + "/memory.limit_in_bytes"), l < Self.unlimitedThreshold { u.memoryLimitBytes = l }
            u.oomKillCount = CgroupFS.readKeyed(d + "/memory.oom_control")["oom_kill"]
            if let both = CgroupFS.readUInt(d + "/memory.memsw.usage_in_bytes"), let ram = u.memoryCurrentBytes {
                u.swapCurrentBytes = both > ram ? both - ram : 0
            }
        }
        return u
    }

    /// Membership is the same in every hierarchy we create; freezer is the one kill relies on.
    var membershipDir: (JobCgroup) -> String? {
        { cg in cg.dir("freezer") ?? cg.dir("pids") ?? cg.uniqueDirs.first }
    }

    public func members(_ cg: JobCgroup) -> [Int32] {
        guard let d = membershipDir(cg) else { return [] }
        return CgroupFS.procs(d)
    }

    public func move(_ pid: Int32, into cg: JobCgroup) throws {
        for dir in cg.uniqueDirs { try CgroupFS.writePID(pid, to: dir) }
    }

    public func moves(hierarchy key: String) -> Bool { key.split(separator: ",").contains { mounts[String($0)] != nil } }

    public func restore(_ pid: Int32, to original: [String: String]) throws {
        for (controllers, path) in original {
            for c in controllers.split(separator: ",").map(String.init) {
                guard let m = mounts[c] else { continue }
                try CgroupFS.writePID(pid, to: m + (path == "/" ? "" : path))
                break
            }
        }
    }

    public func killAll(_ cg: JobCgroup) throws {
        if let fz = cg.dir("freezer"), FileIO.exists(fz) {
            try killFrozen(fz)
        } else if let d = membershipDir(cg) {
            // No freezer: a forking workload can race us, so repeat until the cgroup is empty.
            for _ in 0..<100 {
                let pids = CgroupFS.procs(d)
                if pids.isEmpty { break }
                for p in pids { _ = Glibc.kill(p, SIGKILL) }
                Clock.sleep(seconds: 0.01)
            }
        }
        if let d = membershipDir(cg), !CgroupFS.waitEmpty(d, seconds: 5) {
            throw FFRTMPError.cgroupDirectory(path: d, operation: "empty (processes survive SIGKILL)", errno: EBUSY)
        }
    }

    public func destroy(_ cg: JobCgroup) throws {
        var firstError: Error?
        for dir in cg.uniqueDirs {
            do { try CgroupFS.removeDir(dir) } catch { if firstError == nil { firstError = error } }
        }
        if let e = firstError { throw e }
    }
}
