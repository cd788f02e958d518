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
        ("leasedDispatchIsExactlyOnce", leasedDispatchIsExactlyOnce),
        ("releaseAndCancelBeforeStart", releaseAndCancelBeforeStart),
        ("oneLiveInstancePerNodeID", oneLiveInstancePerNodeID),
        ("listServesStoredJSONAsStored", listServesStoredJSONAsStored),
        ("heartbeatSaysWhenWorkIsQueued", heartbeatSaysWhenWorkIsQueued),
    ]

    /// A heartbeat reply's work_queued (which ends a node's idle poll wait) is true exactly while
    /// a job is queued; the online count (which sets the idle pace) follows register and sweep.
    static func heartbeatSaysWhenWorkIsQueued(_ s: JobStore) async throws {
        await eq(try await s.onlineNodeCount(), 0)
        _ = try await s.register(NodeRegistration(nodeID: "wq"))
        await eq(try await s.onlineNodeCount(), 1)
        await eq(try await s.heartbeat(nodeID: "wq", Heartbeat(runningJobs: [])).workQueued, false)
        _ = try await s.create(NewJob(id: "wq-1"))
        await eq(try await s.heartbeat(nodeID: "wq", Heartbeat(runningJobs: [])).workQueued, true)
        await eq(try await s.claim(nodeID: "wq", requestID: "q", max: 4, leaseMs: 60_000).map(\.id), ["wq-1"])
        let beat = try await s.heartbeat(nodeID: "wq", Heartbeat(runningJobs: ["wq-1"], attempts: ["wq-1": 1]))
        XCTAssertEqual(beat, HeartbeatReply(cancel: [], workQueued: false))
        await eq(try await s.job("wq-1").status, .running)
        usleep(20_000)
        _ = try await s.sweep(lostAfterSeconds: 0.001)
        await eq(try await s.onlineNodeCount(), 0)
    }

    /// A poll's request id, repeated after a lost answer, gets the same jobs (lease renewed) and
    /// claims nothing new; an unacknowledged lease requeues the job as the next attempt, whose
    /// result alone lands; a heartbeat naming the current attempt acknowledges it, a stale one does not.
    static func leasedDispatchIsExactlyOnce(_ s: JobStore) async throws {
        for i in 1...5 { _ = try await s.create(NewJob(id: "L\(i)")) }
        _ = try await s.register(NodeRegistration(nodeID: "na"))
        _ = try await s.register(NodeRegistration(nodeID: "nb"))
        let first = try await s.claim(nodeID: "na", requestID: "r1", max: 3, leaseMs: 60_000)
        XCTAssertEqual(first.map(\.id), ["L1", "L2", "L3"], "up to max, oldest first")
        XCTAssertEqual(Set(first.map(\.attempt)), [1])
        let again = try await s.claim(nodeID: "na", requestID: "r1", max: 3, leaseMs: 60_000)
        XCTAssertEqual(again.map(\.id), ["L1", "L2", "L3"], "the same request id returns the same assignment")
        XCTAssertEqual(Set(again.map(\.attempt)), [1], "not a new attempt")
        await eq(try await s.claim(nodeID: "nb", requestID: "r1", max: 5, leaseMs: 60_000).map(\.id), ["L4", "L5"],
                 "another node's request id is its own")
        await eq(try await s.claim(nodeID: "na", requestID: "r2", max: 5, leaseMs: 60_000).map(\.id), [], "nothing left")
        await eq(try await s.expireLeases(), [], "no lease has ended")
        // na acknowledges L1 (attempt 1); L2 and L3 it never starts.
        _ = try await s.heartbeat(nodeID: "na", Heartbeat(runningJobs: ["L1", "L2"], attempts: ["L1": 1, "L2": 7]))
        await eq(try await s.job("L1").status, .running)
        await eq(try await s.job("L2").status, .assigned, "a listing of another attempt acknowledges nothing")
        // Shorten the leases of what is still assigned by re-polling with a 0 ms lease.
        _ = try await s.claim(nodeID: "na", requestID: "r1", max: 3, leaseMs: -1)
        _ = try await s.claim(nodeID: "nb", requestID: "r1", max: 5, leaseMs: -1)
        await eq(Set(try await s.expireLeases()), ["L2", "L3", "L4", "L5"])
        await eq(try await s.job("L2").status, .queued)
        await eq(try await s.job("L2").nodeID, nil)
        await eq(try await s.job("L1").status, .running, "a started job is never requeued")
        // A request id whose jobs were requeued holds nothing: it claims afresh, as new attempts.
        let second = try await s.claim(nodeID: "nb", requestID: "r1", max: 2, leaseMs: 60_000)
        XCTAssertEqual(second.map(\.id), ["L2", "L3"])
        XCTAssertEqual(Set(second.map(\.attempt)), [2], "the requeued job is attempt 2")
        await assertThrows(WireError.conflict(reason: "result for attempt 1 of job \"L2\", whose current attempt is 2")) {
            _ = try await s.record(JobResultReport(jobID: "L2", attempt: 1, nodeID: "na", status: .completed))
        }
        _ = try await s.heartbeat(nodeID: "nb", Heartbeat(runningJobs: ["L2"], attempts: ["L2": 2]))
        let (done, dup) = try await s.record(JobResultReport(jobID: "L2", attempt: 2, nodeID: "nb", status: .completed))
        XCTAssertFalse(dup)
        XCTAssertEqual(done.status, .completed)
        XCTAssertEqual(done.attempt, 2)
    }

    static func releaseAndCancelBeforeStart(_ s: JobStore) async throws {
        for i in 1...3 { _ = try await s.create(NewJob(id: "R\(i)")) }
        _ = try await s.register(NodeRegistration(nodeID: "na"))
        _ = try await s.register(NodeRegistration(nodeID: "nb"))
        _ = try await s.claim(nodeID: "na", requestID: "q1", max: 3, leaseMs: 60_000)
        await assertThrows(WireError.conflict(reason: "job \"R1\" attempt 1 is not an unstarted assignment of node nb (it is assigned, attempt 1, node na)")) {
            _ = try await s.release(nodeID: "nb", JobRelease(jobID: "R1", attempt: 1, reason: nil))
        }
        let back = try await s.release(nodeID: "na", JobRelease(jobID: "R1", attempt: 1, reason: "state dir full"))
        XCTAssertEqual(back.status, .queued)
        await assertThrows(WireError.conflict(reason: "job \"R1\" attempt 1 is not an unstarted assignment of node na (it is queued, attempt 1, node none)")) {
            _ = try await s.release(nodeID: "na", JobRelease(jobID: "R1", attempt: 1, reason: nil))
        }
        _ = try await s.heartbeat(nodeID: "na", Heartbeat(runningJobs: ["R2"]))
        await assertThrowsField("attempt") { _ = try await s.release(nodeID: "na", JobRelease(jobID: "R2", attempt: 0, reason: nil)) }
        await assertThrows(WireError.conflict(reason: "job \"R2\" attempt 1 is not an unstarted assignment of node na (it is running, attempt 1, node na)")) {
            _ = try await s.release(nodeID: "na", JobRelease(jobID: "R2", attempt: 1, reason: nil))
        }
        // A cancel of an assignment that never started ends it when its lease does.
        _ = try await s.cancel("R3")
        _ = try await s.claim(nodeID: "na", requestID: "q1", max: 3, leaseMs: -1)
        await eq(try await s.expireLeases(), ["R3"])
        let r3 = try await s.job("R3")
        XCTAssertEqual(r3.status, .canceled)
        XCTAssertEqual(r3.failureReason, "canceled before it started (lease ended)")
    }

    /// A second instance of one node id is refused while the first is live, naming both hosts;
    /// the first's heartbeats go on; once it is silent past the window the second may take over.
    static func oneLiveInstancePerNodeID(_ s: JobStore) async throws {
        _ = try await s.register(NodeRegistration(nodeID: "clone", hostname: "box-1", instanceID: "aaaaaaaaaaaa"), liveWithinMs: 60_000)
        _ = try await s.register(NodeRegistration(nodeID: "clone", hostname: "box-1", instanceID: "aaaaaaaaaaaa"), liveWithinMs: 60_000)
        do {
            _ = try await s.register(NodeRegistration(nodeID: "clone", hostname: "box-2", instanceID: "bbbbbbbbbbbb"), liveWithinMs: 60_000)
            XCTFail("a second live instance was registered")
        } catch let WireError.conflict(reason) {
            XCTAssertTrue(reason.contains("already live on host box-1"), reason)
            XCTAssertTrue(reason.contains("this agent runs on host box-2"), reason)
        }
        _ = try await s.heartbeat(nodeID: "clone", Heartbeat(runningJobs: [], instanceID: "aaaaaaaaaaaa"))
        await assertThrows(WireError.conflict(reason: "node id \"clone\" is registered by another agent instance (host box-1): register again")) {
            _ = try await s.heartbeat(nodeID: "clone", Heartbeat(runningJobs: [], instanceID: "bbbbbbbbbbbb"))
        }
        await eq(try await s.nodes().first?.hostname, "box-1", "the refused one changed nothing")
        // The renamed box: a node id registered by the same instance may act for the old one.
        _ = try await s.register(NodeRegistration(nodeID: "renamed", hostname: "box-1", instanceID: "aaaaaaaaaaaa"))
        await eq(try await s.sameInstance("renamed", "clone"), true)
        _ = try await s.register(NodeRegistration(nodeID: "other", instanceID: "cccccccccccc"))
        await eq(try await s.sameInstance("other", "clone"), false)
        await eq(try await s.sameInstance("other", "nobody"), false)
        // Silent past the window (here 0 ms): the newcomer takes over.
        try await Task.sleep(for: .milliseconds(5))
        _ = try await s.register(NodeRegistration(nodeID: "clone", hostname: "box-2", instanceID: "bbbbbbbbbbbb"), liveWithinMs: 1)
        await eq(try await s.sameInstance("renamed", "clone"), false)
        await assertThrowsField("instance_id") { _ = try await s.register(NodeRegistration(nodeID: "x", instanceID: "short")) }
        await assertThrowsField("hostname") { _ = try await s.register(NodeRegistration(nodeID: "x", hostname: "a\nb")) }
    }

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
        _ = try await s.create(NewJob(id: "before-n1"))
        await assertThrows(WireError.notFound(what: "node (register it first)", id: "n1")) { _ = try await s.dispatch(nodeID: "n1") }
        await assertThrows(WireError.notFound(what: "node (register it first)", id: "n1")) { _ = try await s.claim(nodeID: "n1", requestID: "r", max: 4, leaseMs: 1000) }
        await assertThrows(WireError.notFound(what: "node (register it first)", id: "n1")) { _ = try await s.heartbeat(nodeID: "n1", Heartbeat(runningJobs: ["before-n1"])) }
        await eq(try await s.job("before-n1").status, .queued, "an unregistered node takes and acknowledges nothing")
        _ = try await s.cancel("before-n1")
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

extension PostgresStoreTests {
    /// The heartbeat, the poll, the node-key lookup and a result's read find their rows
    /// through the indexes built for them, in the generic plan a connection caches, however the
    /// table statistics are skewed: so their cost does not grow with the jobs the store holds.
    /// Two skews: many assigned and finished jobs with a short queue, then a long queue.
    func testHotPathsUseIndexesOnly() async throws {
        guard let url = ProcessInfo.processInfo.environment["FFRTMP_TEST_POSTGRES_URL"] else {
            throw XCTSkip("skipped: set FFRTMP_TEST_POSTGRES_URL (scripts/test.sh starts a PostgreSQL on loopback)")
        }
        let store = try await PGFixture.freshStore(url: url)
        let job = "INSERT INTO jobs (id, engine, parameters, status, attempt, cancel_requested, created_ms, updated_ms, node_id) SELECT"
        try await store.executeForTests([
            "INSERT INTO nodes (id, status, registered_ms, last_seen_ms, running_jobs) SELECT 'pn-' || g, 'online', 0, 0, '[]' FROM generate_series(0, 499) g",
            "\(job) 'done-' || g, 'ffmpeg', '{}', 'completed', 1, false, g, g, 'pn-' || (g % 500) FROM generate_series(1, 6000) g",
            "\(job) 'out-' || g, 'ffmpeg', '{}', 'assigned', 1, false, g, g, 'pn-' || (g % 500) FROM generate_series(1, 3000) g",
            "\(job) 'wait-' || g, 'ffmpeg', '{}', 'queued', 0, false, g, g, NULL FROM generate_series(1, 5) g",
            "INSERT INTO node_keys (node_id, key_hash, created_ms) SELECT 'pn-' || g, 'hash-' || g, 0 FROM generate_series(0, 499) g",
            "INSERT INTO results (job_id, attempt, received_ms, body) SELECT 'done-' || g, 1, g, '{}' FROM generate_series(1, 6000) g",
            "ANALYZE",
        ])
        let skewed = try await store.hotPathPlans()
        try await store.executeForTests([
            "\(job) 'more-' || g, 'ffmpeg', '{}', 'queued', 0, false, 10000 + g, 10000 + g, NULL FROM generate_series(1, 30000) g",
            "ANALYZE",
        ])
        let deep = try await store.hotPathPlans()
        try await store.truncateForTests()
        await store.close()
        for (skew, plans) in [("short queue", skewed), ("long queue", deep)] {
            XCTAssertEqual(Set(plans.keys), ["claim", "heartbeat", "node key", "result"])
            for (name, plan) in plans {
                XCTAssertFalse(plan.contains("Seq Scan on jobs") || plan.contains("Seq Scan on node_keys") || plan.contains("Seq Scan on results"),
                               "\(skew): \(name) scans a table:\n\(plan)")
            }
            let claim = plans["claim"] ?? "", beat = plans["heartbeat"] ?? ""
            XCTAssertTrue(claim.contains("jobs_queued"), "\(skew): the claim takes the queue's head from its index:\n\(claim)")
            XCTAssertTrue(beat.contains("jobs_pkey"), "\(skew): the heartbeat reads its running jobs by id:\n\(beat)")
            XCTAssertTrue(beat.contains("jobs_cancel"), "\(skew): and its cancels from their index:\n\(beat)")
            XCTAssertTrue(beat.contains("Index Only Scan using jobs_queue"), "\(skew): and work_queued from a queue index:\n\(beat)")
            XCTAssertFalse(beat.contains("Index Cond: (status = ANY"), "\(skew): never every assigned job of the store:\n\(beat)")
            XCTAssertTrue(plans["node key"]?.contains("node_keys_key_hash_key") == true, "\(skew): \(plans["node key"] ?? "")")
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


