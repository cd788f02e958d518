/// Resource limits for one job, already validated. `nil` means "no limit set".
public struct Constraints: Codable, Equatable, Sendable {
    /// CPU bandwidth: quota per period in microseconds; quota nil means "max" (unlimited).
    public struct CPUMax: Codable, Equatable, Sendable {
        public var quotaMicros: Int?
        public var periodMicros: Int
        public init(quotaMicros: Int?, periodMicros: Int) {
            self.quotaMicros = quotaMicros
            self.periodMicros = periodMicros
        }
        /// The cgroup v2 `cpu.max` form, which is also our wire form: "QUOTA PERIOD" or "max PERIOD".
        public var wireValue: String { "\(quotaMicros.map(String.init) ?? "max") \(periodMicros)" }
        /// Share of one core, in percent (200 = two cores); nil when unlimited.
        public var percentOfOneCore: Double? { quotaMicros.map { Double($0) * 100 / Double(periodMicros) } }
    }

    /// One `io_max` line: a block device and up to four throttles.
    public struct IOMax: Codable, Equatable, Sendable {
        public var major: Int
        public var minor: Int
        public var readBPS: Int?
        public var writeBPS: Int?
        public var readIOPS: Int?
        public var writeIOPS: Int?
        public var device: String { "\(major):\(minor)" }
        public var wireValue: String {
            var parts = [device]
            if let v = readBPS { parts.append("rbps=\(v)") }
            if let v = writeBPS { parts.append("wbps=\(v)") }
            if let v = readIOPS { parts.append("riops=\(v)") }
            if let v = writeIOPS { parts.append("wiops=\(v)") }
            return parts.joined(separator: " ")
        }
    }

    public var cpuMax: CPUMax?
    public var cpuWeight: Int?
    public var memoryMaxMB: Int?
    /// Swap the job may use on top of memory_max_mb, in MiB. With a memory limit and no value
    /// here the job gets no swap at all: memory_max_mb bounds RAM plus swap.
    public var memorySwapMaxMB: Int?
    public var ioMax: [IOMax]
    public var pidsMax: Int?
    /// What the workload may write, in MiB: enforced by the shim (RLIMIT_FSIZE for any one
    /// file, and a watch on every byte written), not by a cgroup controller.
    public var maxOutputMB: Int?

    public init(cpuMax: CPUMax? = nil, cpuWeight: Int? = nil, memoryMaxMB: Int? = nil, memorySwapMaxMB: Int? = nil, ioMax: [IOMax] = [],
                pidsMax: Int? = nil, maxOutputMB: Int? = nil) {
        self.cpuMax = cpuMax
        self.cpuWeight = cpuWeight
        self.memoryMaxMB = memoryMaxMB
        self.memorySwapMaxMB = memorySwapMaxMB
        self.ioMax = ioMax
        self.pidsMax = pidsMax
        self.maxOutputMB = maxOutputMB
    }

    public var isEmpty: Bool { cpuMax == nil && cpuWeight == nil && memoryMaxMB == nil && ioMax.isEmpty && pidsMax == nil && maxOutputMB == nil }

    public var maxOutputBytes: UInt64? { maxOutputMB.map { UInt64($0) * 1024 * 1024 } }

    public var memoryMaxBytes: Int64? { memoryMaxMB.map { Int64($0) * 1024 * 1024 } }

    /// The swap a memory-limited job may use: 0 unless memory_swap_max_mb allows some; nil
    /// without a memory limit (then swap is not ours to limit either).
    public var swapMaxBytes: Int64? {
        guard memoryMaxMB != nil else { return nil }
        return Int64(memorySwapMaxMB ?? 0) * 1024 * 1024
    }

    /// The wire form (DESIGN.md): {cpu_max, cpu_weight, memory_max_mb, io_max, pids_max}.
    public var wire: WireConstraints {
        WireConstraints(
            cpuMax: cpuMax?.wireValue, cpuWeight: cpuWeight, memoryMaxMB: memoryMaxMB, memorySwapMaxMB: memorySwapMaxMB,
            ioMax: ioMax.isEmpty ? nil : ioMax.map(\.wireValue).joined(separator: "\n"), pidsMax: pidsMax, maxOutputMB: maxOutputMB)
    }
}

/// Constraints as they travel in JSON: strings where the kernel's own syntax is the clearest form.
public struct WireConstraints: Codable, Equatable, Sendable {
    public var cpuMax: String?
    public var cpuWeight: Int?
    public var memoryMaxMB: Int?
    public var memorySwapMaxMB: Int?
    public var ioMax: String?
    public var pidsMax: Int?
    public var maxOutputMB: Int?

    public init(cpuMax: String? = nil, cpuWeight: Int? = nil, memoryMaxMB: Int? = nil, memorySwapMaxMB: Int? = nil, ioMax: String? = nil,
                pidsMax: Int? = nil, maxOutputMB: Int? = nil) {
        self.cpuMax = cpuMax
        self.cpuWeight = cpuWeight
        self.memoryMaxMB = memoryMaxMB
        self.memorySwapMaxMB = memorySwapMaxMB
        self.ioMax = ioMax
        self.pidsMax = pidsMax
        self.maxOutputMB = maxOutputMB
    }

    enum CodingKeys: String, CodingKey {
        case cpuMax = "cpu_max", cpuWeight = "cpu_weight", memoryMaxMB = "memory_max_mb", memorySwapMaxMB = "memory_swap_max_mb"
        case ioMax = "io_max", pidsMax = "pids_max"
        case maxOutputMB = "max_output_mb"
    }
}

extension WireConstraints {
    /// The limits in one line ("cpu.max=50000 100000 memory=256MB"), "none" when there are none:
    /// what the console, the agent's log and the audit log say a job or an adoption got.
    public var summary: String {
        var parts: [String] = []
        if let v = cpuMax { parts.append("cpu.max=\(v)") }
        if let v = cpuWeight { parts.append("cpu.weight=\(v)") }
        if let v = memoryMaxMB { parts.append("memory=\(v)MB") }
        if let v = memorySwapMaxMB { parts.append("swap=\(v)MB") }
        if let io = ioMax, !io.isEmpty { parts.append("io=" + io) }
        if let v = pidsMax { parts.append("pids=\(v)") }
        if let v = maxOutputMB { parts.append("output=\(v)MB") }
        return parts.isEmpty ? "none" : parts.joined(separator: " ")
    }
}
