@testable import FFRTMPAgent
import FFRTMPCore
import FFRTMPMaster
import FFRTMPWire
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import FFRTMPTestSupport

/// Hand-picked hostile inputs, one table per surface, each with the exact outcome it must get.
@Suite struct HostileCasesTests {
    // MARK: job ids

    static let ids: [(raw: String, valid: Bool)] = [
        ("../x", false), ("../../etc/passwd", false), ("a/../b", false), ("a/b", false), ("/abs", false), ("a\u{0}b", false),
        ("\u{0}", false), (".hidden", false), (".", false), ("..", false), ("", false), (String(repeating: "a", count: 129), false),
        (String(repeating: "é", count: 70), false), ("a b", false), ("a\nb", false), ("é", false), ("%2e%2e", false), ("a%2Fb", false),
        ("a\\b", false), ("C:x", false), ("-rf", true), ("_", true), ("a..b", true), ("x.", true), ("ok-id_1.2", true),
        (String(repeating: "a", count: 128), true), (String(repeating: "Z9.", count: 42) + "ab", true),
    ]

    static func percentEncoded(_ s: String) -> String {
        // '.' stays literal (a path segment "." or ".." would be resolved away by URL rules) unless it leads.
        s.utf8.enumerated().map { i, b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f || (b == 0x2e && i > 0)
                ? String(UnicodeScalar(b)) : String(format: "%%%02X", b)
        }.joined()
    }

    @Test func jobIDsAreCheckedBeforeTheyBecomePaths() async throws {
        for (raw, valid) in Self.ids {
            let shown = raw.count > 40 ? "\(raw.prefix(20))…(\(raw.utf8.count) bytes)" : raw.debugDescription
            do {
                let id = try JobID(raw)
                #expect(valid, "JobID accepted \(shown)")
                #expect(id.value == raw)
                // Every attempt's journal id stays a valid id, however long the master's id is.
                for attempt in [1, 2, 1_000_000, Int.max] {
                    let j = try AgentJob.journalID(raw, attempt: attempt)
                    #expect(j.value.utf8.count <= JobID.maxLength && j.value.hasSuffix(".a\(attempt)"), "\(shown) #\(attempt) → \(j)")
                }
            } catch {
                #expect(!valid, "JobID refused \(shown): \(error)")
                #expect("\(error)".hasPrefix("invalid job id"), "\(shown): \(error)")
            }
        }
        // Two long ids that differ only past the kept prefix get different journal dirs.
        let a = String(repeating: "a", count: 120) + "x", b = String(repeating: "a", count: 120) + "y"
        #expect(try AgentJob.journalID(a, attempt: 1) != AgentJob.journalID(b, attempt: 1))

        try await MasterAPIProperties.withMaster { c in
            for (raw, valid) in Self.ids {
                let shown = raw.count > 40 ? "\(raw.prefix(20))…" : raw.debugDescription
                let body = J.obj([("id", .str(raw))]).text
                let created = try await c.execute(uri: "/api/jobs", method: .post, headers: MasterAPIProperties.auth, body: ByteBuffer(string: body))
                let msg = MasterAPIProperties.errorMessage(created) ?? ""
                #expect(created.status == (valid ? .created : .badRequest), "POST \(shown): \(created.status) \(msg)")
                if !valid { #expect(msg.hasPrefix("invalid id: "), "POST \(shown): \(msg)") }
                guard !raw.isEmpty else { continue }
                let got = try await c.execute(uri: "/api/jobs/" + Self.percentEncoded(raw), method: .get, headers: MasterAPIProperties.auth)
                #expect(got.status == (valid ? .ok : .badRequest), "GET \(shown): \(got.status) \(MasterAPIProperties.errorMessage(got) ?? "")")
                let cancel = try await c.execute(uri: "/api/jobs/" + Self.percentEncoded(raw) + "/cancel", method: .post, headers: MasterAPIProperties.auth)
                #expect(cancel.status == (valid ? .ok : .badRequest), "cancel \(shown): \(cancel.status)")
                let beat = try await c.execute(uri: "/api/nodes/\(Self.percentEncoded(raw))/heartbeat", method: .post,
                                               headers: MasterAPIProperties.auth, body: ByteBuffer(string: #"{"running_jobs":[]}"#))
                #expect(beat.status == (valid ? .notFound : .badRequest), "heartbeat \(shown): \(beat.status)")
                let next = try await c.execute(uri: "/api/jobs/next?node_id=" + Self.percentEncoded(raw), method: .get, headers: MasterAPIProperties.auth)
                #expect(next.status == (valid ? .notFound : .badRequest), "next \(shown): \(next.status)")
            }
        }

        let fx = try AgentFixture()
        for (raw, valid) in Self.ids {
            let answer = fx.agent.handle(ControlRequest(op: .kill, job: raw))
            #expect(answer.contains(valid ? "no job" : "invalid job id"), "kill \(raw.debugDescription): \(answer)")
        }
    }

    // MARK: parameters

    static let parameters: [(json: String, field: String)] = [
        (#"{"input":"-i"}"#, "parameters.input"),
        (#"{"input":"-filter_complex"}"#, "parameters.input"),
        (#"{"input":"testsrc","output":"-f"}"#, "parameters.output"),
        (#"{"input":"/srv/a.mp4 -f lavfi -i x"}"#, "parameters.input"),
        (#"{"input":"/srv/a.mp4;id"}"#, "parameters.input"),
        (#"{"input":"/srv/$(id).mp4"}"#, "parameters.input"),
        (#"{"input":"/srv/`id`.mp4"}"#, "parameters.input"),
        (#"{"input":"/srv/a.mp4|nc"}"#, "parameters.input"),
        (#"{"input":"/srv/a.mp4&"}"#, "parameters.input"),
        (#"{"input":"/srv/a'.mp4"}"#, "parameters.input"),
        (#"{"input":"/srv/a\".mp4"}"#, "parameters.input"),
        (#"{"input":"/srv/a.mp4\n-y"}"#, "parameters.input"),
        (#"{"input":"/srv/a.mp4\u0000x"}"#, "parameters.input"),
        (#"{"input":"/srv/a.mp4 ! filesink location=/etc/x"}"#, "parameters.input"),
        (#"{"input":"../secret.mp4"}"#, "parameters.input"),
        (#"{"input":"/srv/../etc/shadow"}"#, "parameters.input"),
        (#"{"input":"testsrc","output":"/srv/media/../../etc/cron.d/x"}"#, "parameters.output"),
        (#"{"input":"/etc/shadow"}"#, "parameters.input"),
        (#"{"input":"//etc/shadow"}"#, "parameters.input"),
        (#"{"input":"/./etc/shadow"}"#, "parameters.input"),
        (#"{"input":"testsrc","output":"//etc/passwd"}"#, "parameters.output"),
        (#"{"input":"testsrc","output":"/usr//bin/ffmpeg"}"#, "parameters.output"),
        (#"{"input":"testsrc","output":"/./proc/sysrq-trigger"}"#, "parameters.output"),
        (#"{"input":"testsrc","output":"///dev/sda"}"#, "parameters.output"),
        (#"{"input":"concat:/etc/passwd|/etc/shadow"}"#, "parameters.input"),
        (#"{"input":"subfile:,,start,0,end,0,,:/etc/shadow"}"#, "parameters.input"),
        (#"{"input":"file:/etc/passwd"}"#, "parameters.input"),
        (#"{"input":"file:///etc/passwd"}"#, "parameters.input"),
        (#"{"input":"pipe:0"}"#, "parameters.input"),
        (#"{"input":"tcp://127.0.0.1:9/x"}"#, "parameters.input"),
        (#"{"input":"testsrc","output":"http://x/y"}"#, "parameters.output"),
        (#"{"input":"testsrc","output":"testsrc"}"#, "parameters.output"),
        (#"{"input":"testsrc","bitrate":"1M -vf x"}"#, "parameters.bitrate"),
        (#"{"input":"testsrc","bitrate":"-1"}"#, "parameters.bitrate"),
        (#"{"input":"testsrc","preset":"fast;id"}"#, "parameters.preset"),
        (#"{"input":"testsrc","codec":"libx264 -y"}"#, "parameters.codec"),
        (#"{"input":"testsrc","resolution":"-640x360"}"#, "parameters.resolution"),
        (#"{"input":"testsrc","resolution":"640xx360"}"#, "parameters.resolution"),
        (#"{"input":"testsrc","resolution":"+640x360"}"#, "parameters.resolution"),
        (#"{"input":"testsrc","resolution":"x640x360"}"#, "parameters.resolution"),
        (#"{"input":"testsrc","duration_seconds":-1}"#, "parameters.duration_seconds"),
        (#"{"input":"testsrc","fps":1e300}"#, "parameters.fps"),
    ]

    @Test func smuggledParametersAreUserErrorsNamingTheField() throws {
        let fx = try AgentFixture()
        for (i, (json, field)) in Self.parameters.enumerated() {
            let params = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
            for engine in [Engine.ffmpeg, .gstreamer] {
                let id = "hostile-\(i)-\(engine.rawValue)"
                fx.agent.start(MasterJob(id: id, engine: engine, parameters: params, wrapperEnabled: true, wrapperConstraints: nil, status: .assigned,
                                         nodeID: "prop-node", attempt: 1, cancelRequested: false, createdAt: "", updatedAt: "", result: nil,
                                         platformSLA: nil, platformSLAReason: nil, failureReason: nil))
                let r = fx.queued(id)
                let error = string(r?.result?["error"]) ?? ""
                #expect(r?.failureReason == "user_error", "\(json) (\(engine)): \(r?.failureReason ?? "no result"): \(error)")
                #expect(error.hasPrefix("invalid \(field):") || error.hasPrefix("\(field) "), "\(json) (\(engine)): \(error)")
            }
        }
        // Paths as text, before anything is opened: absolute, no '..', inside a root, not the root.
        let roots = fx.agent.media.roots
        for (value, refused) in [("etc/passwd", true), ("./srv/media/a.mp4", true), ("srv/media/a.mp4", true), ("/srv/media/a.mp4", false),
                                 ("//srv//media/./a.mp4", false), ("/srv/media/../../etc/x", true), ("/srv/media", true), ("/srv/media/", true),
                                 ("/srv/mediax/a.mp4", true), ("//etc/passwd", true), ("/proc/self/root/srv/media/a.mp4", true),
                                 ("/run/shm/x", true), ("/lib64/x", true), ("/root/x.mp4", true)] {
            if refused {
                #expect(throws: FFRTMPError.self, "\(value)") { try roots.locate(value, field: "parameters.output") }
            } else {
                #expect(throws: Never.self, "\(value)") { try roots.locate(value, field: "parameters.output") }
            }
        }
    }

    // MARK: request size, API key

    @Test func oversizedBodiesAre413() async throws {
        try await MasterAPIProperties.withMaster { c in
            for uri in ["/api/jobs", "/api/results", "/api/nodes/register", "/api/nodes/n1/heartbeat"] {
                for (size, tooBig) in [((1 << 20) + 1, true), (2 << 20, true), (16 << 20, true), ((1 << 20) - 64, false)] {
                    let filler = String(repeating: "a", count: size - #"{"x":""}"#.utf8.count)
                    let r = try await c.execute(uri: uri, method: .post, headers: MasterAPIProperties.auth, body: ByteBuffer(string: #"{"x":""# + filler + #""}"#))
                    if tooBig {
                        #expect(r.status == .contentTooLarge, "\(uri) \(size) bytes: \(r.status)")
                    } else {
                        // Read in full, then judged on its fields.
                        #expect(r.status != .contentTooLarge && r.status.code < 500, "\(uri) \(size) bytes: \(r.status)")
                    }
                }
            }
        }
    }

    @Test func wrongOrMissingKeysAre401() async throws {
        let key = MasterAPIProperties.key
        let wrong: [String?] = [nil, "", "Bearer", "Bearer ", "Bearer \(key)x", "Bearer \(key.dropLast())", "bearer \(key)",
                                "BEARER \(key)", "Basic \(Data("x:\(key)".utf8).base64EncodedString())", "Bearer  \(key)", "\(key)",
                                "Bearer \(key.uppercased())", "Bearer \(String(repeating: "k", count: 100_000))", "Bearer \u{0}\(key)"]
        let routes: [(String, HTTPRequest.Method)] = [("/api/jobs", .get), ("/api/jobs", .post), ("/api/jobs/x", .get), ("/api/jobs/x/cancel", .post),
                                                      ("/api/jobs/next?node_id=n", .get), ("/api/nodes", .get), ("/api/nodes/register", .post),
                                                      ("/api/nodes/n/heartbeat", .post), ("/api/results", .post)]
        try await MasterAPIProperties.withMaster { c in
            for header in wrong {
                var h: HTTPFields = [.contentType: "application/json"]
                if let header { h[.authorization] = header }
                for (uri, method) in routes {
                    let r = try await c.execute(uri: uri, method: method, headers: h, body: ByteBuffer(string: "{}"))
                    #expect(r.status == .unauthorized, "\(method) \(uri) with \(header.map { String($0.prefix(40)).debugDescription } ?? "no key"): \(r.status)")
                    #expect(r.headers[.wwwAuthenticate] == "Bearer", "\(method) \(uri)")
                }
            }
            // The right key gets past the check on every route (whatever the route then says).
            for (uri, method) in routes {
                let r = try await c.execute(uri: uri, method: method, headers: MasterAPIProperties.auth, body: ByteBuffer(string: "{}"))
                #expect(r.status != .unauthorized, "\(method) \(uri) with the key: \(r.status)")
            }
            #expect(try await c.execute(uri: "/health", method: .get).status == .ok)
        }
    }

    /// Deeply nested JSON must not overflow a stack anywhere: the decoder's limit refuses it.
    @Test func deeplyNestedBodiesAreRefusedNotCrashed() async throws {
        try await MasterAPIProperties.withMaster { c in
            for depth in [100, 512, 513, 2_000, 100_000] {
                let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
                for (uri, body) in [("/api/jobs", #"{"parameters":{"x":"# + nested + "}}"), ("/api/results",
                                    #"{"job_id":"j","attempt":1,"node_id":"n","status":"failed","result":"# + nested + "}"),
                                    ("/api/nodes/register", #"{"node_id":"n","running_jobs":"# + nested + "}")] {
                    let r = try await c.execute(uri: uri, method: .post, headers: MasterAPIProperties.auth, body: ByteBuffer(string: body))
                    #expect(r.status.code < 500, "\(uri) depth \(depth): \(r.status)")
                    if r.status == .badRequest { #expect(MasterAPIProperties.errorMessage(r)?.hasPrefix("invalid ") == true, "\(uri) depth \(depth)") }
                }
            }
        }
    }

    // MARK: control socket peers

    static func binDir() -> String? {
        if let d = ProcessInfo.processInfo.environment["FFRTMP_BIN_DIR"], !d.isEmpty { return d }
        var dir = ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]) as NSString
        while dir.length > 1 {
            dir = dir.deletingLastPathComponent as NSString
            if FileManager.default.isExecutableFile(atPath: (dir as String) + "/ffrtmp") { return dir as String }
        }
        return nil
    }

    static func run(_ argv: [String], env: [String: String]) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// SO_PEERCRED: a real standalone agent, and a client that runs as `nobody` (setpriv) and
    /// can reach the socket (the state dir made traversable, the socket world-writable), is
    /// still refused before its request is read; root is answered on the same socket.
    @Test(.enabled(if: geteuid() == 0, "skipped: needs root to run a client as another user"),
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "skipped: /usr/bin/setpriv (util-linux) is not installed"))
    func controlSocketRefusesAnUnauthorisedPeer() throws {
        guard let bin = Self.binDir(), FileManager.default.isExecutableFile(atPath: bin + "/ffrtmp") else {
            Issue.record("no ffrtmp binary found (set FFRTMP_BIN_DIR or run `swift build` first)")
            return
        }
        let dir = try TempDir("ffrtmp-prop-peer")
        let state = dir.path + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try "NODE_ID=peer-test\n".write(toFile: dir.path + "/worker.env", atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MASTER_") && !$0.key.hasPrefix("FFRTMP_") && $0.key != "NODE_ID" }
        env["FFRTMP_STATE_DIR"] = state
        env["FFRTMP_CGROUP_DRIVER"] = "none"  // nothing here needs a cgroup: the machine stays untouched
        env["JOB_USER"] = "nobody"
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: bin + "/ffrtmp")
        agent.arguments = ["agent", "--config", dir.path + "/worker.env"]
        agent.environment = env
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        agent.standardInput = FileHandle.nullDevice
        try agent.run()
        defer {
            kill(agent.processIdentifier, SIGTERM)
            agent.waitUntilExit()
        }
        let sock = state + "/agent.sock"
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: sock) && agent.isRunning { usleep(20_000) }
        try #require(FileManager.default.fileExists(atPath: sock), "the agent did not open its control socket")
        // Reachable by anyone: only the credential check stands between `nobody` and the agent.
        for d in [dir.path, state] { chmod(d, 0o755) }
        chmod(sock, 0o666)
        // The client binary where `nobody` can surely execute it (the build tree may be private).
        let client = dir.path + "/ffrtmp"
        try FileManager.default.copyItem(atPath: bin + "/ffrtmp", toPath: client)
        chmod(client, 0o755)
        let request = #"{"op":"set_wrapper","enabled":true}"#
        let outsider = try Self.run(["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", client, "ctl",
                                     "--state-dir", state, request], env: env)
        #expect(outsider.status == 1, "nobody's request: exit \(outsider.status): \(outsider.out)")
        #expect(outsider.out.contains(#""ok":false"#) && outsider.out.contains("unauthorised peer: uid 65534"), "\(outsider.out)")
        let file = try String(contentsOfFile: dir.path + "/worker.env", encoding: .utf8)
        #expect(!file.contains("WRAPPER_ENABLED"), "the refused request changed worker.env: \(file)")
        let root = try Self.run([bin + "/ffrtmp", "ctl", "--state-dir", state, #"{"op":"get_wrapper"}"#], env: env)
        #expect(root.status == 0 && root.out.contains(#""ok":true"#), "root's request: \(root.out)")
    }
}
