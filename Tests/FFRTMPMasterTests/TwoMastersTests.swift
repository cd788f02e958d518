import FFRTMPMaster
import FFRTMPWire
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import XCTest

/// Two real `ffrtmp-master` processes on one PostgreSQL, with a 2 s dispatch lease; 8 concurrent
/// pollers (node keys) take 1000 jobs, several at a time, from either master. Some answers are
/// "lost" (the poll is repeated, same request id, on the other master: it must return the same
/// jobs), some jobs are never acknowledged (their lease ends; they must come back as the next
/// attempt). Every job must be acknowledged exactly once, at the attempt the drops predict.
final class TwoMastersTests: XCTestCase {
    static let key = "two-masters-key-0123456789"

    func binary() throws -> String {
        var dir = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: dir.path + "/ffrtmp-master") && dir.path != "/" { dir.deleteLastPathComponent() }
        let path = dir.path + "/ffrtmp-master"
        guard FileManager.default.isExecutableFile(atPath: path) else { throw XCTSkip("ffrtmp-master not built: run `swift build` first") }
        return path
    }

    func startMaster(_ bin: String, db: String, port: Int) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = ["--listen", "127.0.0.1:\(port)", "--db", db, "--dispatch-lease", "2"]
        var env = ProcessInfo.processInfo.environment
        env["FFRTMP_API_KEY"] = Self.key
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    static func request(_ port: Int, _ path: String, method: String = "GET", body: Data? = nil, key: String = key) async throws -> (Int, Data) {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        r.httpMethod = method
        r.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        r.httpBody = body
        let (data, resp) = try await URLSession.shared.data(for: r)
        return ((resp as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    func waitHealthy(_ port: Int) async throws {
        for _ in 0..<200 {
            if let (s, _) = try? await Self.request(port, "/health"), s == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("master on port \(port) did not become healthy")
    }

    func testTwoMasterProcessesDispatchEachJobExactlyOnce() async throws {
        guard let url = ProcessInfo.processInfo.environment["FFRTMP_TEST_POSTGRES_URL"] else {
            throw XCTSkip("skipped: set FFRTMP_TEST_POSTGRES_URL (scripts/test.sh starts a PostgreSQL on loopback)")
        }
        let bin = try binary()
        let store = try await PGFixture.freshStore(url: url)
        for i in 0..<1000 { _ = try await store.create(NewJob(id: String(format: "bulk-%04d", i))) }
        var keys: [String] = []
        for n in 0..<8 {
            _ = try await store.register(NodeRegistration(nodeID: "poller-\(n)"))
            keys.append(try await store.addNodeKey(nodeID: "poller-\(n)"))
        }
        let nodeKeys = keys
        let ports = [18_081 + Int(getpid() % 500), 18_581 + Int(getpid() % 500)]
        let masters = try ports.map { try startMaster(bin, db: url, port: $0) }
        defer { for m in masters where m.isRunning { m.terminate(); m.waitUntilExit() } }
        for p in ports { try await waitHealthy(p) }

        let tally = Tally()
        let deadline = Date().addingTimeInterval(120)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<8 {
                group.addTask {
                    let node = "poller-\(n)"
                    var i = n
                    var rng = SystemRandomNumberGenerator()
                    while await tally.acked < 1000, Date() < deadline {
                        let rid = String(UInt64.random(in: 0...UInt64.max, using: &rng), radix: 16)
                        let body = try JSONEncoder().encode(PollRequest(requestID: rid, max: Int.random(in: 1...4, using: &rng)))
                        let (status, data) = try await Self.request(ports[i % 2], "/api/nodes/\(node)/poll", method: "POST", body: body, key: nodeKeys[n])
                        i += 1
                        XCTAssertEqual(status, 200, String(decoding: data, as: UTF8.self))
                        let jobs = try JSONDecoder().decode(PollAnswer.self, from: data).jobs
                        if jobs.isEmpty { try await Task.sleep(for: .milliseconds(100)); continue }
                        XCTAssertTrue(jobs.allSatisfy { $0.nodeID == node })
                        if Int.random(in: 0..<10, using: &rng) == 0 {
                            // The answer "was lost": the same request id, on the other master.
                            let (s2, d2) = try await Self.request(ports[i % 2], "/api/nodes/\(node)/poll", method: "POST", body: body, key: nodeKeys[n])
                            XCTAssertEqual(s2, 200)
                            let again = try JSONDecoder().decode(PollAnswer.self, from: d2).jobs
                            XCTAssertEqual(again.map(\.id), jobs.map(\.id), "a repeated request id returns the same assignment")
                            XCTAssertEqual(again.map(\.attempt), jobs.map(\.attempt), "... as the same attempts")
                            await tally.repeated()
                        }
                        var started: [MasterJob] = []
                        for j in jobs {
                            if Int.random(in: 0..<20, using: &rng) == 0 { await tally.dropped(j.id) } else { started.append(j) }
                        }
                        guard !started.isEmpty else { continue }
                        let beat = Heartbeat(runningJobs: started.map(\.id), attempts: Dictionary(uniqueKeysWithValues: started.map { ($0.id, $0.attempt) }))
                        let (hs, hd) = try await Self.request(ports[i % 2], "/api/nodes/\(node)/heartbeat", method: "POST", body: try JSONEncoder().encode(beat), key: nodeKeys[n])
                        XCTAssertEqual(hs, 200, String(decoding: hd, as: UTF8.self))
                        for j in started { await tally.acked(j.id, attempt: j.attempt) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let (acks, drops, repeats) = await (tally.acks, tally.drops, tally.repeats)
        XCTAssertEqual(acks.count, 1000, "every job acknowledged")
        XCTAssertTrue(acks.values.allSatisfy { $0.count == 1 }, "a job was started twice: \(acks.filter { $0.value.count > 1 }.prefix(5))")
        XCTAssertGreaterThan(drops.count, 0, "no lease was left to run out (the test tests nothing about leases)")
        XCTAssertGreaterThan(repeats, 0, "no answer was repeated")
        for (id, attempts) in acks {
            XCTAssertEqual(attempts, [1 + (drops[id] ?? 0)], "job \(id): acknowledged at attempt \(attempts), dropped \(drops[id] ?? 0) times")
        }
        let running = try await store.list(status: .running, nodeID: nil, limit: 1000)
        XCTAssertEqual(running.count, 1000, "every job running, none left assigned or queued")
        // A revoke in the shared database is seen by both masters at once (no key cache).
        try await store.revokeNodeKey(nodeID: "poller-0")
        for p in ports {
            await eq(try await Self.request(p, "/api/jobs/next?node_id=poller-0", key: nodeKeys[0]).0, 401)
            await eq(try await Self.request(p, "/api/jobs/next?node_id=poller-1", key: nodeKeys[1]).0, 204)
        }
        await store.close()
    }
}

/// What the pollers did, for the assertions.
actor Tally {
    var acks: [String: [Int]] = [:]
    var drops: [String: Int] = [:]
    var repeats = 0
    var acked: Int { acks.count }

    func acked(_ id: String, attempt: Int) { acks[id, default: []].append(attempt) }
    func dropped(_ id: String) { drops[id, default: 0] += 1 }
    func repeated() { repeats += 1 }
}
