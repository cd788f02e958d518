import Glibc

/// Fields of /proc/PID/stat that identify and classify a process.
public struct ProcStat: Equatable, Sendable {
    public var pid: Int32
    public var comm: String
    public var state: Character
    public var ppid: Int32
    public var pgrp: Int32
    public var session: Int32
    public var utimeTicks: UInt64
    public var stimeTicks: UInt64
    /// Clock ticks after boot; fixed at fork and unchanged by execve, so (pid, startTime) names one process.
    public var startTime: UInt64

    public var isZombie: Bool { state == "Z" || state == "X" }

    /// Parses the stat line; comm may contain spaces and ')' so fields are split after the last ')'.
    public static func parse(_ line: String) -> ProcStat? {
        guard let open = line.firstIndex(of: "("), let close = line.lastIndex(of: ")") else { return nil }
        guard let pid = Int32(line[..<open].trimmingCharacters(in: " ")) else { return nil }
        let comm = String(line[line.index(after: open)..<close])
        let rest = line[line.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // rest[0] is field 3 (state); field N is rest[N-3].
        guard rest.count >= 20, let state = rest[0].first,
              let ppid = Int32(rest[1]), let pgrp = Int32(rest[2]), let session = Int32(rest[3]),
              let ut = UInt64(rest[11]), let st = UInt64(rest[12]), let start = UInt64(rest[19])
        else { return nil }
        return ProcStat(pid: pid, comm: comm, state: state, ppid: ppid, pgrp: pgrp, session: session,
                        utimeTicks: ut, stimeTicks: st, startTime: start)
    }
}

extension StringProtocol {
    /// Strips one character from both ends (Foundation's CharacterSet version is not in FoundationEssentials).
    public func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}

public enum ProcFS {
    public static let root = "/proc"

    public static func stat(_ pid: Int32) -> ProcStat? {
        guard let text = FileIO.readIfExists("\(root)/\(pid)/stat") else { return nil }
        return ProcStat.parse(text)
    }

    public static func allPIDs() -> [Int32] {
        FileIO.listDirectory(root).compactMap { Int32($0) }
    }

    /// `hierarchy-id:controllers:path` lines of /proc/PID/cgroup, keyed by controller list
    /// ("" for the v2 unified line, "name=systemd" for named hierarchies).
    public static func cgroups(_ pid: Int32) -> [String: String]? {
        guard let text = FileIO.readIfExists("\(root)/\(pid)/cgroup") else { return nil }
        return parseCgroupFile(text)
    }

    public static func parseCgroupFile(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            out[String(parts[1])] = String(parts[2])
        }
        return out
    }

    public static func clockTicksPerSecond() -> Double {
        Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Boot time in unix seconds, to turn start ticks into wall-clock times.
    public static func bootTimeSeconds() -> Double? {
        guard let text = FileIO.readIfExists("\(root)/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: " "))
        }
        return nil
    }
}

/// A process named by pid and start time, so a reused pid is never mistaken for it.
public struct ProcessIdentity: Codable, Equatable, Hashable, Sendable {
    public var pid: Int32
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    enum CodingKeys: String, CodingKey { case pid, startTime = "start_time" }

    /// The live process with this pid, if any (zombies count as gone).
    public static func current(_ pid: Int32) -> ProcessIdentity? {
        guard let st = ProcFS.stat(pid), !st.isZombie else { return nil }
        return ProcessIdentity(pid: pid, startTime: st.startTime)
    }

    public enum Liveness: Equatable, Sendable { case alive, gone, reused(actualStartTime: UInt64) }

    public var liveness: Liveness {
        guard let st = ProcFS.stat(pid), !st.isZombie else { return .gone }
        return st.startTime == startTime ? .alive : .reused(actualStartTime: st.startTime)
    }

    public var isAlive: Bool { liveness == .alive }

    /// Sends a signal only to this exact process: open a pidfd, verify the start time
    /// through procfs while holding it (the pidfd pins the process), then signal the pidfd.
    /// Falls back to kill(2) after the same check on kernels without pidfd (ENOSYS).
    @discardableResult
    public func signal(_ sig: Int32) throws -> Bool {
        let fd = ffrtmpPidfdOpen(pid)
        defer { if fd >= 0 { close(fd) } }
        switch liveness {
        case .gone: return false
        case .reused(let actual): throw FFRTMPError.identityMismatch(pid: pid, expectedStartTime: startTime, actualStartTime: actual)
        case .alive: break
        }
        if fd >= 0 {
            if ffrtmpPidfdSendSignal(fd, sig) == 0 { return true }
            if errno == ESRCH { return false }
            throw FFRTMPError.io(path: "pidfd of \(pid)", operation: "signal", errno: errno)
        }
        if Glibc.kill(pid, sig) == 0 { return true }
        if errno == ESRCH { return false }
        throw FFRTMPError.io(path: "pid \(pid)", operation: "signal", errno: errno)
    }
}
