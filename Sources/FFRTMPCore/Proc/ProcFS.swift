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
    /// Works on the UTF-8 bytes without splitting into substrings: the console and the agent
    /// parse one of these per live job every second.
    public static func parse(_ line: String) -> ProcStat? {
        var text = line
        return text.withUTF8 { b -> ProcStat? in
            guard let open = b.firstIndex(of: UInt8(ascii: "(")), let close = b.lastIndex(of: UInt8(ascii: ")")), open < close else { return nil }
            var i = 0
            while i < open && b[i] == UInt8(ascii: " ") { i += 1 }
            guard let pid = number(b, &i, end: open).flatMap({ Int32(exactly: $0) }) else { return nil }
            let comm = String(decoding: UnsafeBufferPointer(rebasing: b[(open + 1)..<close]), as: UTF8.self)
            // Fields after ')': field 3 (state) is index 0.
            var fields: [UInt64] = []
            fields.reserveCapacity(20)
            var state: UInt8 = 0
            i = close + 1
            var index = 0
            while i < b.count && index <= 19 {
                while i < b.count && b[i] == UInt8(ascii: " ") { i += 1 }
                if i >= b.count { break }
                if index == 0 {
                    state = b[i]
                    while i < b.count && b[i] != UInt8(ascii: " ") { i += 1 }
                } else if index <= 3 || index == 11 || index == 12 || index == 19 {
                    // ppid, pgrp and session may be -1 in theory (never for a live process we track).
                    var neg = false
                    if b[i] == UInt8(ascii: "-") { neg = true; i += 1 }
                    guard let v = number(b, &i, end: b.count) else { return nil }
                    fields.append(neg ? UInt64.max : v)
                } else {
                    while i < b.count && b[i] != UInt8(ascii: " ") { i += 1 }
                }
                index += 1
            }
            guard index > 19, fields.count == 6, state != 0,
                  let ppid = Int32(exactly: fields[0]), let pgrp = Int32(exactly: fields[1]), let session = Int32(exactly: fields[2]) else { return nil }
            return ProcStat(pid: pid, comm: comm, state: Character(Unicode.Scalar(state)), ppid: ppid, pgrp: pgrp, session: session,
                            utimeTicks: fields[3], stimeTicks: fields[4], startTime: fields[5])
        }
    }

    /// Decimal digits at b[i...] up to a non-digit; nil when there are none or on overflow.
    static func number(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, end: Int) -> UInt64? {
        var v: UInt64 = 0
        let start = i
        while i < end, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b[i] - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return i > start ? v : nil
    }
}

public enum ProcFS {
    public static let root = "/proc"

    public static func stat(_ pid: Int32) -> ProcStat? {
        let path = "\(root)/\(pid)/stat"
        // Kept open where the caller opted in (the console checks every supervisor every
        // second): a file of a process that is gone reads as an error, and a pid reused since is
        // opened again by path, where its start time tells it apart.
        guard let text = CgroupFS.openAttributes?.read(path) ?? FileIO.readIfExists(path) else { return nil }
        return ProcStat.parse(text)
    }

    /// `wchar` of /proc/PID/io: every byte the process passed to write(), on any file system
    /// (the shim's output watch reads the same field). nil when the process is gone.
    public static func bytesWritten(_ pid: Int32) -> UInt64? {
        guard let text = FileIO.readIfExists("\(root)/\(pid)/io") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("wchar: ") {
            return UInt64(line.dropFirst(7))
        }
        return nil
    }

    /// The real uid of a process (the first field of `Uid:` in /proc/PID/status); nil when gone.
    public static func realUID(_ pid: Int32) -> UInt32? {
        guard let text = FileIO.readIfExists("\(root)/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("Uid:") {
            return line.dropFirst(4).split(whereSeparator: { $0 == "\t" || $0 == " " }).first.flatMap { UInt32($0) }
        }
        return nil
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
