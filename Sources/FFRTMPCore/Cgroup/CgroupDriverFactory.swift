import Glibc

/// The only place that chooses a cgroup driver.
public enum CgroupDriverFactory {
    /// - driver: "auto" (default), "v1", "v2" or "none" (FFRTMP_CGROUP_DRIVER).
    /// - parent: path inside each hierarchy (FFRTMP_CGROUP_PARENT), default "/ffrtmp".
    /// - v2Root: overrides the cgroup2 mount point (FFRTMP_CGROUP_ROOT), for fixture trees.
    public static func make(layout: CgroupLayout = .detect(), driver: String = "auto", parent rawParent: String = "/ffrtmp", v2Root: String? = nil) throws -> CgroupDriver {
        let parent = try normalizeParent(rawParent)
        switch driver {
        case "none":
            return UnavailableCgroupDriver(reason: "cgroups disabled by FFRTMP_CGROUP_DRIVER=none", parent: parent)
        case "v1":
            guard !layout.v1Mounts.isEmpty else { throw FFRTMPError.governanceUnavailable(reason: "no cgroup v1 controller is mounted") }
            return CgroupV1Driver(mounts: layout.v1Mounts, parent: parent)
        case "v2":
            guard let root = v2Root ?? layout.v2Mount else { throw FFRTMPError.governanceUnavailable(reason: "no cgroup2 filesystem is mounted") }
            return CgroupV2Driver(root: root, parent: parent)
        case "auto":
            // Hybrid hosts bind controllers to v1; the v2 mount there has none, so v1 wins when present.
            if !layout.v1Mounts.isEmpty { return CgroupV1Driver(mounts: layout.v1Mounts, parent: parent) }
            if let root = v2Root ?? layout.v2Mount { return CgroupV2Driver(root: root, parent: parent) }
            return UnavailableCgroupDriver(reason: "no cgroup filesystem is mounted", parent: parent)
        default:
            throw FFRTMPError.invalidField(field: "FFRTMP_CGROUP_DRIVER", value: driver, expected: "auto, v1, v2 or none")
        }
    }

    /// The driver every front end uses: FFRTMP_CGROUP_DRIVER, the parent from the flag, else
    /// FFRTMP_CGROUP_PARENT, else /ffrtmp, and FFRTMP_CGROUP_ROOT for fixture trees.
    /// `stateDir`: where a v2 agent records its delegated jobs parent (CgroupDelegation); with no
    /// parent set by flag or environment, a live agent's is used, so `ffrtmp run` puts its job
    /// where the agent's are.
    public static func make(environment env: [String: String], parentFlag: String?, stateDir: String? = nil) throws -> CgroupDriver {
        func value(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        let explicit = parentFlag ?? value("FFRTMP_CGROUP_PARENT")
        let d = try make(driver: value("FFRTMP_CGROUP_DRIVER") ?? "auto", parent: explicit ?? "/ffrtmp", v2Root: value("FFRTMP_CGROUP_ROOT"))
        if explicit == nil, let v2 = d as? CgroupV2Driver, let dir = stateDir, let found = CgroupDelegation.discover(stateDir: dir) {
            return CgroupV2Driver(root: v2.root, parent: found.jobsParent, delegated: found.delegated)
        }
        return d
    }

    /// The agent's driver on v2: with no parent set by flag or environment and a delegated cgroup
    /// of its own, the agent runs in its leaf and puts jobs under `…/jobs` (CgroupDelegation).
    /// Returns the driver, the delegated cgroup (nil when not used) and why it was not used.
    ///
    /// Under systemd the leaf must be systemd's doing (`DelegateSubgroup=agent`, systemd 254+):
    /// once the unit's cgroup enables controllers for its children it may hold no process, so an
    /// older systemd could not put the next agent into it and `systemctl restart` would fail.
    /// There (INVOCATION_ID set, the agent in the unit's cgroup itself) jobs stay under the
    /// configured parent. Outside systemd the agent moves itself into the leaf.
    public static func makeForAgent(environment env: [String: String], parentFlag: String?,
                                    procSelfCgroup: String? = FileIO.readIfExists("/proc/self/cgroup")) throws -> (CgroupDriver, String?, String?) {
        let d = try make(environment: env, parentFlag: parentFlag)
        let explicit = parentFlag ?? env["FFRTMP_CGROUP_PARENT"].flatMap { $0.isEmpty ? nil : $0 }
        guard explicit == nil, let v2 = d as? CgroupV2Driver, !v2.fixture,
              let delegated = CgroupDelegation.detect(root: v2.root, procSelfCgroup: procSelfCgroup) else { return (d, nil, nil) }
        let inLeaf = procSelfCgroup?.contains("0::" + delegated + "/" + CgroupDelegation.agentLeaf + "\n") ?? false
        if env["INVOCATION_ID"] != nil && !inLeaf {
            return (d, nil, "\(delegated) is delegated, but systemd started the agent in it rather than in its leaf " +
                    "(DelegateSubgroup=\(CgroupDelegation.agentLeaf) needs systemd 254 or later): jobs stay under \(d.parent), so that a restart can place the next agent")
        }
        let jobs = try CgroupDelegation.enter(root: v2.root, delegated: delegated)
        return (CgroupV2Driver(root: v2.root, parent: jobs, delegated: delegated), delegated, nil)
    }

    /// "/ffrtmp", "ffrtmp/test-1" -> "/ffrtmp/test-1". Each component must be a safe name.
    public static func normalizeParent(_ raw: String) throws -> String {
        let parts = raw.split(separator: "/")
        guard !parts.isEmpty else {
            throw FFRTMPError.invalidField(field: "cgroup parent", value: raw, expected: "a path like /ffrtmp (not the root)")
        }
        for p in parts {
            do { _ = try JobID(String(p)) } catch {
                throw FFRTMPError.invalidField(field: "cgroup parent", value: raw, expected: "path components of A-Z a-z 0-9 . _ - (no '..')")
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
