import FFRTMPMaster
import FFRTMPModel
import FFRTMPWire
import Foundation
import Hummingbird
import HummingbirdTesting
import PropertyBased
import Testing
import FFRTMPTestSupport

/// The master's request bodies through the real router and a real SQLite store
/// (HummingbirdTesting's in-process client): valid bodies are taken, everything else gets
/// a 4xx whose JSON error names the field; never a 5xx, never a crash.
@Suite struct MasterAPIProperties {
    static let key = "prop-key-0123456789abcdef"
    static var auth: HTTPFields { [.authorization: "Bearer \(key)", .contentType: "application/json"] }

    /// Runs `body` against a fresh master (SQLite in a temp dir).
    static func withMaster(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let dir = try TempDir("ffrtmp-prop-master")
        let store = try SQLiteJobStore(path: dir.path + "/m.db")
        try await store.migrate()
        let app = Application(router: MasterAPI(store: store, apiKey: key, allowSharedNodeKey: true).router())
        do {
            try await app.test(.router, body)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        _ = dir
    }

    /// The error message of a JSON error body, or nil when the body is not `{"error":{"message":"..."}}`.
    static func errorMessage(_ r: TestResponse) -> String? {
        guard let v = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: r.body)), let e = v["error"] else { return nil }
        return string(e["message"])
    }

    /// One POST endpoint: its schema, the statuses a valid body may get (a result for an
    /// unknown job is a 404, a duplicate job id a 409), and what must hold of a 2xx.
    func check(_ uri: String, _ schema: Schema, valid: Set<Int>, count: Int,
               setup: @Sendable (any TestClientProtocol) async throws -> Void = { _ in }) async throws {
        let tally = Tally("POST \(uri)")
        try await Self.withMaster { client in
            try await setup(client)
            await propertyCheck(count: Iterations.count(count), input: gen { r in schema.wireCase(&r) }) { c in
                let r: TestResponse
                do {
                    r = try await client.execute(uri: uri, method: .post, headers: Self.auth, body: ByteBuffer(string: c.body))
                } catch {
                    return fail("\(c): the request failed: \(error)")
                }
                let status = Int(r.status.code)
                tally.add("\(c.expect.tally) \(status)")
                if status >= 500 { return fail("\(c): \(status) \(String(buffer: r.body))") }
                if (200..<300).contains(status) {
                    if case .valid = c.expect {} else if case .unknown = c.expect {} else {
                        Issue.record("\(c): accepted with \(status): \(String(buffer: r.body))")
                    }
                    #expect((try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: r.body))) != nil, "\(c): the answer is not JSON")
                    return
                }
                guard let message = Self.errorMessage(r) else {
                    return fail("\(c): \(status) without a JSON error: \(String(buffer: r.body))")
                }
                if case .valid = c.expect {
                    #expect(valid.contains(status), "\(c): a valid body got \(status): \(message)")
                    return
                }
                if case .unknown = c.expect {
                    #expect(status == 400 || valid.contains(status), "\(c): \(status): \(message)")
                    if status == 400 { #expect(message.hasPrefix("invalid "), "\(c): \(message)") }
                    return
                }
                #expect(status == 400, "\(c): \(status): \(message)")
                for p in Verdict.judge(accepted: false, message: message, c) { Issue.record("\(c): \(p)") }
            }
        }
        tally.report(expecting: [])
        for outcome in ["valid", "invalid-field", "not-json", "not-object", "random-damage"] where tally.total >= 200 {
            #expect((100...599).contains { tally["\(outcome) \($0)"] > 0 }, "POST \(uri): no \(outcome) body was generated")
        }
    }

    @Test func jobsBodies() async throws {
        try await check("/api/jobs", WireSchemas.newJob, valid: [201, 409], count: 1500)
    }

    @Test func resultBodies() async throws {
        // One job really dispatched to a node, so some reports meet a job and a node.
        try await check("/api/results", WireSchemas.resultReport, valid: [200, 404, 409], count: 1500) { c in
            _ = try await c.execute(uri: "/api/nodes/register", method: .post, headers: Self.auth, body: ByteBuffer(string: #"{"node_id":"n1"}"#))
            _ = try await c.execute(uri: "/api/jobs", method: .post, headers: Self.auth, body: ByteBuffer(string: #"{"id":"j1"}"#))
            let next = try await c.execute(uri: "/api/jobs/next?node_id=n1", method: .get, headers: Self.auth)
            #expect(next.status == .ok)
        }
    }

    @Test func nodeRegistrationBodies() async throws {
        // 409: a random node id met again with another instance_id within --node-lost-after
        // (a second live instance of that node).
        try await check("/api/nodes/register", WireSchemas.nodeRegistration, valid: [200, 409], count: 1000)
    }

    @Test func heartbeatBodies() async throws {
        try await check("/api/nodes/hb-node/heartbeat", WireSchemas.heartbeat, valid: [200], count: 800) { c in
            let reg = try await c.execute(uri: "/api/nodes/register", method: .post, headers: Self.auth, body: ByteBuffer(string: #"{"node_id":"hb-node"}"#))
            #expect(reg.status == .ok)
        }
    }

    /// Polls and releases: the queue is empty, so a valid poll is 200 with no jobs and a valid
    /// release 404 (no such job).
    @Test func pollAndReleaseBodies() async throws {
        let register: @Sendable (any TestClientProtocol) async throws -> Void = { c in
            let reg = try await c.execute(uri: "/api/nodes/register", method: .post, headers: Self.auth, body: ByteBuffer(string: #"{"node_id":"poll-node"}"#))
            #expect(reg.status == .ok)
        }
        try await check("/api/nodes/poll-node/poll", WireSchemas.poll, valid: [200], count: 500, setup: register)
        try await check("/api/nodes/poll-node/release", WireSchemas.release, valid: [404], count: 500, setup: register)
    }
}
