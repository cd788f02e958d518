import FFRTMPMaster
import FFRTMPModel
import FFRTMPWire
import Foundation
import Logging
import XCTest
import FFRTMPTestSupport

/// The one store suite every JobStore must pass. Each scenario gets a fresh, empty store.
enum StoreSuite {
    typealias Scenario = (String, @Sendable (JobStore) async throws -> Void)

    static let scenarios: [Scenario] = [
        ("wrapperFieldsRoundTrip", wrapperFieldsRoundTrip),
        ("duplicateIdsConflict", duplicateIdsConflict),
        ("dispatchIsFIFOAndCountsAttempts", dispatchIsFIFOAndCountsAttempts),
        ("cancelQueuedAndRunning", cancelQueuedAndRunning),
        ("resultsAreIdempotentAndChecked", resultsAreIdempotentAndChecked),
        ("lostNodesMakeJobsUnknownUntilReconciled", lostNodesMakeJobsUnknownUntilReconciled),
        ("listFiltersAndStats", listFiltersAndStats),
        ("badIdsAreRejected", badIdsAreRejected),
        ("nodeKeysAddListRevoke", nodeKeysAddListRevoke),
    ]

    static func nodeKeysAddListRevoke(_ s: JobStore) async throws {
        await eq(try await s.nodeKeys(), [])
        let a = try await s.addNodeKey(nodeID: "edge-a")
        XCTAssertTrue(a.hasPrefix(NodeKeys.prefix), a)
        XCTAssertEqual(a.count, NodeKeys.prefix.count + 64, "32 random bytes, hex")
        let b = try await s.addNodeKey(nodeID: "edge-b")
        XCTAssertNotEqual(a, b)
        await eq(try await s.node(forKeyHash: NodeKeys.hash(a)), "edge-a")
        await eq(try await s.node(forKeyHash: NodeKeys.hash(b)), "edge-b")
        await eq(try await s.node(forKeyHash: NodeKeys.hash("ffrtmp_node_nope")), nil)
        await eq(try await s.node(forKeyHash: a), nil, "the key itself is not stored, only its hash")
        await assertThrows(WireError.conflict(reason: "node \"edge-a\" already has a live key; to rotate it: `ffrtmp-master nodes revoke edge-a`, then `ffrtmp-master nodes add edge-a`")) {
            _ = try await s.addNodeKey(nodeID: "edge-a")
        }
        await eq(try await s.node(forKeyHash: NodeKeys.hash(a)), "edge-a", "a refused add leaves the live key alone")
        try await s.revokeNodeKey(nodeID: "edge-a")
        await eq(try await s.node(forKeyHash: NodeKeys.hash(a)), nil, "a revoked key is unknown")
        await assertThrows(WireError.notFound(what: "live key for node", id: "edge-a")) { try await s.revokeNodeKey(nodeID: "edge-a") }
        let list = try await s.nodeKeys()
        XCTAssertEqual(list.map(\.nodeID), ["edge-a", "edge-b"])
        XCTAssertNotNil(list[0].revokedMs)
        XCTAssertNil(list[1].revokedMs)
        XCTAssertGreaterThan(list[1].createdMs, 1_600_000_000_000)
        let a2 = try await s.addNodeKey(nodeID: "edge-a")
        await eq(try await s.node(forKeyHash: NodeKeys.hash(a2)), "edge-a", "rotate = revoke, then add")
        await eq(try await s.node(forKeyHash: NodeKeys.hash(a)), nil, "the old key stays dead after the rotation")
        await eq(try await s.nodeKeys().first?.revokedMs, nil)
        await assertThrowsField("node_id") { _ = try await s.addNodeKey(nodeID: "../x") }
        await assertThrows(WireError.notFound(what: "live key for node", id: "edge-c")) { try await s.revokeNodeKey(nodeID: "edge-c") }
    }

    static func wrapperFieldsRoundTrip(_ s: JobStore) async throws {
        let old = try await s.create(NewJob(id: "old-job", engine: .ffmpeg, parameters: .object(["input": .string("testsrc")])))
        XCTAssertNil(old.wrapperEnabled, "a missing wrapper_enabled must stay missing")
        XCTAssertNil(old.wrapperConstraints)
        let off = try await s.create(NewJob(id: "off-job", wrapperEnabled: false))
        XCTAssertEqual(off.wrapperEnabled, false)
        let on = try await s.create(NewJob(id: "on-job", wrapperEnabled: true,
                                           wrapperConstraints: WireConstraints(cpuMax: "50000 100000", memoryMaxMB: 512)))
        let back = try await s.job("on-job")
        XCTAssertEqual(back.wrapperEnabled, true)
        XCTAssertEqual(back.wrapperConstraints, WireConstraints(cpuMax: "50000 100000", memoryMaxMB: 512))
        XCTAssertEqual(back, on)
        await eq(try await s.job("old-job").parameters["input"], .string("testsrc"))
        XCTAssertEqual(back.status, .queued)
    }

    static func duplicateIdsConflict(_ s: JobStore) async throws {
        _ = try await s.create(NewJob(id: "dup"))
        await assertThrows(WireError.conflict(reason: "job \"dup\" already exists")) { _ = try await s.create(NewJob(id: "dup")) }
    }

    static func dispatchIsFIFOAndCountsAttempts(_ s: JobStore) async throws {
        await assertThrows(WireError.notFound(what: "node (register it first)", id: "n1")) { _ = try await s.dispatch(nodeID: "n1") }
        _ = try await s.register(NodeRegistration(nodeID: "n1"))
        let empty = try await s.dispatch(nodeID: "n1")
        XCTAssertNil(empty)
        for i in 0..<3 { _ = try await s.create(NewJob(id: "fifo-\(i)")); usleep(2000) }
        let a = try await s.dispatch(nodeID: "n1")
        XCTAssertEqual(a?.id, "fifo-0")
        XCTAssertEqual(a?.status, .assigned)
        XCTAssertEqual(a?.attempt, 1)
        XCTAssertEqual(a?.nodeID, "n1")
        let b = try await s.dispatch(nodeID: "n1")
        XCTAssertEqual(b?.id, "fifo-1")
    }

    static func cancelQueuedAndRunning(_ s: JobStore) async throws {
        _ = try await s.register(NodeRegistration(nodeID: "n1"))
        _ = try await s.create(NewJob(id: "q1"))
        await eq(try await s.cancel("q1").status, .canceled)
        await assertThrows(WireError.invalidTransition(job: "q1", from: .canceled, to: .canceled)) { _ = try await s.cancel("q1") }
        _ = try await s.create(NewJob(id: "r1"))
        _ = try await s.dispatch(nodeID: "n1")
        await eq(try await s.heartbeat(nodeID: "n1", Heartbeat(runningJobs: ["r1"])).cancel, [])
        await eq(try await s.job("r1").status, .running)
        let c = try await s.cancel("r1")
        XCTAssertEqual(c.status, .running, "a job on a node ends when the node reports it")
        XCTAssertTrue(c.cancelRequested)
        await eq(try await s.heartbeat(nodeID: "n1", Heartbeat(runningJobs: ["r1"])).cancel, ["r1"])
        _ = try await s.record(JobResultReport(jobID: "r1", attempt: 1, nodeID: "n1", status: .canceled, platformSLA: true, platformSLAReason: "operator_cancel"))
        await eq(try await s.heartbeat(nodeID: "n1", Heartbeat(runningJobs: [])).cancel, [])
    }

    static func resultsAreIdempotentAndChecked(_ s: JobStore) async throws {
        _ = try await s.register(NodeRegistration(nodeID: "n1"))
        _ = try await s.register(NodeRegistration(nodeID: "n2"))
        _ = try await s.create(NewJob(id: "j1"))
        let queuedReport = JobResultReport(jobID: "j1", attempt: 1, nodeID: "n1", status: .completed)
        await assertThrows(WireError.conflict(reason: "result for attempt 1 of job \"j1\", whose current attempt is 0")) { _ = try await s.record(queuedReport) }
        _ = try await s.dispatch(nodeID: "n1")
        await assertThrows(WireError.conflict(reason: "job \"j1\" is assigned to n1, not n2")) {
            _ = try await s.record(JobResultReport(jobID: "j1", attempt: 1, nodeID: "n2", status: .completed))
        }
        let rep = JobResultReport(jobID: "j1", attempt: 1, nodeID: "n1", status: .completed, platformSLA: true, platformSLAReason: "success",
                                  metrics: .object(["exit_code": .number(0), "wrapper_enabled": .bool(true)]))
        let first = try await s.record(rep)
        XCTAssertFalse(first.duplicate)
        XCTAssertEqual(first.job.status, .completed)
        XCTAssertEqual(first.job.platformSLA, true)
        XCTAssertEqual(first.job.result?["metrics"]?["exit_code"], .number(0))
        let again = try await s.record(rep)
        XCTAssertTrue(again.duplicate)
        XCTAssertEqual(again.job, first.job)
        await assertThrows(WireError.notFound(what: "job", id: "nope")) {
            _ = try await s.record(JobResultReport(jobID: "nope", attempt: 1, nodeID: "n1", status: .failed))
        }
        _ = try await s.create(NewJob(id: "j2"))
        _ = try await s.dispatch(nodeID: "n1")
        _ = try await s.record(JobResultReport(jobID: "j2", attempt: 1, nodeID: "n1", status: .failed, platformSLA: false, platformSLAReason: "outcome_lost"))
        let st = try await s.stats()
        XCTAssertEqual(st.slaTotal, 2)
        XCTAssertEqual(st.slaCompliant, 1)
        XCTAssertEqual(st.slaUptime, 0.5)
    }

    static func lostNodesMakeJobsUnknownUntilReconciled(_ s: JobStore) async throws {
        _ = try await s.register(NodeRegistration(nodeID: "edge1"))
        _ = try await s.create(NewJob(id: "live"))
        _ = try await s.dispatch(nodeID: "edge1")
        _ = try await s.heartbeat(nodeID: "edge1", Heartbeat(runningJobs: ["live"]))
        usleep(50_000)
        let swept = try await s.sweep(lostAfterSeconds: 0.01)
        XCTAssertEqual(swept.nodes, 1)
        XCTAssertEqual(swept.jobs, 1)
        await eq(try await s.job("live").status, .unknown, "not requeued: the edge job keeps running")
        await eq(try await s.nodes().first?.status, .lost)
        let again = try await s.list(status: .queued, nodeID: nil, limit: 10)
        XCTAssertEqual(again.count, 0)
        _ = try await s.register(NodeRegistration(nodeID: "edge1", runningJobs: ["live"]))
        await eq(try await s.job("live").status, .running)
        await eq(try await s.nodes().first?.status, .online)
    }

    static func listFiltersAndStats(_ s: JobStore) async throws {
        _ = try await s.register(NodeRegistration(nodeID: "n1"))
        for i in 0..<5 { _ = try await s.create(NewJob(id: "l\(i)")) }
        _ = try await s.dispatch(nodeID: "n1")
        await eq(try await s.list(status: .queued, nodeID: nil, limit: 100).count, 4)
        await eq(try await s.list(status: nil, nodeID: "n1", limit: 100).map(\.status), [.assigned])
        await eq(try await s.list(status: nil, nodeID: nil, limit: 2).count, 2)
        let st = try await s.stats()
        XCTAssertEqual(st.jobsByStatus[.queued], 4)
        XCTAssertEqual(st.jobsByStatus[.assigned], 1)
        XCTAssertEqual(st.nodesByStatus[.online], 1)
    }

    static func badIdsAreRejected(_ s: JobStore) async throws {
        for bad in ["../x", "", ".h", "a b"] {
            await assertThrowsField("id") { _ = try await s.job(bad) }
            await assertThrowsField("id") { _ = try await s.create(NewJob(id: bad)) }
        }
        await assertThrowsField("node_id") { _ = try await s.register(NodeRegistration(nodeID: "../n")) }
        await assertThrowsField("wrapper_constraints") { _ = try await s.create(NewJob(wrapperConstraints: WireConstraints(cpuMax: "5"))) }
    }

    static func assertThrows(_ expected: WireError, file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> Void) async {
        do {
            try await body()
            XCTFail("expected \(expected)", file: file, line: line)
        } catch let e as WireError {
            XCTAssertEqual(e, expected, file: file, line: line)
        } catch {
            XCTFail("expected \(expected), got \(error)", file: file, line: line)
        }
    }

    static func assertThrowsField(_ field: String, file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> Void) async {
        do {
            try await body()
            XCTFail("expected a rejection naming \(field)", file: file, line: line)
        } catch let WireError.invalidField(f, _) {
            XCTAssertEqual(f, field, file: file, line: line)
        } catch {
            XCTFail("expected invalid \(field), got \(error)", file: file, line: line)
        }
    }
}

final class SQLiteStoreTests: XCTestCase {
    func testStoreSuite() async throws {
        for (_, scenario) in StoreSuite.scenarios {
            let dir = try TempDir()
            let store = try SQLiteJobStore(path: dir.path + "/master.db")
            try await store.migrate()
            try await scenario(store)
            await store.close()
        }
    }
}

final class PostgresStoreTests: XCTestCase {
    func testStoreSuite() async throws {
        guard let url = ProcessInfo.processInfo.environment["FFRTMP_TEST_POSTGRES_URL"] else {
            throw XCTSkip("skipped: set FFRTMP_TEST_POSTGRES_URL (scripts/test.sh starts a PostgreSQL on loopback)")
        }
        for (_, scenario) in StoreSuite.scenarios {
            let store = try await PGFixture.freshStore(url: url)
            try await scenario(store)
            await store.close()
        }
    }
}

enum PGFixture {
    /// Empties the shared test database so each scenario starts clean.
    static func freshStore(url: String) async throws -> PostgresJobStore {
        let store = try PostgresJobStore(url: url, logger: Logger(label: "test"))
        try await store.migrate()
        try await store.truncateForTests()
        return store
    }
}


