import Glibc

/// Turns operator or wire input into validated `Constraints`. Every error names
/// the field and the accepted form; nothing is applied until all fields parse.
public struct ConstraintParser: Sendable {
    /// Where block devices are looked up (`<root>/MAJ:MIN`); tests point it at a fixture.
    public var blockDeviceRoot: String

    public init(blockDeviceRoot: String = "/sys/dev/block") {
        self.blockDeviceRoot = blockDeviceRoot
    }

    public static let cpuMaxForm = "\"QUOTA PERIOD\", \"max\" or \"max PERIOD\" in microseconds (QUOTA >= 1000, PERIOD 1000..1000000), e.g. \"50000 100000\""
    public static let ioMaxForm = "\"MAJ:MIN rbps=N wbps=N riops=N wiops=N\" (at least one key, N > 0 or max), e.g. \"8:0 wbps=1048576\""

    public func parse(_ wire: WireConstraints, cpuPercent: Int? = nil) throws -> Constraints {
        var c = Constraints()
        if let raw = wire.cpuMax, cpuPercent != nil {
            throw FFRTMPError.invalidField(field: "cpu_max", value: raw, expected: "either cpu_max or cpu percent, not both")
        }
        if let raw = wire.cpuMax { c.cpuMax = try parseCPUMax(raw) }
        if let p = cpuPercent { c.cpuMax = try cpuMaxFromPercent(p) }
        if let w = wire.cpuWeight { c.cpuWeight = try parseCPUWeight(w) }
        if let m = wire.memoryMaxMB { c.memoryMaxMB = try parseMemoryMaxMB(m) }
        if let s = wire.memorySwapMaxMB { c.memorySwapMaxMB = try parseMemorySwapMaxMB(s, memoryMaxMB: wire.memoryMaxMB) }
        if let io = wire.ioMax {
            c.ioMax = try io.split(whereSeparator: { $0 == "\n" || $0 == ";" }).map { try parseIOMax(String($0)) }
        }
        if let p = wire.pidsMax { c.pidsMax = try parsePIDsMax(p) }
        if let m = wire.maxOutputMB { c.maxOutputMB = try parseMaxOutputMB(m) }
        return c
    }

    /// Up to 2^30 MiB (1 PiB): beyond that RLIMIT_FSIZE in bytes is no limit at all.
    public func parseMaxOutputMB(_ m: Int) throws -> Int {
        guard m >= 1 && m <= 1 << 30 else {
            throw FFRTMPError.invalidField(field: "max_output_mb", value: String(m), expected: "an integer number of MiB from 1 to 1073741824")
        }
        return m
    }

    public func parsePIDsMax(_ p: Int) throws -> Int {
        guard p >= 1 && p <= 4_194_304 else {
            throw FFRTMPError.invalidField(field: "pids_max", value: String(p), expected: "an integer from 1 to 4194304")
        }
        return p
    }

    public func parseCPUMax(_ raw: String) throws -> Constraints.CPUMax {
        let parts = raw.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        func bad() -> FFRTMPError { .invalidField(field: "cpu_max", value: raw, expected: Self.cpuMaxForm) }
        guard parts.count == 1 || parts.count == 2 else { throw bad() }
        var period = 100_000
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 1000, p <= 1_000_000 else { throw bad() }
            period = p
        }
        if parts[0] == "max" { return .init(quotaMicros: nil, periodMicros: period) }
        // A bare number is ambiguous (percent? micros?), so QUOTA always needs its PERIOD.
        guard parts.count == 2, let q = Int(parts[0]), q >= 1000, q <= 1_000_000 * 1024 else { throw bad() }
        return .init(quotaMicros: q, periodMicros: period)
    }

    public func cpuMaxFromPercent(_ percent: Int) throws -> Constraints.CPUMax {
        guard percent >= 1 && percent <= 100 * 1024 else {
            throw FFRTMPError.invalidField(field: "cpu percent", value: String(percent), expected: "1..102400, where 100 is one full core and 200 two cores")
        }
        return .init(quotaMicros: max(1000, percent * 1000), periodMicros: 100_000)
    }

    public func parseCPUWeight(_ w: Int) throws -> Int {
        guard w >= 1 && w <= 10_000 else {
            throw FFRTMPError.invalidField(field: "cpu_weight", value: String(w), expected: "an integer from 1 to 10000 (100 is the default share)")
        }
        return w
    }

    public func parseMemoryMaxMB(_ m: Int) throws -> Int {
        guard m > 0 && m <= 1 << 30 else {
            throw FFRTMPError.invalidField(field: "memory_max_mb", value: String(m), expected: "a whole number of MiB greater than 0")
        }
        return m
    }

    /// Swap on top of a memory limit; meaningless (and refused) without one.
    public func parseMemorySwapMaxMB(_ s: Int, memoryMaxMB: Int?) throws -> Int {
        guard s >= 0 && s <= 1 << 30 else {
            throw FFRTMPError.invalidField(field: "memory_swap_max_mb", value: String(s), expected: "a whole number of MiB from 0 to 1073741824")
        }
        guard memoryMaxMB != nil else {
            throw FFRTMPError.invalidField(field: "memory_swap_max_mb", value: String(s),
                                           expected: "a memory_max_mb as well: swap is allowed on top of a memory limit")
        }
        return s
    }

    public func parseIOMax(_ raw: String) throws -> Constraints.IOMax {
        func bad(_ why: String = Self.ioMaxForm) -> FFRTMPError { .invalidField(field: "io_max", value: raw, expected: why) }
        let parts = raw.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 2 else { throw bad() }
        let dev = parts[0].split(separator: ":", omittingEmptySubsequences: false)
        guard dev.count == 2, let major = Int(dev[0]), let minor = Int(dev[1]), major >= 0, minor >= 0 else { throw bad() }
        var io = Constraints.IOMax(major: major, minor: minor)
        for kv in parts.dropFirst() {
            let pair = kv.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw bad() }
            let value: Int?
            if pair[1] == "max" { value = nil } else {
                guard let v = Int(pair[1]), v > 0 else { throw bad() }
                value = v
            }
            switch pair[0] {
            case "rbps": io.readBPS = value
            case "wbps": io.writeBPS = value
            case "riops": io.readIOPS = value
            case "wiops": io.writeIOPS = value
            default: throw bad()
            }
        }
        guard access("\(blockDeviceRoot)/\(major):\(minor)", F_OK) == 0 else {  // FileIO.exists, without the core
            throw bad("an existing block device; \(major):\(minor) is not one (see lsblk -o NAME,MAJ:MIN)")
        }
        return io
    }
}
