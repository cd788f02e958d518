import FFRTMPCore
import Glibc

/// The header's host meters, read the way htop reads them: CPU from /proc/stat (busy over
/// total ticks since the previous read), memory from /proc/meminfo (total minus
/// MemAvailable), load from /proc/loadavg, and the host's PSI from /proc/pressure.
public final class HostMeterReader {
    let root: String
    var previous: (busy: UInt64, total: UInt64)?

    public init(root: String = "/proc") { self.root = root }

    public func read() -> HostMeters {
        var m = HostMeters(cores: max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        if let stat = FileIO.readIfExists(root + "/stat"), let cpu = Self.cpuTicks(stat) {
            if let p = previous, cpu.total > p.total, cpu.busy >= p.busy {
                m.cpuPercent = Double(cpu.busy - p.busy) / Double(cpu.total - p.total) * 100 * Double(m.cores)
            }
            previous = cpu
        }
        if let info = FileIO.readIfExists(root + "/meminfo") {
            let kb = Self.meminfo(info)
            if let t = kb["MemTotal"], let a = kb["MemAvailable"], t >= a {
                m.memoryTotalBytes = t * 1024
                m.memoryUsedBytes = (t - a) * 1024
            }
        }
        if let l = FileIO.readIfExists(root + "/loadavg") {
            let f = l.split(separator: " ").prefix(3).compactMap { Double($0) }
            if f.count == 3 { m.load = (f[0], f[1], f[2]) }
        }
        m.pressure = CgroupPressure.read(cpu: root + "/pressure/cpu", memory: root + "/pressure/memory", io: root + "/pressure/io")
        return m
    }

    /// The first "cpu " line: busy (all but idle and iowait) and total ticks.
    static func cpuTicks(_ stat: String) -> (busy: UInt64, total: UInt64)? {
        guard let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let v = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard v.count >= 5 else { return nil }
        // user nice system idle iowait irq softirq steal (guest is inside user already).
        let total = v.prefix(8).reduce(0, +)
        return (total - v[3] - v[4], total)
    }

    static func meminfo(_ text: String) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            guard key == "MemTotal" || key == "MemAvailable" else { continue }
            if let n = line[line.index(after: colon)...].split(separator: " ").first.flatMap({ UInt64($0) }) { out[key] = n }
        }
        return out
    }
}
