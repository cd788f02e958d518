import FFRTMPMaster
import FFRTMPWire
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
import FFRTMPTestSupport

/// The HTTP API in-process (Hummingbird's test client) over a real SQLite store.
final class APITests: XCTestCase {
    static let key = "test-key-0123456789abcdef"
    static var auth: HTTPFields { [.authorization: "Bearer \(Self.key)", .contentType: "application/json"] }

    /// The admin key calls the node routes here (the request shapes, not the roles, are under
    /// test), so the master runs with --allow-shared-node-key; NodeKeyAPITests tests the roles.
    func withApp(metricsAuth: Bool = false, idlePollRate: Double = 500, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let dir = try TempDir()
        let store = try SQLiteJobStore(path: dir.path + "/m.db")
        try await store.migrate()
        let app = Application(router: MasterAPI(store: store, apiKey: Self.key, allowSharedNodeKey: true, metricsNeedKey: metricsAuth,
                                                idlePollRate: idlePollRate).router())
        try await app.test(.router, body)
        await store.close()
        _ = dir
    }

    static func json(_ r: TestResponse) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any] ?? [:]
    }

    static func message(_ r: TestResponse) -> String {
        ((try? json(r))?["error"] as? [String: Any])?["message"] as? String ?? String(buffer: r.body)
    }

    func testUnauthenticatedRequestsAreRefusedExceptHealthAndMetrics() async throws {
        let auth = Self.auth
        try await withApp { c in
            let none = try await c.execute(uri: "/api/jobs", method: .get)
            XCTAssertEqual(none.status, .unauthorized)
            XCTAssertTrue(Self.message(none).contains("missing API key"))
            let wrong = try await c.execute(uri: "/api/jobs", method: .get, headers: [.authorization: "Bearer not-the-key-at-all-xx"])
            XCTAssertEqual(wrong.status, .unauthorized)
            XCTAssertTrue(Self.message(wrong).contains("wrong API key"))
            let basic = try await c.execute(uri: "/api/nodes", method: .get, headers: [.authorization: "Basic eDp5"])
            XCTAssertEqual(basic.status, .unauthorized)
            await eq(try await c.execute(uri: "/health", method: .get).status, .ok)
            let metrics = try await c.execute(uri: "/metrics", method: .get)
            XCTAssertEqual(metrics.status, .ok)
            XCTAssertTrue(String(buffer: metrics.body).contains("ffrtmp_platform_sla_uptime_ratio 1"))
            await eq(try await c.execute(uri: "/api/jobs", method: .get, headers: auth).status, .ok)
        }
        try await withApp(metricsAuth: true) { c in
            await eq(try await c.execute(uri: "/metrics", method: .get).status, .unauthorized)
            await eq(try await c.execute(uri: "/metrics", method: .get, headers: auth).status, .ok)
        }
    }

    /// --idle-poll-rate: an empty poll answer asks for (online nodes / rate) seconds, an answer
    /// with jobs asks for nothing, a heartbeat reply says whether work is queued, and /metrics
    /// counts both kinds of answer. With rate 0 no pace is asked.
    func testEmptyPollsArePacedByTheFleetSize() async throws {
        let auth = Self.auth
        let poll = Self.poll
        try await withApp(idlePollRate: 2) { c in
            for n in ["pa", "pb", "pc"] {
                let r = try await c.execute(uri: "/api/nodes/register", method: .post, headers: auth, body: ByteBuffer(string: #"{"node_id":"\#(n)"}"#))
                XCTAssertEqual(r.status, .ok, Self.message(r))
            }
            let empty = try await poll(c, "pa", "r1")
            XCTAssertEqual((empty["jobs"] as? [Any])?.count, 0)
            XCTAssertEqual(empty["idle_poll_seconds"] as? Double, 1.5, "3 online nodes at 2 empty polls a second")
            let beat0 = try Self.json(try await c.execute(uri: "/api/nodes/pa/heartbeat", method: .post, headers: auth, body: ByteBuffer(string: #"{"running_jobs":[]}"#)))
            XCTAssertEqual(beat0["work_queued"] as? Bool, false)
            _ = try await c.execute(uri: "/api/jobs", method: .post, headers: auth, body: ByteBuffer(string: #"{"id":"paced-1"}"#))
            let beat1 = try Self.json(try await c.execute(uri: "/api/nodes/pb/heartbeat", method: .post, headers: auth, body: ByteBuffer(string: #"{"running_jobs":[]}"#)))
            XCTAssertEqual(beat1["work_queued"] as? Bool, true, "a queued job ends the idle wait")
            let full = try await poll(c, "pb", "r2")
            XCTAssertEqual((full["jobs"] as? [[String: Any]])?.map { $0["id"] as? String }, ["paced-1"])
            XCTAssertNil(full.index(forKey: "idle_poll_seconds"), "an answer with jobs asks for no pace")
            let metrics = String(buffer: try await c.execute(uri: "/metrics", method: .get).body)
            XCTAssertTrue(metrics.contains("ffrtmp_master_polls_total{answer=\"jobs\"} 1"), metrics)
            XCTAssertTrue(metrics.contains("ffrtmp_master_polls_total{answer=\"empty\"} 1"), metrics)
        }
        try await withApp(idlePollRate: 0) { c in
            _ = try await c.execute(uri: "/api/nodes/register", method: .post, headers: auth, body: ByteBuffer(string: #"{"node_id":"pz"}"#))
            let answer = try await poll(c, "pz", "r1")
            XCTAssertNil(answer.index(forKey: "idle_poll_seconds"), "pacing off")
        }
    }

    @Sendable static func poll(_ c: any TestClientProtocol, _ node: String, _ req: String) async throws -> [String: Any] {
        let r = try await c.execute(uri: "/api/nodes/\(node)/poll", method: .post, headers: auth, body: ByteBuffer(string: #"{"request_id":"\#(req)","max":4}"#))
        XCTAssertEqual(r.status, .ok, Self.message(r))
        return try Self.json(r)
    }

    func testSubmitAndGetKeepWrapperEnabledAsSaid() async throws {
        let auth = Self.auth
        try await withApp { c in
            let body = #"{"id":"cam-1","engine":"ffmpeg","parameters":{"input":"testsrc","duration_seconds":5},"wrapper_enabled":true,"wrapper_constraints":{"cpu_max":"50000 100000","memory_max_mb":256},"some_future_field":1}"#
            let created = try await c.execute(uri: "/api/jobs", method: .post, headers: auth, body: ByteBuffer(string: body))
            XCTAssertEqual(created.status, .created)
            let got = try await c.execute(uri: "/api/jobs/cam-1", method: .get, headers: auth)
            XCTAssertEqual(got.status, .ok)
            let j = try Self.json(got)
            XCTAssertEqual(j["wrapper_enabled"] as? Bool, true)
            XCTAssertEqual((j["wrapper_constraints"] as? [String: Any])?["memory_max_mb"] as? Int, 256)
            XCTAssertEqual(j["status"] as? String, "queued")
            let old = try await c.execute(uri: "/api/jobs", method: .post, headers: auth, body: ByteBuffer(string: #"{"id":"old-1"}"#))
            XCTAssertEqual(old.status, .created)
            XCTAssertNil(try Self.json(old).index(forKey: "wrapper_enabled"), "missing must stay missing, not false")
        }
    }

    func testBadInputIsRejectedWithTheRightStatusAndField() async throws {
        let auth = Self.auth
        try await withApp { c in
            let cases: [(String, String, HTTPResponse.Status, String)] = [
                ("/api/jobs", "{not json", .badRequest, "not valid JSON"),
                ("/api/jobs", #"{"id":"../../etc"}"#, .badRequest, "invalid id"),
                ("/api/jobs", #"{"wrapper_enabled":"yes"}"#, .badRequest, "invalid wrapper_enabled"),
                ("/api/jobs", #"{"engine":"vlc"}"#, .badRequest, "invalid engine"),
                ("/api/jobs", #"{"parameters":[1,2]}"#, .badRequest, "invalid parameters"),
                ("/api/jobs", #"{"wrapper_constraints":{"cpu_max":"5"}}"#, .badRequest, "invalid wrapper_constraints"),
                ("/api/nodes/register", #"{"hostname":"x"}"#, .badRequest, "invalid node_id"),
                ("/api/results", #"{"job_id":"a","attempt":0,"node_id":"n","status":"completed"}"#, .badRequest, "invalid attempt"),
                ("/api/results", #"{"job_id":"a","attempt":1,"node_id":"n","status":"queued"}"#, .badRequest, "invalid status"),
                ("/api/results", #"{"job_id":"a","attempt":3000000000,"node_id":"n","status":"failed"}"#, .badRequest, "invalid attempt"),
            ]
            for (uri, body, status, text) in cases {
                let r = try await c.execute(uri: uri, method: .post, headers: auth, body: ByteBuffer(string: body))
                XCTAssertEqual(r.status, status, "\(uri) \(body)")
                XCTAssertTrue(Self.message(r).contains(text), "\(body): \(Self.message(r))")
            }
            let big = ByteBuffer(string: #"{"parameters":{"x":""# + String(repeating: "a", count: 2 << 20) + #""}}"#)
            await eq(try await c.execute(uri: "/api/jobs", method: .post, headers: auth, body: big).status, .contentTooLarge)
            await eq(try await c.execute(uri: "/api/jobs/..%2F..%2Fx", method: .get, headers: auth).status, .badRequest)
            await eq(try await c.execute(uri: "/api/jobs/missing", method: .get, headers: auth).status, .notFound)
            await eq(try await c.execute(uri: "/api/jobs?status=bogus", method: .get, headers: auth).status, .badRequest)
            await eq(try await c.execute(uri: "/api/jobs/next", method: .get, headers: auth).status, .badRequest)
        }
    }

    func testInvalidTransitionsAre409WithAReason() async throws {
        let auth = Self.auth
        try await withApp { c in
            _ = try await c.execute(uri: "/api/jobs", method: .post, headers: auth, body: ByteBuffer(string: #"{"id":"t1"}"#))
            await eq(try await c.execute(uri: "/api/jobs/t1/cancel", method: .post, headers: auth).status, .ok)
            let again = try await c.execute(uri: "/api/jobs/t1/cancel", method: .post, headers: auth)
            XCTAssertEqual(again.status, .conflict)
            XCTAssertTrue(Self.message(again).contains("cannot go from canceled to canceled"), Self.message(again))
            _ = try await c.execute(uri: "/api/nodes/register", method: .post, headers: auth, body: ByteBuffer(string: #"{"node_id":"n1"}"#))
            _ = try await c.execute(uri: "/api/jobs", method: .post, headers: auth, body: ByteBuffer(string: #"{"id":"t2"}"#))
            let next = try await c.execute(uri: "/api/jobs/next?node_id=n1", method: .get, headers: auth)
            XCTAssertEqual(next.status, .ok)
            XCTAssertEqual(try Self.json(next)["attempt"] as? Int, 1)
            await eq(try await c.execute(uri: "/api/jobs/next?node_id=n1", method: .get, headers: auth).status, .noContent)
            let done = #"{"job_id":"t2","attempt":1,"node_id":"n1","status":"completed","platform_sla":true,"platform_sla_reason":"success"}"#
            let r1 = try await c.execute(uri: "/api/results", method: .post, headers: auth, body: ByteBuffer(string: done))
            XCTAssertEqual(r1.status, .ok)
            XCTAssertEqual(try Self.json(r1)["duplicate"] as? Bool, false)
            let r2 = try await c.execute(uri: "/api/results", method: .post, headers: auth, body: ByteBuffer(string: done))
            XCTAssertEqual(try Self.json(r2)["duplicate"] as? Bool, true)
            let failAfter = #"{"job_id":"t2","attempt":1,"node_id":"n1","status":"failed"}"#
            await eq(try await c.execute(uri: "/api/results", method: .post, headers: auth, body: ByteBuffer(string: failAfter)).status, .ok,
                           "a repeat of the same attempt is a duplicate, whatever it says")
            let metrics = String(buffer: try await c.execute(uri: "/metrics", method: .get).body)
            XCTAssertTrue(metrics.contains("ffrtmp_master_jobs{status=\"completed\"} 1"), metrics)
            XCTAssertTrue(metrics.contains("ffrtmp_master_jobs{status=\"canceled\"} 1"), metrics)
        }
    }
}
