import ArgumentParser
import FFRTMPCLI
import FFRTMPCore

extension FFRTMP {
    struct Ps: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the jobs in the journal with their state, limits, live usage and SLA.",
            discussion: """
                States: running, starting, exited, killed (by an operator), failed (never started), \
                detached (attach handed it back), orphaned (supervisor gone, processes alive), lost \
                (supervisor gone without an exit record: the outcome is unknown, a platform fault).
                CPU% is measured over --interval; THR% is the share of CPU periods that were throttled.
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print a JSON array: each job's Result plus its usage.")
        var json = false

        @Option(help: "Seconds between the two usage samples that CPU% is computed from.")
        var interval: Double = 0.5

        func validate() throws {
            if !(interval >= 0 && interval <= 60) { throw ValidationError("--interval must be between 0 and 60 seconds") }
        }

        func run() throws {
            let inspector: JobInspector
            do { inspector = try global.inspector() } catch { throw fail(error, status: 1) }
            let sampler = UsageSampler(inspector: inspector)
            var problems: [String] = []
            let entries = sampler.sample(interval: interval, problems: &problems)
            for p in problems { Output.err("warning: \(p)") }
            if json {
                Output.out(Output.json(entries.map(PsEntry.init)))
                return
            }
            let rows = entries.map { e -> [String] in
                let r = e.status.map(\.result)
                let u = e.usage
                return [
                    e.jobID, r?.mode.rawValue ?? "?", r?.state ?? "unreadable", r?.pid.map(String.init) ?? "-",
                    e.status.map { Format.age($0.spec.createdAtUnixNs) } ?? "-",
                    Format.cpu(u), Format.memory(u), u?.throttledPercent.map { Format.pct($0) } ?? "-",
                    u?.oomKills.map(String.init) ?? r.map { $0.oomKilled ? "1" : "0" } ?? "-",
                    r.map { Format.sla($0) } ?? "?", Format.limits(r?.constraintsApplied),
                    // An unreadable record or a lost outcome says so here too, not only in --json.
                    r.map { $0.exitCode.map { "exit=\($0)" } ?? $0.signal ?? $0.error ?? "" } ?? (e.error ?? ""),
                ]
            }
            Output.out(Output.table(["JOB", "MODE", "STATE", "PID", "AGE", "CPU%/LIMIT", "MEM/LIMIT", "THR%", "OOM", "SLA", "LIMITS", "END"], rows))
        }
    }
}

struct PsEntry: Encodable {
    var entry: UsageSampler.Entry
    init(_ e: UsageSampler.Entry) { entry = e }

    enum Extra: String, CodingKey { case usage, ageSeconds = "age_seconds", journalError = "journal_error", jobID = "job_id" }

    func encode(to encoder: Encoder) throws {
        if let st = entry.status {
            try st.result.encode(to: encoder)
        } else {
            var c = encoder.container(keyedBy: Extra.self)
            try c.encode(entry.jobID, forKey: .jobID)
        }
        var c = encoder.container(keyedBy: Extra.self)
        try c.encode(entry.usage, forKey: .usage)
        try c.encode(entry.status.map { Double(Clock.realtimeNanoseconds() - $0.spec.createdAtUnixNs) / 1e9 }, forKey: .ageSeconds)
        try c.encode(entry.error, forKey: .journalError)
    }
}

enum Format {
    static func pct(_ v: Double) -> String { HumanUnits.percent(v) }
    static func age(_ createdNs: Int64) -> String { HumanUnits.age(Clock.realtimeNanoseconds() &- createdNs) }
    static func bytes(_ b: UInt64) -> String { HumanUnits.bytes(b) }

    static func cpu(_ u: UsageSampler.Usage?) -> String {
        guard let u, let p = u.cpuPercent else { return "-" }
        return pct(p) + "/" + (u.cpuLimitPercent.map(pct) ?? "max")
    }

    static func memory(_ u: UsageSampler.Usage?) -> String {
        guard let u, let cur = u.memoryCurrentBytes else { return "-" }
        // Swap in use shows beside RAM ("+12M swap"): both count against a memory limit.
        let swap = u.swapCurrentBytes.flatMap { $0 > 0 ? "+" + bytes($0) + "sw" : nil } ?? ""
        return bytes(cur) + swap + "/" + (u.memoryLimitBytes.map(bytes) ?? "max")
    }

    static func sla(_ r: JobResult) -> String {
        guard let s = r.platformSLA else { return "?" }
        return (s ? "ok" : "FAIL") + "(" + (r.platformSLAReason ?? "") + ")"
    }

    static func limits(_ c: WireConstraints?) -> String {
        guard let c else { return "-" }
        var parts: [String] = []
        if let v = c.cpuMax { parts.append("cpu=\(v.replacingSpaces())") }
        if let v = c.cpuWeight { parts.append("weight=\(v)") }
        if let v = c.memoryMaxMB { parts.append("mem=\(v)M") }
        if let v = c.memorySwapMaxMB, v > 0 { parts.append("swap=\(v)M") }
        if c.ioMax != nil { parts.append("io") }
        if let v = c.pidsMax { parts.append("pids=\(v)") }
        if let v = c.maxOutputMB { parts.append("out=\(v)M") }
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }
}

extension String {
    func replacingSpaces() -> String { String(map { $0 == " " ? "/" : $0 }) }
}
