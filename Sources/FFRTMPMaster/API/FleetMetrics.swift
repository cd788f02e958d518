import FFRTMPWire

/// Prometheus text exposition of the fleet: jobs by status, nodes by status, platform SLA.
/// Written out directly: a handful of gauges read from the store on each scrape, so there
/// is no registry state to keep consistent across several masters.
enum FleetMetrics {
    static func render(_ s: FleetStats, nowMs: Int64) -> String {
        var out = "# HELP ffrtmp_master_jobs Jobs in the store by status.\n# TYPE ffrtmp_master_jobs gauge\n"
        for st in MasterJobStatus.allCases {
            out += "ffrtmp_master_jobs{status=\"\(st.rawValue)\"} \(s.jobsByStatus[st] ?? 0)\n"
        }
        out += "# HELP ffrtmp_master_job_oldest_age_seconds Seconds since the longest-waiting job in this status last changed (0 when none): a job stuck assigned or unknown.\n"
        out += "# TYPE ffrtmp_master_job_oldest_age_seconds gauge\n"
        for st in [MasterJobStatus.assigned, .unknown] {
            let age = s.oldestChangeMs[st].map { max(0, Double(nowMs - $0) / 1000) } ?? 0
            out += "ffrtmp_master_job_oldest_age_seconds{status=\"\(st.rawValue)\"} \(age)\n"
        }
        out += "# HELP ffrtmp_master_nodes Nodes by liveness.\n# TYPE ffrtmp_master_nodes gauge\n"
        for st in [NodeStatus.online, .lost] {
            out += "ffrtmp_master_nodes{status=\"\(st.rawValue)\"} \(s.nodesByStatus[st] ?? 0)\n"
        }
        out += "# HELP ffrtmp_platform_sla_total Finished jobs with a platform SLA verdict.\n# TYPE ffrtmp_platform_sla_total gauge\n"
        out += "ffrtmp_platform_sla_total{compliant=\"true\"} \(s.slaCompliant)\n"
        out += "ffrtmp_platform_sla_total{compliant=\"false\"} \(s.slaTotal - s.slaCompliant)\n"
        out += "# HELP ffrtmp_platform_sla_uptime_ratio Compliant over total (1 when there are none).\n# TYPE ffrtmp_platform_sla_uptime_ratio gauge\n"
        out += "ffrtmp_platform_sla_uptime_ratio \(s.slaUptime)\n"
        return out
    }
}
