import FFRTMPMaster
import FFRTMPWire
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import XCTest

/// Two real `ffrtmp-master` processes on one PostgreSQL; 8 concurrent pollers take 1000 jobs.
/// Every job must be dispatched exactly once.
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
        p.arguments = ["--listen", "127.0.0.1:\(port)", "--db", db]
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

        let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
            for n in 0..<8 {
                group.addTask {
                    var mine: [String] = []
                    var empty = 0
                    var i = n
                    while empty < 4 {
                        let (status, data) = try await Self.request(ports[i % 2], "/api/jobs/next?node_id=poller-\(n)", key: nodeKeys[n])
                        i += 1
                        if status == 204 { empty += 1; continue }
                        XCTAssertEqual(status, 200, String(decoding: data, as: UTF8.self))
                        let job = try JSONDecoder().decode(MasterJob.self, from: data)
                        XCTAssertEqual(job.nodeID, "poller-\(n)")
                        mine.append(job.id)
                    }
                    return mine
                }
            }
            var all: [String] = []
            for try await part in group { all += part }
            return all
        }
        XCTAssertEqual(claimed.count, 1000, "jobs handed out")
        XCTAssertEqual(Set(claimed).count, 1000, "a job was handed out twice")
        let assigned = try await store.list(status: .assigned, nodeID: nil, limit: 1000)
        XCTAssertEqual(assigned.count, 1000)
        XCTAssertTrue(assigned.allSatisfy { $0.attempt == 1 })
        // A revoke in the shared database is seen by both masters at once (no key cache).
        try await store.revokeNodeKey(nodeID: "poller-0")
        for p in ports {
            await eq(try await Self.request(p, "/api/jobs/next?node_id=poller-0", key: nodeKeys[0]).0, 401)
            await eq(try await Self.request(p, "/api/jobs/next?node_id=poller-1", key: nodeKeys[1]).0, 204)
        }
        await store.close()
    }
}
