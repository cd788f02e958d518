import Foundation
import XCTest
import FFRTMPTestSupport

/// `ffrtmp jobs` against a real `ffrtmp-master` (SQLite), and the seed's troubleshooting
/// one-liner with curl and jq, all as real processes.
final class JobsCLITests: XCTestCase {
    static let key = "cli-test-key-0123456789abc"

    var binDir: String {
        var dir = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: dir.path + "/ffrtmp-master") && dir.path != "/" { dir.deleteLastPathComponent() }
        return dir.path
    }

    func run(_ exe: String, _ args: [String], env: [String: String]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let r = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: r, as: UTF8.self))
    }

    func testJobsClientAndTheCurlJqOneLiner() throws {
        for tool in ["/usr/bin/curl", "/usr/bin/jq"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("skipped: \(tool) is not installed (scripts/test.sh installs it)")
        }
        let bin = binDir
        guard FileManager.default.isExecutableFile(atPath: bin + "/ffrtmp") else { throw XCTSkip("binaries not built: run `swift build` first") }
        let dir = try TempDir()
        let port = 19_081 + Int(getpid() % 500)
        let master = Process()
        master.executableURL = URL(fileURLWithPath: bin + "/ffrtmp-master")
        master.arguments = ["--listen", "127.0.0.1:\(port)", "--db", "sqlite:\(dir.path)/master.db"]
        master.environment = ProcessInfo.processInfo.environment.merging(["FFRTMP_API_KEY": Self.key]) { $1 }
        master.standardOutput = FileHandle.nullDevice
        master.standardError = FileHandle.nullDevice
        try master.run()
        defer { master.terminate(); master.waitUntilExit() }
        let env = ["MASTER_URL": "http://127.0.0.1:\(port)", "FFRTMP_API_KEY": Self.key, "KEY": Self.key, "PORT": String(port)]
        var up = false
        for _ in 0..<200 where !up {
            up = (try? run("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/health"], env: [:]).0) == 0
            if !up { usleep(50_000) }
        }
        XCTAssertTrue(up, "master did not come up")

        let sub = try run(bin + "/ffrtmp", ["jobs", "submit", "--id", "cli-1", "--engine", "ffmpeg", "--parameters", #"{"input":"testsrc"}"#,
                                            "--wrapper-enabled", "true", "--cpu-max", "50000 100000", "--json"], env: env)
        XCTAssertEqual(sub.0, 0, sub.2)
        XCTAssertTrue(sub.1.contains(#""wrapper_enabled":true"#), sub.1)
        XCTAssertEqual(try run(bin + "/ffrtmp", ["jobs", "submit", "--id", "cli-2"], env: env).0, 0)

        // The seed's troubleshooting step, verbatim but for the host: curl ... | jq .wrapper_enabled
        let oneLiner = #"curl -s -H "Authorization: Bearer $KEY" http://127.0.0.1:$PORT/api/jobs/cli-1 | jq .wrapper_enabled"#
        XCTAssertEqual(try run("/bin/bash", ["-c", oneLiner], env: env).1, "true\n")
        let unsaid = #"curl -s -H "Authorization: Bearer $KEY" http://127.0.0.1:$PORT/api/jobs/cli-2 | jq .wrapper_enabled"#
        XCTAssertEqual(try run("/bin/bash", ["-c", unsaid], env: env).1, "null\n", "a job that did not say must not read as false")

        let list = try run(bin + "/ffrtmp", ["jobs", "list"], env: env)
        XCTAssertEqual(list.0, 0, list.2)
        XCTAssertTrue(list.1.contains("cli-1") && list.1.contains("queued") && list.1.hasPrefix("ID"), list.1)
        let cancel = try run(bin + "/ffrtmp", ["jobs", "cancel", "cli-2", "--json"], env: env)
        XCTAssertTrue(cancel.1.contains(#""status":"canceled""#), cancel.1)
        let again = try run(bin + "/ffrtmp", ["jobs", "cancel", "cli-2"], env: env)
        XCTAssertEqual(again.0, 1)
        XCTAssertTrue(again.2.contains("master answered 409") && again.2.contains("cannot go from canceled"), again.2)
        let wrongKey = try run(bin + "/ffrtmp", ["jobs", "get", "cli-1"], env: env.merging(["FFRTMP_API_KEY": "wrong-key-wrong-key"]) { $1 })
        XCTAssertEqual(wrongKey.0, 1)
        XCTAssertTrue(wrongKey.2.contains("master answered 401"), wrongKey.2)
        let noURL = try run(bin + "/ffrtmp", ["jobs", "list"], env: ["MASTER_URL": ""])
        XCTAssertNotEqual(noURL.0, 0)
        XCTAssertTrue(noURL.2.contains("MASTER_URL"), noURL.2)
        let badID = try run(bin + "/ffrtmp", ["jobs", "get", "../x"], env: env)
        XCTAssertTrue(badID.2.contains("invalid id"), badID.2)
    }

    /// The liveness service inside a running master: a node that stops heartbeating is lost,
    /// its running job becomes unknown (not requeued), and re-registering reconciles it.
    func testSilentNodeIsMarkedLostAndItsJobUnknown() throws {
        let bin = binDir
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw XCTSkip("skipped: curl is not installed") }
        let dir = try TempDir()
        let port = 19_581 + Int(getpid() % 400)
        let master = Process()
        master.executableURL = URL(fileURLWithPath: bin + "/ffrtmp-master")
        // The store from MASTER_DB in the environment (no --db): a database URL and its password stay out of argv.
        master.arguments = ["--listen", "127.0.0.1:\(port)", "--node-lost-after", "0.4"]
        master.environment = ProcessInfo.processInfo.environment.merging(["FFRTMP_API_KEY": Self.key, "MASTER_DB": "sqlite:\(dir.path)/m.db"]) { $1 }
        // The node's own key, issued in the same store (MASTER_DB) before the master starts.
        let issued = try run(bin + "/ffrtmp-master", ["nodes", "add", "edge-1"], env: ["MASTER_DB": "sqlite:\(dir.path)/m.db"])
        XCTAssertEqual(issued.0, 0, issued.2)
        let nodeKey = issued.1.trimmingCharacters(in: .whitespacesAndNewlines)
        master.standardOutput = FileHandle.nullDevice
        master.standardError = FileHandle.nullDevice
        try master.run()
        defer { master.terminate(); master.waitUntilExit() }
        func api(_ method: String, _ path: String, _ body: String? = nil) throws -> String {
            let key = path.hasPrefix("/api/nodes/") || path.hasPrefix("/api/jobs/next") ? nodeKey : Self.key
            var args = ["-s", "-X", method, "-H", "Authorization: Bearer \(key)", "http://127.0.0.1:\(port)\(path)"]
            if let body { args += ["-d", body] }
            return try run("/usr/bin/curl", args, env: [:]).1
        }
        var up = false
        for _ in 0..<200 where !up {
            up = (try? run("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/health"], env: [:]).0) == 0
            if !up { usleep(50_000) }
        }
        XCTAssertTrue(up)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/m.db"), "the master opened MASTER_DB")
        _ = try api("POST", "/api/nodes/register", #"{"node_id":"edge-1"}"#)
        _ = try api("POST", "/api/jobs", #"{"id":"stream-1"}"#)
        XCTAssertTrue(try api("GET", "/api/jobs/next?node_id=edge-1").contains(#""status":"assigned""#))
        XCTAssertTrue(try api("POST", "/api/nodes/edge-1/heartbeat", #"{"running_jobs":["stream-1"]}"#).contains(#""cancel":[]"#))
        var state = ""
        for _ in 0..<100 where !state.contains(#""status":"unknown""#) {
            usleep(50_000)
            state = try api("GET", "/api/jobs/stream-1")
        }
        XCTAssertTrue(state.contains(#""status":"unknown""#), state)
        XCTAssertTrue(try api("GET", "/api/nodes").contains(#""status":"lost""#))
        _ = try api("POST", "/api/nodes/register", #"{"node_id":"edge-1","running_jobs":["stream-1"]}"#)
        XCTAssertTrue(try api("GET", "/api/jobs/stream-1").contains(#""status":"running""#))
    }

    func testMasterRefusesToStartWithoutAKeyOrWithAKeyInArgv() throws {
        let bin = binDir
        let noKey = try run(bin + "/ffrtmp-master", ["--listen", "127.0.0.1:1"], env: ["FFRTMP_API_KEY": ""])
        XCTAssertNotEqual(noKey.0, 0)
        XCTAssertTrue(noKey.2.contains("FFRTMP_API_KEY"), noKey.2)
        let argv = try run(bin + "/ffrtmp-master", ["--api-key", "secret"], env: [:])
        XCTAssertNotEqual(argv.0, 0, "there must be no way to pass the key in argv")
    }
}
