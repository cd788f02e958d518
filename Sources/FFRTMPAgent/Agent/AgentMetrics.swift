import FFRTMPCore
import FFRTMPWire
import Prometheus

/// The agent's Prometheus metrics (swift-prometheus registry, text exposition).
public final class AgentMetrics: @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    let active: Gauge
    let uptime: Gauge
    let outbox: Gauge
    let heartbeatFailures: Counter
    let slaCompliant: Counter
    let slaViolated: Counter
    let oomKills: Counter
    let rejected: Counter
    let autoAttached: Counter
    let autoAttachRefused: Counter
    /// One series per journal state, always present (0 when none), so an alert on
    /// `ffrtmp_jobs{state="lost"} > 0` never depends on a series appearing first.
    let jobsByState: [String: Gauge]
    /// A job directory whose spec cannot be read (corrupt, or not written yet).
    static let unreadable = "unreadable"
    var compliant = 0.0, total = 0.0
    var perJob: [String: (cpu: Gauge, mem: Gauge, throttled: Gauge)] = [:]
    var perJobPressure: [String: [Gauge]] = [:]

    public init() {
        active = registry.makeGauge(name: "ffrtmp_active_jobs", help: "Jobs this agent is running now.")
        uptime = registry.makeGauge(name: "ffrtmp_platform_sla_uptime_ratio", help: "Platform-SLA-compliant jobs over all finished jobs (1 when none).")
        outbox = registry.makeGauge(name: "ffrtmp_outbox_depth", help: "Results waiting to be delivered to the master.")
        heartbeatFailures = registry.makeCounter(name: "ffrtmp_heartbeat_failures_total", help: "Heartbeats (and registrations) the master did not take.")
        slaCompliant = registry.makeCounter(name: "ffrtmp_platform_sla_total", labels: [("compliant", "true")], help: "Finished jobs by platform SLA verdict.")
        slaViolated = registry.makeCounter(name: "ffrtmp_platform_sla_total", labels: [("compliant", "false")], help: "Finished jobs by platform SLA verdict.")
        oomKills = registry.makeCounter(name: "ffrtmp_oom_kills_total", help: "Jobs that had an OOM kill under their own memory limit.")
        rejected = registry.makeCounter(name: "ffrtmp_results_rejected_total", help: "Results the master refused for good (kept in outbox/rejected).")
        autoAttached = registry.makeCounter(name: "ffrtmp_auto_attached_total", help: "Process groups auto-attach adopted (AUTO_ATTACH=true).")
        autoAttachRefused = registry.makeCounter(name: "ffrtmp_auto_attach_refused_total",
                                                 help: "Process groups auto-attach refused for good: by its settings, or an adoption that failed.")
        let reg = registry
        jobsByState = Dictionary(uniqueKeysWithValues: (JobState.allCases.map(\.rawValue) + [Self.unreadable]).map { state in
            (state, reg.makeGauge(name: "ffrtmp_jobs", labels: [("state", state)],
                                  help: "Jobs in this node's journal by state, whoever started them (agent, ffrtmp run, attach)."))
        })
        uptime.set(1.0 as Double)
    }

    func journal(_ counts: [String: Int]) {
        for (state, gauge) in jobsByState { gauge.set(Double(counts[state] ?? 0)) }
    }

    func started(_ path: ExecutionPath) {
        registry.makeCounter(name: "ffrtmp_jobs_started_total", labels: [("mode", path.rawValue)], help: "Jobs started, by mode.").increment()
    }

    func finished(_ path: ExecutionPath, _ r: JobResultReport, oom: Bool) {
        registry.makeCounter(name: "ffrtmp_jobs_finished_total", labels: [("mode", path.rawValue), ("outcome", r.status.rawValue)],
                             help: "Jobs finished, by mode and outcome.").increment()
        total += 1
        if r.platformSLA == false { slaViolated.increment() } else { slaCompliant.increment(); compliant += 1 }
        uptime.set(compliant / total)
        if oom { oomKills.increment() }
    }

    func usage(job: String, _ u: CgroupUsage) {
        let g = perJob[job] ?? (registry.makeGauge(name: "ffrtmp_job_cpu_seconds", labels: [("job_id", job)], help: "CPU time used by a running job."),
                                registry.makeGauge(name: "ffrtmp_job_memory_bytes", labels: [("job_id", job)], help: "Memory in use by a running job."),
                                registry.makeGauge(name: "ffrtmp_job_throttled_seconds", labels: [("job_id", job)], help: "Time a running job was CPU-throttled."))
        perJob[job] = g
        if let c = u.cpuUsageNanoseconds { g.cpu.set(Double(c) / 1e9) }
        if let m = u.memoryCurrentBytes { g.mem.set(Double(m)) }
        if let t = u.cpuThrottledNanoseconds { g.throttled.set(Double(t) / 1e9) }
        // Per-job PSI (cgroup v2 only): the share of the last 10 s the job stalled on each resource.
        if let p = u.pressure {
            let gauges = perJobPressure[job] ?? ["cpu", "memory", "io"].map {
                registry.makeGauge(name: "ffrtmp_job_pressure_some_avg10_percent", labels: [("job_id", job), ("resource", $0)],
                                   help: "Share of the last 10 s in which some task of a running job stalled on the resource (cgroup v2 PSI).")
            }
            perJobPressure[job] = gauges
            for (g, v) in zip(gauges, [p.cpuSomeAvg10, p.memorySomeAvg10, p.ioSomeAvg10]) { if let v { g.set(v) } }
        }
    }

    /// Per-job series go when the job ends, so the scrape never shows a finished job as live.
    func forget(job: String) {
        guard let g = perJob.removeValue(forKey: job) else { return }
        registry.unregisterGauge(g.cpu)
        registry.unregisterGauge(g.mem)
        registry.unregisterGauge(g.throttled)
        for p in perJobPressure.removeValue(forKey: job) ?? [] { registry.unregisterGauge(p) }
    }
}
