/// No usable cgroups: jobs still run, but every result says governance is degraded and why.
public struct UnavailableCgroupDriver: CgroupDriver {
    public let version = CgroupVersion.unavailable
    public let parent: String
    public let reason: String

    public init(reason: String, parent: String = "/ffrtmp") {
        self.reason = reason
        self.parent = parent
    }

    public func locate(_ job: JobID) -> JobCgroup { JobCgroup(version: .unavailable, dirs: [:], path: "") }
    public func locate(_ job: JobID, parent: String) -> JobCgroup { locate(job) }
    public func create(_ job: JobID, constraints: Constraints) throws -> CgroupCreation {
        throw FFRTMPError.governanceUnavailable(reason: reason)
    }
    public func usage(_ cg: JobCgroup) -> CgroupUsage { CgroupUsage() }
    public func members(_ cg: JobCgroup) -> [Int32] { [] }
    public func move(_ pid: Int32, into cg: JobCgroup) throws { throw FFRTMPError.governanceUnavailable(reason: reason) }
    public func restore(_ pid: Int32, to original: [String: String]) throws {}
    public func killAll(_ cg: JobCgroup) throws {}
    public func destroy(_ cg: JobCgroup) throws {}
}
