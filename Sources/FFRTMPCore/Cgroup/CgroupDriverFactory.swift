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
    public static func make(environment env: [String: String], parentFlag: String?) throws -> CgroupDriver {
        func value(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        return try make(driver: value("FFRTMP_CGROUP_DRIVER") ?? "auto", parent: parentFlag ?? value("FFRTMP_CGROUP_PARENT") ?? "/ffrtmp",
                        v2Root: value("FFRTMP_CGROUP_ROOT"))
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
