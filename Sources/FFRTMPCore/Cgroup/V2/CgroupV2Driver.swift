import Glibc

/// cgroup v2: one unified hierarchy; a job is one directory. Controllers must be
/// enabled in `cgroup.subtree_control` of every ancestor before their files appear.
public struct CgroupV2Driver: CgroupDriver {
    public let version = CgroupVersion.v2
    public let parent: String
    /// The cgroup2 mount point (or a fixture tree in tests).
    public let root: String

    public static let wantedControllers = ["cpu", "memory", "io", "pids"]
    /// A fixture tree in a temp dir (tests): files are created on write, and a new
    /// directory gets the `cgroup.controllers` the kernel would give it (its parent's
    /// subtree_control). Never set for real cgroupfs.
    public let fixture: Bool
    /// The delegated cgroup the parent lies in (CgroupDelegation), if any: controllers are
    /// enabled from there down, never above it (that part of the tree is systemd's).
    public let delegated: String?

    public init(root: String, parent: String, fixture: Bool = false, delegated: String? = nil) {
        self.root = root
        self.parent = parent
        self.fixture = fixture
        self.delegated = delegated
    }

    func write(_ path: String, _ value: String) throws {
        try FileIO.writeCgroup(path, value, createForFixture: fixture)
    }

    func seedFixtureDir(_ dir: String) throws {
        guard fixture else { return }
        if !FileIO.exists(dir + "/cgroup.subtree_control") { try write(dir + "/cgroup.subtree_control", "") }
        if !FileIO.exists(dir + "/cgroup.procs") { try write(dir + "/cgroup.procs", "") }
    }

    public func locate(_ job: JobID) -> JobCgroup { locate(job, parent: parent) }

    public func locate(_ job: JobID, parent: String) -> JobCgroup {
        let path = parent + "/" + job.value
        return JobCgroup(version: .v2, dirs: ["unified": root + path], path: path)
    }

    func available(at dir: String) -> Set<String> {
        // The kernel derives a child's cgroup.controllers from its parent's subtree_control;
        // a fixture tree has to be told the same thing explicitly.
        if fixture && dir != root {
            let parentDir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.endIndex)])
            return words(parentDir + "/cgroup.subtree_control")
        }
        return words(dir + "/cgroup.controllers")
    }

    func words(_ path: String) -> Set<String> {
        Set((FileIO.readIfExists(path) ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" })
            .map { $0.hasPrefix("+") ? String($0.dropFirst()) : String($0) })
    }

    /// Enables every wanted controller that the hierarchy offers, from the root down to the parent.
    func enableControllers() throws -> Set<String> {
        let top = delegated.map { root + $0 } ?? root
        var enabled = available(at: top).intersection(Self.wantedControllers)
        var dir = top
        var chain = [top]
        for part in parent.dropFirst(delegated?.count ?? 0).split(separator: "/") { dir += "/" + part; chain.append(dir) }
        for d in chain {
            let offered = available(at: d)
            enabled.formIntersection(offered)
            let active = words(d + "/cgroup.subtree_control")
            let missing = enabled.subtracting(active).sorted()
            if !missing.isEmpty {
                do {
                    try write(d + "/cgroup.subtree_control", (fixture ? active.union(missing).sorted() : missing).map { "+" + $0 }.joined(separator: " "))
                } catch let FFRTMPError.cgroupWrite(_, _, err) where err == EBUSY && d != root {
                    // Refused, not degraded: running the job ungoverned would hide a wrong parent.
                    throw FFRTMPError.invalidField(field: "cgroup parent", value: d, expected: Self.busyParent(d, pids: CgroupFS.procs(d)))
                }
            }
        }
        return enabled
    }

    /// The no-internal-processes rule, said so an operator can act on it.
    static func busyParent(_ dir: String, pids: [Int32]) -> String {
        let who = pids.isEmpty ? "" : " (pids \(pids.prefix(5).map(String.init).joined(separator: ", "))\(pids.count > 5 ? ", ..." : ""))"
        return "a cgroup without processes: \(dir) holds processes\(who), and cgroup v2 does not let a cgroup that holds " +
            "processes enable controllers for its children (the no-internal-processes rule). Use a cgroup parent without processes " +
            "(FFRTMP_CGROUP_PARENT, e.g. /ffrtmp), or move those processes into a leaf below it"
    }

    public func create(_ job: JobID, constraints: Constraints) throws -> CgroupCreation {
        let cg = locate(job)
        guard let dir = cg.dir("unified") else { throw FFRTMPError.governanceUnavailable(reason: "no v2 directory") }
        var d = root
        // Parents made here are removed again if the job cannot be created: nothing is left behind.
        var made: [String] = []
        func undo() { for m in made.reversed() { try? CgroupFS.removeDir(m) } }
        do {
            for part in parent.split(separator: "/") {
                d += "/" + part
                if !FileIO.exists(d) {
                    try CgroupFS.makeParents(d, under: root)
                    made.append(d)
                }
                try seedFixtureDir(d)
            }
        } catch {
            undo()
            throw error
        }
        let enabled: Set<String>
        do { enabled = try enableControllers() } catch {
            undo()
            throw error
        }
        try CgroupFS.makeJobDir(dir)
        try seedFixtureDir(dir)
        do {
            return CgroupCreation(cgroup: cg, requested: constraints, cpu: try applyCPU(constraints, dir, enabled),
                                  memory: try applyMemory(constraints, dir, enabled), io: try applyIO(constraints, dir, enabled),
                                  pids: try applyPids(constraints, dir, enabled))
        } catch {
            try? CgroupFS.removeDir(dir)
            throw error
        }
    }

    public func usage(_ cg: JobCgroup) -> CgroupUsage {
        guard let d = cg.dir("unified") else { return CgroupUsage() }
        var u = changing(d)
        readPids(d, into: &u)
        readIO(d, into: &u)
        return u
    }

    public func liveUsage(_ cg: JobCgroup) -> CgroupUsage {
        guard let d = cg.dir("unified") else { return CgroupUsage() }
        var u = changing(d)
        u.memoryPeakBytes = nil
        return u
    }

    /// What changes from second to second: CPU, memory (limits included) and pressure.
    func changing(_ d: String) -> CgroupUsage {
        var u = CgroupUsage()
        readCPU(d, into: &u)
        readMemory(d, into: &u)
        u.pressure = CgroupPressure.read(dir: d)
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
            try write(d + "/cgroup.kill", "1")
        } else {
            try write(d + "/cgroup.freeze", "1")
            for pid in CgroupFS.procs(d) { _ = Glibc.kill(pid, SIGKILL) }
            try write(d + "/cgroup.freeze", "0")
        }
        if !CgroupFS.waitEmpty(d, seconds: 5) {
            throw FFRTMPError.cgroupDirectory(path: d, operation: "empty (processes survive SIGKILL)", errno: EBUSY)
        }
    }

    public func destroy(_ cg: JobCgroup) throws {
        guard let d = cg.dir("unified") else { return }
        if fixture {
            // A fixture dir holds regular files that rmdir would refuse.
            for f in FileIO.listDirectory(d) { unlink(d + "/" + f) }
        }
        try CgroupFS.removeDir(d)
    }
}
