import Foundation
import XCTest
import FFRTMPTestSupport

/// `ffrtmp-master nodes add|list|revoke` as real processes, and the printed key against a
/// real master started the old way (`ffrtmp-master --listen … --db …`, no subcommand).
extension JobsCLITests {
    func testNodesAddPrintsAWorkingKeyOnceAndRefusesASecond() throws {
        let bin = binDir
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw XCTSkip("skipped: curl is not installed") }
        let dir = try TempDir()
        let db = "sqlite:\(dir.path)/keys.db"
        let add = try run(bin + "/ffrtmp-master", ["nodes", "add", "edge-cli", "--db", db], env: [:])
        XCTAssertEqual(add.0, 0, add.2)
        let lines = add.1.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 2, "the key and nothing else on stdout: \(add.1)")
        let key = String(lines[0])
        XCTAssertTrue(key.hasPrefix("ffrtmp_node_") && key.count == 12 + 64, key)
        XCTAssertFalse(add.2.contains(key), "the key is printed once, on stdout only")
        let twice = try run(bin + "/ffrtmp-master", ["nodes", "add", "edge-cli", "--db", db], env: [:])
        XCTAssertNotEqual(twice.0, 0)
        XCTAssertEqual(twice.1, "", "no key on a refused add")
        XCTAssertTrue(twice.2.contains(#"node "edge-cli" already has a live key"#) && twice.2.contains("nodes revoke edge-cli"), twice.2)
        // MASTER_DB works as for the server.
        XCTAssertEqual(try run(bin + "/ffrtmp-master", ["nodes", "add", "edge-other"], env: ["MASTER_DB": db]).0, 0)
        let list = try run(bin + "/ffrtmp-master", ["nodes", "list", "--db", db], env: [:])
        XCTAssertEqual(list.0, 0, list.2)
        XCTAssertTrue(list.1.hasPrefix("NODE_ID") && list.1.contains("edge-cli") && list.1.contains("edge-other") && list.1.contains("live"), list.1)
        XCTAssertFalse(list.1.contains("ffrtmp_node_"), "never a key in the list")

        let port = 19_981 + Int(getpid() % 300)
        let master = Process()
        master.executableURL = URL(fileURLWithPath: bin + "/ffrtmp-master")
        let readKey = "read-only-key-0123456789abcdef"
        dir.write("read.key", readKey + "\n")
        master.arguments = ["--listen", "127.0.0.1:\(port)", "--db", db, "--read-key-file", dir.path + "/read.key"]
        master.environment = ProcessInfo.processInfo.environment.merging(["FFRTMP_API_KEY": Self.key]) { $1 }
        master.standardOutput = FileHandle.nullDevice
        master.standardError = FileHandle.nullDevice
        try master.run()
        defer { master.terminate(); master.waitUntilExit() }
        var up = false
        for _ in 0..<200 where !up {
            up = (try? run("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/health"], env: [:]).0) == 0
            if !up { usleep(50_000) }
        }
        XCTAssertTrue(up, "master did not come up")
        func register(_ node: String, with key: String) throws -> String {
            try run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Authorization: Bearer \(key)",
                                     "-d", #"{"node_id":"\#(node)"}"#, "http://127.0.0.1:\(port)/api/nodes/register"], env: [:]).1
        }
        XCTAssertEqual(try register("edge-cli", with: key), "200")
        func status(_ method: String, _ path: String, with key: String) throws -> String {
            try run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, "-H", "Authorization: Bearer \(key)",
                                     "-d", #"{"id":"r-1"}"#, "http://127.0.0.1:\(port)\(path)"], env: [:]).1
        }
        XCTAssertEqual(try status("GET", "/api/nodes", with: readKey), "200", "--read-key-file: the read key may list")
        XCTAssertEqual(try status("POST", "/api/jobs", with: readKey), "403", "the read key may not submit")
        XCTAssertEqual(try status("POST", "/api/jobs", with: Self.key), "201")
        XCTAssertEqual(try status("GET", "/api/jobs/r-1", with: key), "403", "a node key may not read jobs")
        XCTAssertEqual(try register("edge-other", with: key), "403")
        XCTAssertEqual(try register("edge-cli", with: Self.key), "403", "the admin key on a node route, without --allow-shared-node-key")
        let revoke = try run(bin + "/ffrtmp-master", ["nodes", "revoke", "edge-cli", "--db", db], env: [:])
        XCTAssertEqual(revoke.0, 0, revoke.2)
        XCTAssertEqual(try register("edge-cli", with: key), "401", "a revoked key is refused by the running master at once")
        XCTAssertTrue(try run(bin + "/ffrtmp-master", ["nodes", "list", "--db", db], env: [:]).1.contains("revoked"))
        let readd = try run(bin + "/ffrtmp-master", ["nodes", "add", "edge-cli", "--db", db], env: [:])
        XCTAssertEqual(readd.0, 0, "rotate = revoke, then add: \(readd.2)")
        XCTAssertEqual(try register("edge-cli", with: readd.1.trimmingCharacters(in: .whitespacesAndNewlines)), "200")
    }
}
