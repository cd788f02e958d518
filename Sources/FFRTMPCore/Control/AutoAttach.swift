import FoundationEssentials
import Glibc

/// Auto-attach (worker.env's AUTO_ATTACH_*): which running process groups the agent adopts by
/// itself. Written once and used by the agent (which acts on it), `ffrtmp orphans` and the
/// console (which show what it would do): the same verdict, from the same reading of /proc.
public struct AutoAttachPolicy: Codable, Equatable, Sendable {
    /// Commands (comm, at most 15 bytes) a group's leader and every member must run.
    public var targets: [String]
    public var minAgeSeconds: Double
    public var intervalSeconds: Double
    /// cgroup path prefixes a member may be in (AUTO_ATTACH_FROM). "/" means the root cgroup
    /// itself, never "anywhere".
    public var from: [String]
    /// Real uids the members must run as (AUTO_ATTACH_USERS); nil: any.
    public var users: [UInt32]?
    public var dryRun: Bool

    public init(targets: [String], minAgeSeconds: Double, intervalSeconds: Double, from: [String], users: [UInt32]?, dryRun: Bool) {
        self.targets = targets
        self.minAgeSeconds = minAgeSeconds
        self.intervalSeconds = intervalSeconds
        self.from = from
        self.users = users
        self.dryRun = dryRun
    }

    enum CodingKeys: String, CodingKey {
        case targets, minAgeSeconds = "min_age_seconds", intervalSeconds = "interval_seconds", from, users, dryRun = "dry_run"
    }

    /// User sessions everywhere; on v1 also the root cgroup, where a box without systemd (or a
    /// process started before it) keeps its processes. System services are never in the default.
    public static func defaultFrom(_ version: CgroupVersion) -> [String] {
        version == .v2 ? ["/user.slice"] : ["/user.slice", "/"]
    }

    /// `path` is `prefix` or below it, by whole components ("/user.slice" allows
    /// "/user.slice/user-1000.slice/session-3.scope", not "/user.slicer"). "/" allows "/" only.
    public static func allows(_ prefix: String, _ path: String) -> Bool {
        if prefix == "/" { return path == "/" }
        return path == prefix || path.hasPrefix(prefix + "/")
    }

    public func allows(cgroup path: String) -> Bool { from.contains { Self.allows($0, path) } }
}

/// A process group named by its id and its leader's start time: a pgid reused by a later
/// group is another group.
public struct GroupIdentity: Codable, Hashable, Sendable, CustomStringConvertible {
    public var pgid: Int32
    public var leaderStartTime: UInt64

    public init(pgid: Int32, leaderStartTime: UInt64) {
        self.pgid = pgid
        self.leaderStartTime = leaderStartTime
    }

    enum CodingKeys: String, CodingKey { case pgid, leaderStartTime = "leader_start_time" }

    public var description: String { "pgid \(pgid) (leader start \(leaderStartTime))" }

    /// The job id an adoption of this group gets: the same group always gets the same id, so a
    /// second adoption of it can never happen unnoticed (the journal refuses an id twice).
    public var jobID: JobID {
        // Safe by construction: letters, digits and '-'.
        try! JobID("auto-\(pgid)-\(leaderStartTime)")
    }
}

public struct AutoAttachVerdict: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// Every condition holds: the group is adopted (in dry run: would be).
        case take
        /// Only its age stands in the way: it is looked at again next interval.
        case wait
        /// A condition that does not change with time: the group is never adopted.
        case refuse
        /// Remembered: an adoption was tried and failed, or the group was refused earlier.
        case refused
    }
    public var kind: Kind
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }
}

extension AutoAttachVerdict.Kind {
    /// How `ffrtmp orphans` and the console say it: what auto-attach does (or, in dry run,
    /// would do) with the group.
    public func label(dryRun: Bool) -> String {
        switch self {
        case .take: return dryRun ? "would take" : "takes"
        case .wait: return "waits"
        case .refuse, .refused: return "refused"
        }
    }
}

/// One process group auto-attach looked at: one that holds a process running a target command
/// outside every ffrtmp cgroup.
public struct AutoAttachCandidate: Equatable, Sendable {
    public var identity: GroupIdentity
    public var command: String
    public var members: [ProcessIdentity]
    public var ageSeconds: Double
    /// The member's unit cgroup (name=systemd on v1, the unified path on v2).
    public var cgroup: String
    public var verdict: AutoAttachVerdict
}

/// One pass over /proc: every process read once, the groups that hold an ungoverned target
/// process, and a verdict for each.
public struct AutoAttachScan: Sendable {
    public let policy: AutoAttachPolicy
    public let driver: CgroupDriver
    /// The agent whose descendants are never taken (its legacy children, its shims' children).
    public let agentPID: Int32?
    /// Process groups that are journal jobs' workloads (a legacy job's child is in no cgroup).
    public let journalGroups: [Int32: JobID]

    public init(policy: AutoAttachPolicy, driver: CgroupDriver, agentPID: Int32?, journalGroups: [Int32: JobID]) {
        self.policy = policy
        self.driver = driver
        self.agentPID = agentPID
        self.journalGroups = journalGroups
    }

    /// The unit cgroup of a process: systemd's own hierarchy on v1 (what `systemctl stop`
    /// acts on), else the unified one.
    public static func unitCgroup(_ cgs: [String: String]) -> String? { cgs["name=systemd"] ?? cgs[""] }

    public func candidates(now bootSeconds: Double = AutoAttachScan.bootSeconds()) -> [AutoAttachCandidate] {
        var stats: [Int32: ProcStat] = [:]
        for pid in ProcFS.allPIDs() {
            if let st = ProcFS.stat(pid), !st.isZombie { stats[pid] = st }
        }
        let targets = Set(policy.targets)
        var cgroups: [Int32: [String: String]] = [:]
        var pgids = Set<Int32>()
        for (pid, st) in stats where targets.contains(st.comm) {
            guard let cgs = ProcFS.cgroups(pid) else { continue }
            cgroups[pid] = cgs
            if !driver.isGoverned(cgs) { pgids.insert(st.pgrp) }
        }
        let byGroup = Dictionary(grouping: stats.values.filter { pgids.contains($0.pgrp) }, by: \.pgrp)
        let ticks = ProcFS.clockTicksPerSecond()
        return pgids.sorted().compactMap { pgid in
            let members = (byGroup[pgid] ?? []).sorted { ($0.pid == pgid ? 0 : 1, $0.pid) < ($1.pid == pgid ? 0 : 1, $1.pid) }
            guard let first = members.first else { return nil }
            let leader = members.first { $0.pid == pgid }
            let identity = GroupIdentity(pgid: pgid, leaderStartTime: leader?.startTime ?? first.startTime)
            let age = bootSeconds - Double(identity.leaderStartTime) / ticks
            var cgs: [Int32: [String: String]] = [:]
            for m in members { cgs[m.pid] = cgroups[m.pid] ?? ProcFS.cgroups(m.pid) ?? [:] }
            let verdict = judge(pgid: pgid, leader: leader, members: members, cgroups: cgs, stats: stats, age: age)
            return AutoAttachCandidate(identity: identity, command: Self.shown((leader ?? first).comm),
                                       members: members.map { ProcessIdentity(pid: $0.pid, startTime: $0.startTime) }, ageSeconds: age,
                                       cgroup: Self.unitCgroup(cgs[first.pid] ?? [:]) ?? "?", verdict: verdict)
        }
    }

    func judge(pgid: Int32, leader: ProcStat?, members: [ProcStat], cgroups: [Int32: [String: String]], stats: [Int32: ProcStat],
               age: Double) -> AutoAttachVerdict {
        let listed = policy.targets.isEmpty ? "(none)" : policy.targets.joined(separator: ", ")
        guard let leader else { return .init(.refuse, "its leader (pid \(pgid)) has exited: a group without its leader is not adopted") }
        // Age first: a young group may still be on its way (a shell about to exec ffmpeg, a
        // process about to be moved into its session's scope), and every other verdict is final.
        if age < policy.minAgeSeconds {
            return .init(.wait, "younger than AUTO_ATTACH_MIN_AGE (\(Self.seconds(age)) of \(Self.seconds(policy.minAgeSeconds)))")
        }
        guard policy.targets.contains(leader.comm) else {
            return .init(.refuse, "its leader \(Self.shown(leader.comm))[\(pgid)] is not one of AUTO_ATTACH_TARGETS (\(listed))")
        }
        let others = members.filter { !policy.targets.contains($0.comm) }
        if !others.isEmpty {
            return .init(.refuse, "it also holds " + others.prefix(3).map { "\(Self.shown($0.comm))[\($0.pid)]" }.joined(separator: ", ")
                + ", not among AUTO_ATTACH_TARGETS (\(listed))")
        }
        if let governed = members.first(where: { driver.isGoverned(cgroups[$0.pid] ?? [:]) }) {
            return .init(.refuse, "pid \(governed.pid) of the group is already in an ffrtmp job cgroup")
        }
        if let agent = agentPID {
            for m in members where Self.descends(m.pid, from: agent, stats) {
                return .init(.refuse, "pid \(m.pid) is a descendant of the agent (pid \(agent)): the agent's own work is never adopted")
            }
        }
        if let job = journalGroups[pgid] { return .init(.refuse, "it is the workload of journal job \(job)") }
        for m in members {
            let cgs = cgroups[m.pid] ?? [:]
            // The unit's cgroup, and every cgroup the move would take the process out of.
            var checked: [(String, String)] = []
            if let unit = Self.unitCgroup(cgs) { checked.append((cgs["name=systemd"] != nil ? "name=systemd" : "unified", unit)) }
            for (key, path) in cgs.sorted(by: { $0.key < $1.key }) where driver.moves(hierarchy: key) {
                checked.append((key.isEmpty ? "unified" : key, path))
            }
            if checked.isEmpty { return .init(.wait, "pid \(m.pid)'s cgroups cannot be read (it may be exiting)") }
            if let (key, path) = checked.first(where: { !policy.allows(cgroup: $0.1) }) {
                return .init(.refuse, "pid \(m.pid) is in \(key) cgroup \(path), which AUTO_ATTACH_FROM (\(policy.from.joined(separator: ", "))) does not allow")
            }
        }
        if let users = policy.users {
            for m in members {
                guard let uid = ProcFS.realUID(m.pid) else { return .init(.wait, "pid \(m.pid)'s user cannot be read (it may be exiting)") }
                if !users.contains(uid) {
                    return .init(.refuse, "pid \(m.pid) runs as uid \(uid), not one of AUTO_ATTACH_USERS (\(users.map(String.init).joined(separator: ", ")))")
                }
            }
        }
        return .init(.take, "\(leader.comm) in \(Self.unitCgroup(cgroups[leader.pid] ?? [:]) ?? "?"), \(Self.seconds(age)) old")
    }

    /// A command name as it may be shown: comm is the process's own choice of bytes, so control
    /// characters (C0, DEL, C1) become '?' before it reaches a log, a terminal or the state file.
    public static func shown(_ comm: String) -> String {
        String(String.UnicodeScalarView(comm.unicodeScalars.map { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) ? "?" : $0 }))
    }

    static func seconds(_ s: Double) -> String { "\(Int(max(s, 0).rounded())) s" }

    /// Whether `pid`'s parent chain reaches `ancestor` (bounded: a chain is never longer).
    static func descends(_ pid: Int32, from ancestor: Int32, _ stats: [Int32: ProcStat]) -> Bool {
        var p = pid
        for _ in 0..<4096 {
            guard let st = stats[p] ?? ProcFS.stat(p) else { return false }
            if st.ppid == ancestor { return true }
            if st.ppid <= 1 { return false }
            p = st.ppid
        }
        return false
    }

    /// Seconds since boot (CLOCK_BOOTTIME), the clock /proc/PID/stat start times count on.
    public static func bootSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// STATE_DIR/auto-attach.json: what the agent's auto-attach runs with, and the groups it
/// refused for good (by identity, with the reason), so a restarted agent does not try them
/// again and `ffrtmp orphans` and the console can say why. Written by the agent only.
public struct AutoAttachState: Codable, Equatable, Sendable {
    public var enabled: Bool
    public var policy: AutoAttachPolicy
    public var agent: ProcessIdentity?
    public var updatedAtUnixNs: Int64
    public struct Refusal: Codable, Equatable, Sendable {
        public var group: GroupIdentity
        public var command: String
        public var reason: String
        public var atUnixNs: Int64
        /// An adoption was tried and failed (else: the settings refused the group). Refusals by
        /// the settings are dropped when the settings change; failed attempts are kept.
        public var attempted: Bool
        public init(group: GroupIdentity, command: String, reason: String, atUnixNs: Int64, attempted: Bool) {
            self.group = group
            self.command = command
            self.reason = reason
            self.atUnixNs = atUnixNs
            self.attempted = attempted
        }
        enum CodingKeys: String, CodingKey { case group, command, reason, atUnixNs = "at_unix_ns", attempted }
    }
    public var refused: [Refusal]

    public init(enabled: Bool, policy: AutoAttachPolicy, agent: ProcessIdentity?, updatedAtUnixNs: Int64, refused: [Refusal]) {
        self.enabled = enabled
        self.policy = policy
        self.agent = agent
        self.updatedAtUnixNs = updatedAtUnixNs
        self.refused = refused
    }

    enum CodingKeys: String, CodingKey { case enabled, policy, agent, updatedAtUnixNs = "updated_at_unix_ns", refused }

    public static func path(stateDir: String) -> String { stateDir + "/auto-attach.json" }

    /// nil when there is no file (no agent has run auto-attach here); an unreadable file is an
    /// error naming it.
    public static func load(stateDir: String) throws -> AutoAttachState? {
        let p = path(stateDir: stateDir)
        guard let text = FileIO.readIfExists(p, noFollow: true) else { return nil }
        do { return try JSONDecoder().decode(AutoAttachState.self, from: Data(text.utf8)) } catch {
            throw FFRTMPError.corruptJournal(path: p, detail: "not an auto-attach state: \(error)")
        }
    }

    public func write(stateDir: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try FileIO.writeAtomically(Self.path(stateDir: stateDir), String(decoding: try enc.encode(self), as: UTF8.self) + "\n", sync: false)
    }

    /// The verdict on `c` as the agent sees it: a refusal it remembers, else the live one.
    public func verdict(_ c: AutoAttachCandidate) -> AutoAttachVerdict {
        if let r = refused.first(where: { $0.group == c.identity }) { return .init(.refused, r.reason) }
        return c.verdict
    }

    /// Whether the agent that wrote this still runs (same pid, same start time).
    public var agentRunning: Bool { agent?.isAlive ?? false }

    /// The scan `ffrtmp orphans` and the console run to show the agent's verdicts.
    public func scan(driver: CgroupDriver, journalGroups: [Int32: JobID]) -> AutoAttachScan {
        AutoAttachScan(policy: policy, driver: driver, agentPID: agentRunning ? agent?.pid : nil, journalGroups: journalGroups)
    }
}

extension JobInspector {
    /// Process groups that are the workloads of journal jobs still running (a legacy child's
    /// group is in no cgroup: only the journal says it is ffrtmp's).
    public func liveWorkloadGroups() -> [Int32: JobID] {
        var out: [Int32: JobID] = [:]
        for case let .success(st) in all(withUsage: false) where st.exit == nil {
            if let w = st.workload, w.identity.isAlive { out[w.pgid] = st.spec.jobID }
        }
        return out
    }
}
