import FFRTMPCore
import FFRTMPWire

/// How a job runs: through the wrapper (shim, cgroup), the legacy way (a direct child),
/// or adopted while already running (attach).
public enum ExecutionPath: String, Codable, Sendable { case wrapper, legacy, attach }

/// Which path a job takes, and with which limits. The backward-compatibility table:
///
/// | job says            | node WRAPPER_ENABLED | path    |
/// |---------------------|----------------------|---------|
/// | nothing (old job)   | false (default)      | legacy  |
/// | nothing             | true                 | wrapper |
/// | false               | any                  | legacy  |
/// | true                | any                  | wrapper |
public enum JobRouting {
    public static func path(jobSays: Bool?, nodeDefault: Bool) -> ExecutionPath {
        (jobSays ?? nodeDefault) ? .wrapper : .legacy
    }

    /// The wrapper path's limits, field by field: the job's own `wrapper_constraints` first, then
    /// its legacy `resource_limits` (max_cpu_percent P → cpu_max "P*1000 100000", max_memory_mb
    /// carried over, max_disk_mb → max_output_mb), then the node's WRAPPER_DEFAULT_* for whatever is still unset.
    public static func constraints(explicit: WireConstraints?, legacy: LegacyLimits?, defaults: WireConstraints) -> WireConstraints {
        var c = explicit ?? WireConstraints()
        if c.cpuMax == nil, let p = legacy?.maxCPUPercent { c.cpuMax = "\(p * 1000) 100000" }
        if c.memoryMaxMB == nil, let m = legacy?.maxMemoryMB { c.memoryMaxMB = m }
        if c.maxOutputMB == nil, let d = legacy?.maxDiskMB { c.maxOutputMB = min(d, 1 << 30) }
        if c.cpuMax == nil { c.cpuMax = defaults.cpuMax }
        if c.cpuWeight == nil { c.cpuWeight = defaults.cpuWeight }
        if c.memoryMaxMB == nil { c.memoryMaxMB = defaults.memoryMaxMB }
        if c.memorySwapMaxMB == nil, c.memoryMaxMB == defaults.memoryMaxMB { c.memorySwapMaxMB = defaults.memorySwapMaxMB }
        if c.ioMax == nil { c.ioMax = defaults.ioMax }
        if c.maxOutputMB == nil { c.maxOutputMB = defaults.maxOutputMB }
        return c
    }
}
