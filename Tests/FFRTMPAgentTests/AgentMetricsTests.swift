@testable import FFRTMPAgent
import FFRTMPCore
import XCTest

/// The per-job series of the agent's /metrics, read back from the registry's text exposition.
final class AgentMetricsTests: XCTestCase {
    func exposition(_ m: AgentMetrics) -> String { m.registry.emitToString() }

    func testPerJobPressureOnV2AndNoneOnV1AndGoneWhenTheJobEnds() {
        let m = AgentMetrics()
        var v1 = CgroupUsage()
        v1.memoryCurrentBytes = 1 << 20
        m.usage(job: "job-v1", v1)
        var v2 = CgroupUsage()
        v2.memoryCurrentBytes = 2 << 20
        v2.pressure = CgroupPressure(cpuSomeAvg10: 63.5, memorySomeAvg10: 0, ioSomeAvg10: nil)
        m.usage(job: "job-v2", v2)
        let text = exposition(m)
        XCTAssertTrue(text.contains(#"ffrtmp_job_pressure_some_avg10_percent{job_id="job-v2",resource="cpu"} 63.5"#), text)
        XCTAssertTrue(text.contains(#"ffrtmp_job_pressure_some_avg10_percent{job_id="job-v2",resource="memory"} 0"#), text)
        XCTAssertFalse(text.contains(#"job_id="job-v1",resource"#), "no pressure series without PSI (v1)")
        m.forget(job: "job-v2")
        XCTAssertFalse(exposition(m).contains("job-v2"), "a finished job's series are gone")
    }
}
