/// Work that runs without a supervisor: journal jobs whose shim is gone while their
/// processes live, and ffmpeg/gst-launch process groups in no ffrtmp cgroup.
public struct OrphanScanner: Sendable {
    public let inspector: JobInspector
    public var targets: Set<String>

    public init(inspector: JobInspector, targets: Set<String> = ["ffmpeg", "gst-launch-1.0"]) {
        self.inspector = inspector
        self.targets = targets
    }

    public struct UngovernedGroup: Codable, Equatable, Sendable {
        public var pgid: Int32
        public var command: String
        /// Every member that runs a target program, with its start time for later identity checks.
        public var processes: [ProcessIdentity]
        /// What auto-attach does with the group (the agent's remembered refusal, else the verdict
        /// of its settings now); nil when no agent has run auto-attach on this state dir.
        public var autoAttach: AutoAttachVerdict?
        enum CodingKeys: String, CodingKey { case pgid, command, processes, autoAttach = "auto_attach" }
    }

    public func journalOrphans() -> [JobStatus] {
        inspector.all(withUsage: false).compactMap { try? $0.get() }.filter { $0.state == .orphaned }
    }

    public func ungovernedGroups() -> [UngovernedGroup] {
        var groups: [Int32: UngovernedGroup] = [:]
        for pid in ProcFS.allPIDs() {
            guard let st = ProcFS.stat(pid), !st.isZombie, targets.contains(st.comm) else { continue }
            guard let cgs = ProcFS.cgroups(pid), !inspector.driver.isGoverned(cgs) else { continue }
            groups[st.pgrp, default: UngovernedGroup(pgid: st.pgrp, command: st.comm, processes: [], autoAttach: nil)]
                .processes.append(ProcessIdentity(pid: pid, startTime: st.startTime))
        }
        return groups.values.sorted { $0.pgid < $1.pgid }
    }

    /// The groups with auto-attach's verdict on each, as the agent's state file says it runs.
    /// `state` nil: auto-attach never ran here, and no group is marked.
    public func ungovernedGroups(autoAttach state: AutoAttachState?) -> [UngovernedGroup] {
        var groups = ungovernedGroups()
        guard let state else { return groups }
        let found = Dictionary(state.scan(driver: inspector.driver, journalGroups: inspector.liveWorkloadGroups()).candidates().map { ($0.identity.pgid, $0) },
                               uniquingKeysWith: { a, _ in a })
        for i in groups.indices {
            guard let c = found[groups[i].pgid] else { continue }
            var v = state.verdict(c)
            if !state.enabled { v.reason = "auto-attach is off (AUTO_ATTACH=false); its settings would: " + v.reason }
            groups[i].autoAttach = v
        }
        return groups
    }
}
