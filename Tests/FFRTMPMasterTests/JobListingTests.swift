@testable import FFRTMPMaster
import FFRTMPModel
import FFRTMPWire
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import XCTest

extension StoreSuite {
    /// GET /api/jobs splices each job's stored JSON columns in as stored: awkward parameters
    /// (nesting, unicode raw and \u-escaped, 1e300, -0.0, 5e-324, slashes, quotes, control
    /// characters) and a result come out byte for byte as the store holds them, the list decodes
    /// to the same [MasterJob] as GET /api/jobs/{id} of each, and it is the same JSON (keys,
    /// omissions, values) the old decode-and-encode route wrote.
    static func listServesStoredJSONAsStored(_ s: JobStore) async throws {
        let key = "list-test-key-0123456789"
        let app = Application(router: MasterAPI(store: s, apiKey: key, allowSharedNodeKey: true).router())
        try await app.test(.router) { c in
            let auth: HTTPFields = [.authorization: "Bearer \(key)", .contentType: "application/json"]
            func post(_ uri: String, _ body: String) async throws {
                let r = try await c.execute(uri: uri, method: .post, headers: auth, body: ByteBuffer(string: body))
                XCTAssertTrue([.ok, .created].contains(r.status), "POST \(uri): \(r.status) \(String(buffer: r.body))")
            }
            let params = #"{"zeta":{"nested":{"deep":[1,{"k":"v"},[true,null,[]]]}},"alpha":"名前 🎥 é \u00e9 \ud83c\udfa5","big":1e300,"negzero":-0.0,"tiny":5e-324,"huge_int":-9007199254740993,"frac":0.1,"esc":"quote \" backslash \\ slash / \/ tab \t nl \n cr \r nul \u0000 bell \u0007 del \u007f sep \u2028","empty":{},"b":false}"#
            try await post("/api/jobs", #"{"id":"raw-1","engine":"ffmpeg","parameters":\#(params),"wrapper_enabled":true,"wrapper_constraints":{"cpu_max":"50000 100000","memory_max_mb":256}}"#)
            try await post("/api/jobs", #"{"id":"raw-2"}"#)
            try await post("/api/jobs", #"{"id":"raw-3","engine":"gstreamer","parameters":{"x":[1.5,"a/b"]},"wrapper_enabled":false}"#)
            try await post("/api/nodes/register", #"{"node_id":"n1"}"#)
            await eq(try await c.execute(uri: "/api/jobs/next?node_id=n1", method: .get, headers: auth).status, .ok)
            await eq(try await c.execute(uri: "/api/jobs/next?node_id=n1", method: .get, headers: auth).status, .ok)
            let controls = String(String.UnicodeScalarView((1..<32).compactMap(Unicode.Scalar.init)))
            let reason = try String(decoding: JSONEncoder().encode("exit 1: \(controls) \"quoted\" \\ é 🎥 </script>"), as: UTF8.self)
            try await post("/api/results", #"{"job_id":"raw-1","attempt":1,"node_id":"n1","status":"failed","platform_sla":false,"platform_sla_reason":"engine \"x\"\nfailed","failure_reason":\#(reason),"metrics":{"exit_code":1,"speed":1e-7,"names":["a/b","ü"],"m":{"z":1,"a":2}}}"#)

            let list = try await c.execute(uri: "/api/jobs", method: .get, headers: auth)
            XCTAssertEqual(list.status, .ok)
            XCTAssertEqual(list.headers[.contentType], "application/json; charset=utf-8")
            let body = Data(buffer: list.body)
            let listed = try JSONDecoder().decode([MasterJob].self, from: body)
            XCTAssertEqual(Set(listed.map(\.id)), ["raw-1", "raw-2", "raw-3"])
            for job in listed {
                let one = try await c.execute(uri: "/api/jobs/\(job.id)", method: .get, headers: auth)
                XCTAssertEqual(job, try JSONDecoder().decode(MasterJob.self, from: Data(buffer: one.body)), job.id)
            }
            XCTAssertEqual(listed.first { $0.id == "raw-1" }?.parameters["big"], .number(1e300))
            XCTAssertEqual(listed.first { $0.id == "raw-1" }?.result?["failure_reason"], .string("exit 1: \(controls) \"quoted\" \\ é 🎥 </script>"))

            let raw = try await s.listRaw(status: nil, nodeID: nil, limit: 100)
            for listing in raw {
                let stored = try await storedColumns(s, listing.id)
                XCTAssertEqual(Array(listing.parametersJSON.utf8), Array(stored.parameters.utf8), listing.id)
                XCTAssertEqual(listing.resultJSON.map { Array($0.utf8) }, stored.result.map { Array($0.utf8) }, listing.id)
                XCTAssertEqual(listing.wrapperConstraintsJSON.map { Array($0.utf8) }, stored.wrapperConstraints.map { Array($0.utf8) }, listing.id)
                for (field, text) in [("parameters", stored.parameters), ("result", stored.result), ("wrapper_constraints", stored.wrapperConstraints)] {
                    guard let text else { continue }
                    XCTAssertNotNil(body.range(of: Data(#""\#(field)":\#(text)"#.utf8)), "\(listing.id) \(field) is not in the list as stored: \(text)")
                }
            }
            XCTAssertEqual(raw.first { $0.id == "raw-3" }?.parametersJSON.contains(#""a/b""#), true, "slashes are stored unescaped")

            // The same JSON as the old route (JSONEncoder over the decoded jobs), keys and omissions included.
            let old = try JSONEncoder().encode(try await s.list(status: nil, nodeID: nil, limit: 100))
            XCTAssertEqual(try canonical(body), try canonical(old))
            func keys(_ d: Data) throws -> [String: Set<String>] {
                Dictionary(uniqueKeysWithValues: (try JSONSerialization.jsonObject(with: d) as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "?", Set($0.keys)) })
            }
            let listedKeys = try keys(body)
            XCTAssertEqual(listedKeys, try keys(old))
            // raw-2 (assigned, nothing said about the wrapper) and raw-3 (queued, wrapper_enabled false).
            XCTAssertEqual(listedKeys["raw-2"]?.intersection(["wrapper_enabled", "wrapper_constraints", "result", "node_id"]), ["node_id"])
            XCTAssertEqual(listedKeys["raw-3"]?.intersection(["wrapper_enabled", "wrapper_constraints", "result", "node_id"]), ["wrapper_enabled"])
            XCTAssertTrue(listedKeys["raw-1"]?.isSuperset(of: ["wrapper_enabled", "wrapper_constraints", "result", "node_id", "platform_sla",
                                                               "platform_sla_reason", "failure_reason"]) == true, "\(listedKeys["raw-1"] ?? [])")

            let failed = try await c.execute(uri: "/api/jobs?status=failed", method: .get, headers: auth)
            await eq(try JSONDecoder().decode([MasterJob].self, from: Data(buffer: failed.body)).map(\.id), ["raw-1"])
            let none = try await c.execute(uri: "/api/jobs?node_id=nobody", method: .get, headers: auth)
            XCTAssertEqual(String(buffer: none.body), "[]")
        }
    }

    /// The JSON columns of one job, read straight from the store's table (not through listRaw).
    static func storedColumns(_ s: JobStore, _ id: String) async throws -> (parameters: String, result: String?, wrapperConstraints: String?) {
        let row: JobRow
        switch s {
        case let q as SQLiteJobStore:
            row = try await q.pool.read { db in try SQLiteJobStore.fetchJob(db, id) }
        case let p as PostgresJobStore:
            guard let r = try await p.client.withConnection({ c in try await p.fetchJob(c, id, lock: false) }) else {
                throw WireError.notFound(what: "job", id: id)
            }
            row = r
        default:
            throw WireError.invalidField(field: "store", reason: "\(type(of: s)) has no reader of its stored columns in this test")
        }
        return (row.parameters, row.result, row.wrapperConstraints)
    }

    /// JSON text with its keys sorted, to compare two documents as JSON values.
    static func canonical(_ data: Data) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: data), options: [.sortedKeys]), as: UTF8.self)
    }
}

/// The string escaper of the hand-built list against JSONDecoder: every control character,
/// quotes, backslashes and non-ASCII text read back as written.
final class JobListingJSONTests: XCTestCase {
    func testEveryStringReadsBackAsWritten() throws {
        let controls = String(String.UnicodeScalarView((0..<32).compactMap(Unicode.Scalar.init)))
        for s in ["", "plain", controls, "\"\\/", "é 名前 🎥 \u{2028} \u{7f}", "a\"b\\c\nd"] {
            var out: [UInt8] = []
            JSONBytes.appendString(s, to: &out)
            XCTAssertEqual(try JSONDecoder().decode(String.self, from: Data(out)), s, String(decoding: out, as: UTF8.self))
        }
        var out: [UInt8] = []
        JSONBytes.appendString("\u{1}\u{1f}\t", to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #""\u0001\u001f\t""#)
    }
}
