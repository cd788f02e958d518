import ArgumentParser
import FFRTMPCLI
import FFRTMPCore

/// The resource limits a job gets; shared by run and attach.
struct LimitOptions: ParsableArguments {
    @Option(name: .customLong("cpu-max"), help: "CPU bandwidth as \"QUOTA PERIOD\" in microseconds (\"20000 100000\" = 20% of one core), \"max\" or \"max PERIOD\".")
    var cpuMax: String?

    @Option(name: .customLong("cpu-percent"), help: "CPU limit in percent of one core (200 = two cores). Alternative to --cpu-max.")
    var cpuPercent: Int?

    @Option(name: .customLong("cpu-weight"), help: "Relative CPU weight 1-10000 (default share 100; v1 cpu.shares = weight*1024/100).")
    var cpuWeight: Int?

    @Option(name: .customLong("memory-max-mb"), help: "Memory limit in MiB; the kernel OOM-kills the job above it.")
    var memoryMaxMB: Int?

    @Option(name: .customLong("memory-swap-max-mb"), help: "Swap the job may use on top of --memory-max-mb, in MiB (default 0: the memory limit bounds RAM plus swap).")
    var memorySwapMaxMB: Int?

    @Option(name: .customLong("io-max"), help: "Block IO limit \"MAJ:MIN rbps=N wbps=N riops=N wiops=N\" for an existing device; repeat for more devices.")
    var ioMax: [String] = []

    @Option(name: .customLong("pids-max"), help: "Maximum number of tasks in the job.")
    var pidsMax: Int?

    var wire: WireConstraints {
        WireConstraints(cpuMax: cpuMax, cpuWeight: cpuWeight, memoryMaxMB: memoryMaxMB, memorySwapMaxMB: memorySwapMaxMB,
                        ioMax: ioMax.isEmpty ? nil : ioMax.joined(separator: "\n"), pidsMax: pidsMax)
    }

    func constraints() throws -> Constraints {
        try ConstraintParser().parse(wire, cpuPercent: cpuPercent)
    }
}
