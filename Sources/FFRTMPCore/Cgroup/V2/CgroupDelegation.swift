import Glibc

/// cgroup v2 delegation (systemd's `Delegate=yes`): the agent's own cgroup, say
/// /system.slice/ffrtmp-worker.service, is the agent's to manage. The agent moves itself into
/// the leaf `…/agent` and puts every job under `…/jobs`, so nothing is written outside the
/// subtree it was given (the no-internal-processes rule forbids processes in a cgroup whose
/// children get controllers, hence the leaf).
///
///     /system.slice/ffrtmp-worker.service/   subtree_control: +cpu +io +memory +pids
///         agent/                              the agent (systemd's main process)
///         jobs/                               subtree_control: the same
///             <job id>/                       limits; the workload
///
/// `ffrtmp run` from a shell finds the same jobs parent through STATE_DIR/cgroup-delegation
/// while the agent that wrote it is alive.
public enum CgroupDelegation {
    public static let agentLeaf = "agent"
    public static let jobsDir = "jobs"
    static let recordName = "cgroup-delegation"

    /// The delegated cgroup the calling process runs in, or nil (the root cgroup, one we do not
    /// own, one whose subtree_control we cannot write, or not v2). An agent started again in its
    /// own leaf (`…/agent`, beside `…/jobs`) is still in the delegated cgroup above it.
    public static func detect(root: String, procSelfCgroup: String? = FileIO.readIfExists("/proc/self/cgroup")) -> String? {
        guard let line = procSelfCgroup?.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        var path = String(line.dropFirst(3))
        if path.hasSuffix("/" + agentLeaf), FileIO.isDirectory(root + String(path.dropLast(agentLeaf.count)) + jobsDir) {
            path = String(path.dropLast(agentLeaf.count + 1))
        }
        guard path != "/", !path.isEmpty, (try? CgroupDriverFactory.normalizeParent(path)) == path else { return nil }
        let dir = root + path
        var st = stat()
        guard stat(dir, &st) == 0, st.st_uid == geteuid(), access(dir + "/cgroup.subtree_control", W_OK) == 0 else { return nil }
        return path
    }

    /// Moves every process of the delegated cgroup (the agent, and anything systemd started
    /// beside it) into its leaf, so the cgroup may enable controllers for its children. Returns
    /// the jobs parent. Idempotent: a restarted agent finds the leaf and the jobs dir in place.
    public static func enter(root: String, delegated: String) throws -> String {
        let base = root + delegated
        let leaf = base + "/" + agentLeaf
        if mkdir(leaf, 0o755) != 0 && errno != EEXIST {
            throw FFRTMPError.cgroupDirectory(path: leaf, operation: "create", errno: errno)
        }
        for _ in 0..<10 {
            let pids = CgroupFS.procs(base)
            if pids.isEmpty { break }
            for pid in pids {
                do { try CgroupFS.writePID(pid, to: leaf) } catch let FFRTMPError.cgroupWrite(_, _, err) where err == ESRCH { continue }
            }
        }
        let jobs = base + "/" + jobsDir
        if mkdir(jobs, 0o755) != 0 && errno != EEXIST {
            throw FFRTMPError.cgroupDirectory(path: jobs, operation: "create", errno: errno)
        }
        return delegated + "/" + jobsDir
    }

    /// What the agent writes for `ffrtmp run`: "PARENT DELEGATED PID STARTTIME".
    public static func record(stateDir: String, jobsParent: String, delegated: String, agent: ProcessIdentity) throws {
        try FileIO.writeAtomically(stateDir + "/" + recordName, "\(jobsParent) \(delegated) \(agent.pid) \(agent.startTime)\n", sync: false)
    }

    /// The agent's jobs parent and delegated cgroup, while the agent that recorded them lives.
    public static func discover(stateDir: String) -> (jobsParent: String, delegated: String)? {
        guard let t = FileIO.readIfExists(stateDir + "/" + recordName, noFollow: true) else { return nil }
        let f = t.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard f.count == 4, let pid = Int32(f[2]), let start = UInt64(f[3]),
              ProcessIdentity(pid: pid, startTime: start).isAlive,
              (try? CgroupDriverFactory.normalizeParent(f[0])) == f[0], (try? CgroupDriverFactory.normalizeParent(f[1])) == f[1],
              f[0].hasPrefix(f[1] + "/") else { return nil }
        return (f[0], f[1])
    }
}
