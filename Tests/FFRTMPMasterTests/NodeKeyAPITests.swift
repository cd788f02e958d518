import FFRTMPMaster
import FFRTMPWire
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
import FFRTMPTestSupport

/// The roles against the real router and a real SQLite store: node keys bound to their node
/// id, the read-only key, the admin key on the node routes with and without
/// --allow-shared-node-key, and revocation seen by a second master on the same database.
final class NodeKeyAPITests: XCTestCase {
    static let admin = "admin-key-0123456789abcdef"
    static let reader = "read-key-0123456789abcdef"
    var dir: TempDir?

    override func tearDown() {
        dir = nil
        super.tearDown()
    }

    static func h(_ key: String) -> HTTPFields { [.authorization: "Bearer \(key)", .contentType: "application/json"] }
    static func body(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

    /// A master on a fresh SQLite file with node keys for edge-a and edge-b.
    func withMaster(allowShared: Bool = false,
                    _ body: @Sendable (any TestClientProtocol, _ keyA: String, _ keyB: String, _ dbPath: String) async throws -> Void) async throws {
        let dir = try TempDir()
        self.dir = dir
        let path = dir.path + "/m.db"
        let store = try SQLiteJobStore(path: path)
        try await store.migrate()
        let keyA = try await store.addNodeKey(nodeID: "edge-a")
        let keyB = try await store.addNodeKey(nodeID: "edge-b")
        let api = MasterAPI(store: store, apiKey: Self.admin, readKey: Self.reader, allowSharedNodeKey: allowShared)
        let app = Application(router: api.router())
        do {
            try await app.test(.router) { c in try await body(c, keyA, keyB, path) }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    static func forbidden(_ r: TestResponse, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, .forbidden, APITests.message(r), file: file, line: line)
        XCTAssertTrue(APITests.message(r).contains(text), "wanted \(text) in: \(APITests.message(r))", file: file, line: line)
    }

    func testNodeBCannotActForNodeAAndAForgedResultNeverReplacesTheRealOne() async throws {
        try await withMaster { c, keyA, keyB, _ in
            let a = Self.h(keyA), b = Self.h(keyB), admin = Self.h(Self.admin)
            let notA = #"node key of "edge-b" may not act for node "edge-a""#
            await eq(try await c.execute(uri: "/api/nodes/register", method: .post, headers: a, body: Self.body(#"{"node_id":"edge-a"}"#)).status, .ok)
            Self.forbidden(try await c.execute(uri: "/api/nodes/register", method: .post, headers: b, body: Self.body(#"{"node_id":"edge-a"}"#)), notA)
            await eq(try await c.execute(uri: "/api/nodes/register", method: .post, headers: b, body: Self.body(#"{"node_id":"edge-b"}"#)).status, .ok)
            await eq(try await c.execute(uri: "/api/jobs", method: .post, headers: admin, body: Self.body(#"{"id":"j1"}"#)).status, .created)
            Self.forbidden(try await c.execute(uri: "/api/jobs/next?node_id=edge-a", method: .get, headers: b), notA)
            let next = try await c.execute(uri: "/api/jobs/next?node_id=edge-a", method: .get, headers: a)
            XCTAssertEqual(next.status, .ok)
            XCTAssertEqual(try APITests.json(next)["attempt"] as? Int, 1)
            Self.forbidden(try await c.execute(uri: "/api/nodes/edge-a/heartbeat", method: .post, headers: b, body: Self.body(#"{"running_jobs":[]}"#)), notA)
            await eq(try await c.execute(uri: "/api/nodes/edge-a/heartbeat", method: .post, headers: a, body: Self.body(#"{"running_jobs":["j1"]}"#)).status, .ok)
            // The forgeries: as edge-a, and as itself for edge-a's job.
            let forged = #"{"job_id":"j1","attempt":1,"node_id":"edge-a","status":"failed","platform_sla":false,"platform_sla_reason":"outcome_lost"}"#
            Self.forbidden(try await c.execute(uri: "/api/results", method: .post, headers: b, body: Self.body(forged)), notA)
            let asItself = #"{"job_id":"j1","attempt":1,"node_id":"edge-b","status":"failed"}"#
            Self.forbidden(try await c.execute(uri: "/api/results", method: .post, headers: b, body: Self.body(asItself)),
                           #"node key of "edge-b" may not act for node "edge-a": job "j1" is not assigned to it"#)
            let j1 = try await c.execute(uri: "/api/jobs/j1", method: .get, headers: admin)
            XCTAssertEqual(try APITests.json(j1)["status"] as? String, "running", "the forgeries changed nothing")
            // The real result afterwards: accepted, not a duplicate.
            let real = #"{"job_id":"j1","attempt":1,"node_id":"edge-a","status":"completed","platform_sla":true,"platform_sla_reason":"success"}"#
            let ack = try await c.execute(uri: "/api/results", method: .post, headers: a, body: Self.body(real))
            XCTAssertEqual(ack.status, .ok, APITests.message(ack))
            XCTAssertEqual(try APITests.json(ack)["duplicate"] as? Bool, false)
            XCTAssertEqual((try APITests.json(ack)["job"] as? [String: Any])?["status"] as? String, "completed")
            let again = try await c.execute(uri: "/api/results", method: .post, headers: a, body: Self.body(real))
            XCTAssertEqual(try APITests.json(again)["duplicate"] as? Bool, true, "A's own resend is still a duplicate")
            Self.forbidden(try await c.execute(uri: "/api/results", method: .post, headers: b, body: Self.body(forged)), notA)
        }
    }

    func testNodeKeysMayCallOnlyTheNodeRoutes() async throws {
        try await withMaster { c, keyA, _, _ in
            let a = Self.h(keyA)
            Self.forbidden(try await c.execute(uri: "/api/jobs", method: .get, headers: a), #"node key of "edge-a" may not call GET /api/jobs"#)
            Self.forbidden(try await c.execute(uri: "/api/jobs", method: .post, headers: a, body: Self.body(#"{"id":"x"}"#)), #"node key of "edge-a""#)
            Self.forbidden(try await c.execute(uri: "/api/nodes", method: .get, headers: a), #"node key of "edge-a""#)
            Self.forbidden(try await c.execute(uri: "/api/jobs/x/cancel", method: .post, headers: a), #"node key of "edge-a""#)
        }
    }

    func testUnknownAndRevokedKeysAre401OnEveryMasterSharingTheDatabase() async throws {
        try await withMaster { c, keyA, keyB, path in
            let unknown = try await c.execute(uri: "/api/nodes/register", method: .post, headers: Self.h(NodeKeys.prefix + String(repeating: "0", count: 64)),
                                              body: Self.body(#"{"node_id":"edge-a"}"#))
            XCTAssertEqual(unknown.status, .unauthorized)
            XCTAssertTrue(APITests.message(unknown).contains("unknown or revoked node key"), APITests.message(unknown))
            await eq(try await c.execute(uri: "/api/nodes/register", method: .post, headers: Self.h(keyB), body: Self.body(#"{"node_id":"edge-b"}"#)).status, .ok)
            // Another master (another store on the same database) revokes edge-b's key.
            let other = try SQLiteJobStore(path: path)
            try await other.revokeNodeKey(nodeID: "edge-b")
            await other.close()
            for (uri, method) in [("/api/nodes/register", HTTPRequest.Method.post), ("/api/jobs/next?node_id=edge-b", .get),
                                  ("/api/nodes/edge-b/heartbeat", .post), ("/api/results", .post), ("/api/jobs", .get)] {
                let r = try await c.execute(uri: uri, method: method, headers: Self.h(keyB), body: Self.body(#"{"node_id":"edge-b","running_jobs":[]}"#))
                XCTAssertEqual(r.status, .unauthorized, uri)
                XCTAssertTrue(APITests.message(r).contains("unknown or revoked node key"), APITests.message(r))
            }
            await eq(try await c.execute(uri: "/api/nodes/register", method: .post, headers: Self.h(keyA), body: Self.body(#"{"node_id":"edge-a"}"#)).status, .ok,
                     "other nodes' keys keep working")
        }
    }

    func testTheReadKeyMayOnlyRead() async throws {
        try await withMaster { c, _, _, _ in
            let r = Self.h(Self.reader), admin = Self.h(Self.admin)
            await eq(try await c.execute(uri: "/api/jobs", method: .post, headers: admin, body: Self.body(#"{"id":"r1"}"#)).status, .created)
            await eq(try await c.execute(uri: "/api/jobs", method: .get, headers: r).status, .ok)
            await eq(try await c.execute(uri: "/api/jobs?status=queued", method: .get, headers: r).status, .ok)
            await eq(try await c.execute(uri: "/api/jobs/r1", method: .get, headers: r).status, .ok)
            await eq(try await c.execute(uri: "/api/nodes", method: .get, headers: r).status, .ok)
            Self.forbidden(try await c.execute(uri: "/api/jobs", method: .post, headers: r, body: Self.body(#"{"id":"r2"}"#)), "the read-only key may not call POST /api/jobs")
            Self.forbidden(try await c.execute(uri: "/api/jobs/r1/cancel", method: .post, headers: r), "the read-only key may not call POST /api/jobs/r1/cancel")
            Self.forbidden(try await c.execute(uri: "/api/nodes/register", method: .post, headers: r, body: Self.body(#"{"node_id":"edge-a"}"#)), "the read-only key")
            Self.forbidden(try await c.execute(uri: "/api/jobs/next?node_id=edge-a", method: .get, headers: r), "the read-only key")
            let r1 = try await c.execute(uri: "/api/jobs/r1", method: .get, headers: admin)
            XCTAssertEqual(try APITests.json(r1)["status"] as? String, "queued", "the refused cancel changed nothing")
            await eq(try await c.execute(uri: "/api/jobs/r1/cancel", method: .post, headers: admin).status, .ok)
        }
    }

    func testTheAdminKeyOnNodeRoutesNeedsAllowSharedNodeKey() async throws {
        try await withMaster { c, _, _, _ in
            let admin = Self.h(Self.admin)
            Self.forbidden(try await c.execute(uri: "/api/nodes/register", method: .post, headers: admin, body: Self.body(#"{"node_id":"edge-a"}"#)),
                           "--allow-shared-node-key")
            Self.forbidden(try await c.execute(uri: "/api/jobs/next?node_id=edge-a", method: .get, headers: admin), "the admin key may not call GET /api/jobs/next")
            Self.forbidden(try await c.execute(uri: "/api/nodes/edge-a/heartbeat", method: .post, headers: admin, body: Self.body(#"{"running_jobs":[]}"#)), "the admin key")
            Self.forbidden(try await c.execute(uri: "/api/results", method: .post, headers: admin, body: Self.body("{}")), "the admin key")
            await eq(try await c.execute(uri: "/api/nodes", method: .get, headers: admin).status, .ok)
        }
        try await withMaster(allowShared: true) { c, keyA, _, _ in
            let admin = Self.h(Self.admin)
            await eq(try await c.execute(uri: "/api/nodes/register", method: .post, headers: admin, body: Self.body(#"{"node_id":"edge-x"}"#)).status, .ok)
            await eq(try await c.execute(uri: "/api/jobs", method: .post, headers: admin, body: Self.body(#"{"id":"s1"}"#)).status, .created)
            await eq(try await c.execute(uri: "/api/jobs/next?node_id=edge-x", method: .get, headers: admin).status, .ok)
            await eq(try await c.execute(uri: "/api/nodes/edge-x/heartbeat", method: .post, headers: admin, body: Self.body(#"{"running_jobs":["s1"]}"#)).status, .ok)
            let done = #"{"job_id":"s1","attempt":1,"node_id":"edge-x","status":"completed"}"#
            let ack = try await c.execute(uri: "/api/results", method: .post, headers: admin, body: Self.body(done))
            XCTAssertEqual(ack.status, .ok, APITests.message(ack))
            Self.forbidden(try await c.execute(uri: "/api/nodes/register", method: .post, headers: Self.h(keyA), body: Self.body(#"{"node_id":"edge-x"}"#)),
                           #"node key of "edge-a" may not act for node "edge-x""#)
        }
    }

    func testTheSharedKeyWarningIsAtMostOncePerMinute() {
        let w = RateLimitedWarning(everyMs: 60_000)
        XCTAssertTrue(w.shouldWarn(now: 1_000))
        XCTAssertFalse(w.shouldWarn(now: 1_001))
        XCTAssertFalse(w.shouldWarn(now: 60_999))
        XCTAssertTrue(w.shouldWarn(now: 61_000))
        XCTAssertFalse(w.shouldWarn(now: 61_500))
    }
}
