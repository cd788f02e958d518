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
        enum CodingKeys: String, CodingKey { case pgid, command, processes }
    }

    public func journalOrphans() -> [JobStatus] {
        inspector.all(withUsage: false).compactMap { try? $0.get() }.filter { $0.state == .orphaned }
    }

    public func ungovernedGroups() -> [UngovernedGroup] {
        var groups: [Int32: UngovernedGroup] = [:]
        for pid in ProcFS.allPIDs() {
            guard let st = ProcFS.stat(pid), !st.isZombie, targets.contains(st.comm) else { continue }
            guard let cgs = ProcFS.cgroups(pid), !inspector.driver.isGoverned(cgs) else { continue }
            groups[st.pgrp, default: UngovernedGroup(pgid: st.pgrp, command: st.comm, processes: [])]
                .processes.append(ProcessIdentity(pid: pid, startTime: st.startTime))
        }
        return groups.values.sorted { $0.pgid < $1.pgid }
    }
}
