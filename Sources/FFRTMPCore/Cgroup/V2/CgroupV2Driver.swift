import Glibc

/// cgroup v2: one unified hierarchy; a job is one directory. Controllers must be
/// enabled in `cgroup.subtree_control` of every ancestor before their files appear.
public struct CgroupV2Driver: CgroupDriver {
    public let version = CgroupVersion.v2
    public let parent: String
    /// The cgroup2 mount point (or a fixture tree in tests).
    public let root: String

    public static let wantedControllers = ["cpu", "memory", "io", "pids"]

    public init(root: String, parent: String) {
        self.root = root
        self.parent = parent
    }

    public func locate(_ job: JobID) -> JobCgroup {
        let path = parent + "/" + job.value
        return JobCgroup(version: .v2, dirs: ["unified": root + path], path: path)
    }

    func available(at dir: String) -> Set<String> {
        Set((FileIO.readIfExists(dir + "/cgroup.controllers") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }

    /// Enables every wanted controller that the hierarchy offers, from the root down to the parent.
    func enableControllers() throws -> Set<String> {
        var enabled = available(at: root).intersection(Self.wantedControllers)
        var dir = root
        var chain = [root]
        for part in parent.split(separator: "/") { dir += "/" + part; chain.append(dir) }
        for d in chain {
            let offered = available(at: d)
            enabled.formIntersection(offered)
            let active = Set((FileIO.readIfExists(d + "/cgroup.subtree_control") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            let missing = enabled.subtracting(active).sorted()
            if !missing.isEmpty {
                try FileIO.writeCgroup(d + "/cgroup.subtree_control", missing.map { "+" + $0 }.joined(separator: " "))
            }
        }
        return enabled
    }

    public func create(_ job: JobID, constraints: Constraints) throws -> (JobCgroup, degraded: [String]) {
        let cg = locate(job)
        guard let dir = cg.dir("unified") else { throw FFRTMPError.governanceUnavailable(reason: "no v2 directory") }
        try CgroupFS.makeParents(root + parent, under: root)
        let enabled = try enableControllers()
        try CgroupFS.makeJobDir(dir)
        do {
            var degraded: [String] = []
            degraded += try applyCPU(constraints, dir, enabled)
            degraded += try applyMemory(constraints, dir, enabled)
            degraded += try applyIO(constraints, dir, enabled)
            degraded += try applyPids(constraints, dir, enabled)
            return (cg, degraded)
        } catch {
            try? CgroupFS.removeDir(dir)
            throw error
        }
    }

    public func usage(_ cg: JobCgroup) -> CgroupUsage {
        var u = CgroupUsage()
        guard let d = cg.dir("unified") else { return u }
        readCPU(d, into: &u)
        readMemory(d, into: &u)
        readPids(d, into: &u)
        return u
    }

    public func members(_ cg: JobCgroup) -> [Int32] {
        cg.dir("unified").map(CgroupFS.procs) ?? []
    }

    public func move(_ pid: Int32, into cg: JobCgroup) throws {
        if let d = cg.dir("unified") { try CgroupFS.writePID(pid, to: d) }
    }

    public func restore(_ pid: Int32, to original: [String: String]) throws {
        if let path = original[""] { try CgroupFS.writePID(pid, to: root + (path == "/" ? "" : path)) }
    }

    public func killAll(_ cg: JobCgroup) throws {
        guard let d = cg.dir("unified") else { return }
        if FileIO.exists(d + "/cgroup.kill") {
            // cgroup.kill (Linux 5.14+) kills every member atomically, forks in flight included.
            try FileIO.writeCgroup(d + "/cgroup.kill", "1")
        } else {
            try FileIO.writeCgroup(d + "/cgroup.freeze", "1")
            for pid in CgroupFS.procs(d) { _ = Glibc.kill(pid, SIGKILL) }
            try FileIO.writeCgroup(d + "/cgroup.freeze", "0")
        }
        if !CgroupFS.waitEmpty(d, seconds: 5) {
            throw FFRTMPError.cgroupDirectory(path: d, operation: "empty (processes survive SIGKILL)", errno: EBUSY)
        }
    }

    public func destroy(_ cg: JobCgroup) throws {
        if let d = cg.dir("unified") { try CgroupFS.removeDir(d) }
    }
}
