/// How much this box can govern, for the console's header and `ffrtmp agent`'s start-up line:
/// full (every controller the limits need), degraded (some missing: named), or none.
public struct GovernanceProbe: Equatable, Sendable {
    public enum Level: String, Sendable { case full, degraded, none }
    public var version: CgroupVersion
    public var level: Level
    public var reason: String?

    /// v1 needs these hierarchies for every limit and for the cgroup-wide kill.
    public init(version: CgroupVersion, level: Level, reason: String?) {
        self.version = version
        self.level = level
        self.reason = reason
    }

    public static let v1Controllers = ["cpu", "cpuacct", "memory", "blkio", "pids", "freezer"]
    public static let v2Controllers = ["cpu", "memory", "io", "pids"]

    public static func probe(_ driver: CgroupDriver, layout: CgroupLayout = .detect(), v2Root: String? = nil) -> GovernanceProbe {
        switch driver.version {
        case .unavailable:
            return GovernanceProbe(version: .unavailable, level: .none, reason: (driver as? UnavailableCgroupDriver)?.reason ?? "no cgroups")
        case .v1:
            let missing = v1Controllers.filter { layout.v1Mounts[$0] == nil }
            return missing.isEmpty ? GovernanceProbe(version: .v1, level: .full, reason: nil)
                : GovernanceProbe(version: .v1, level: .degraded, reason: "no " + missing.joined(separator: ", ") + " controller")
        case .v2:
            let root = v2Root ?? layout.v2Mount ?? "/sys/fs/cgroup"
            let have = Set((FileIO.readIfExists(root + "/cgroup.controllers") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            let missing = v2Controllers.filter { !have.contains($0) }
            return missing.isEmpty ? GovernanceProbe(version: .v2, level: .full, reason: nil)
                : GovernanceProbe(version: .v2, level: .degraded, reason: "no " + missing.joined(separator: ", ") + " controller in " + root)
        }
    }
}
