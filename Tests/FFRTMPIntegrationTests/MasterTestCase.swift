import Foundation
import XCTest

/// Tests with a real `ffrtmp-master` (SQLite, on loopback), over http or, with `tls`, https
/// with certificates the test makes with openssl.
class MasterTestCase: IntegrationTestCase {
    static let key = "agent-test-key-0123456789"
    var master: Process?
    var port = 0
    /// Set by startMaster(tls:): the CA the master's certificate chains to.
    var caFile: String?
    var scheme: String { caFile == nil ? "http" : "https" }
    /// The agent's own key for node edge-test (`ffrtmp-master nodes add`), issued on the first
    /// startMaster: the admin key may not call the node routes.
    var nodeKey: String?

    override func tearDown() {
        if let m = master, m.isRunning { m.terminate(); m.waitUntilExit() }
        super.tearDown()
    }

    func requireFFmpeg() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg"), "skipped: ffmpeg is not installed (scripts/test.sh installs it)")
    }

    /// `extra`: more master flags (e.g. --tls-client-ca). `tls`: the certificates to serve.
    func startMaster(tls: TestPKI? = nil, extra: [String] = []) throws {
        port = 20_081 + Int(getpid() % 500)
        let m = Process()
        m.executableURL = URL(fileURLWithPath: h.binDir + "/ffrtmp-master")
        m.arguments = ["--listen", "127.0.0.1:\(port)", "--db", "sqlite:\(h.stateDir)/master.db"]
            + (tls.map { ["--tls-cert", $0.serverCert, "--tls-key", $0.serverKey] } ?? []) + extra
        m.environment = ProcessInfo.processInfo.environment.merging(["FFRTMP_API_KEY": Self.key]) { $1 }
        m.standardOutput = FileHandle.nullDevice
        m.standardError = FileHandle.nullDevice
        caFile = tls?.caCert
        clientPair = tls.map { ($0.clientCert, $0.clientKey) }
        if nodeKey == nil { nodeKey = try issueNodeKey("edge-test") }
        try m.run()
        master = m
        XCTAssertTrue(h.waitUntil(10, "master healthy") { (try? self.api("GET", "/health")).map { $0.contains("ok") } ?? false })
    }

    /// `ffrtmp-master nodes add NODE --db sqlite:…` (the master's store): the key it prints.
    func issueNodeKey(_ node: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: h.binDir + "/ffrtmp-master")
        p.arguments = ["nodes", "add", node, "--db", "sqlite:\(h.stateDir)/master.db"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(p.terminationStatus, 0, "ffrtmp-master nodes add \(node)")
        XCTAssertTrue(key.hasPrefix("ffrtmp_node_"), key)
        return key
    }

    /// curl's client certificate, for a master that requires one.
    var clientPair: (String, String)?

    var agentEnv: [String: String] {
        var e = ["MASTER_URL": "\(scheme)://127.0.0.1:\(port)", "FFRTMP_API_KEY": nodeKey ?? Self.key, "NODE_ID": "edge-test",
                 "POLL_INTERVAL": "0.1", "HEARTBEAT_INTERVAL": "0.3", "FFMPEG_PATH": "/usr/bin/ffmpeg"]
        if let caFile { e["MASTER_CA_FILE"] = caFile }
        return e
    }

    @discardableResult
    func api(_ method: String, _ path: String, _ body: String? = nil) throws -> String {
        var tlsArgs: [String] = caFile.map { ["--cacert", $0] } ?? []
        if let (cert, key) = clientPair { tlsArgs += ["--cert", cert, "--key", key] }
        return try Harness.output("/usr/bin/curl", ["-s", "-X", method, "-H", "Authorization: Bearer \(Self.key)"] + tlsArgs
            + ["\(scheme)://127.0.0.1:\(port)\(path)"] + (body.map { ["-d", $0] } ?? [])).stdout
    }

    func job(_ id: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try api("GET", "/api/jobs/\(id)").utf8)) as? [String: Any] ?? [:]
    }

    func submit(_ id: String, wrapper: Bool?, seconds: Double = 1, extra: String = "") throws {
        let w = wrapper.map { #","wrapper_enabled":\#($0)"# } ?? ""
        let body = #"{"id":"\#(id)","engine":"ffmpeg","parameters":{"input":"testsrc","resolution":"160x120","fps":10,"duration_seconds":\#(seconds),"realtime":true}\#(w)\#(extra)}"#
        XCTAssertTrue(try api("POST", "/api/jobs", body).contains(#""status":"queued""#))
    }
}

/// A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, made
/// with openssl in `dir` (which the test's state dir holds and removes).
struct TestPKI {
    let dir: String
    var caCert: String { dir + "/ca.pem" }
    var serverCert: String { dir + "/server.pem" }
    var serverKey: String { dir + "/server.key" }
    var clientCert: String { dir + "/client.pem" }
    var clientKey: String { dir + "/client.key" }

    init(dir: String, name: String = "ffrtmp test CA") throws {
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: dir + "/server.ext", atomically: true, encoding: .utf8)
        try "subjectAltName=DNS:edge-test\nextendedKeyUsage=clientAuth\n".write(toFile: dir + "/client.ext", atomically: true, encoding: .utf8)
        try Self.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(name)",
                          "-keyout", dir + "/ca.key", "-out", caCert])
        for (who, cn) in [("server", "127.0.0.1"), ("client", "edge-test")] {
            try Self.openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(cn)", "-keyout", dir + "/\(who).key", "-out", dir + "/\(who).csr"])
            try Self.openssl(["x509", "-req", "-in", dir + "/\(who).csr", "-CA", caCert, "-CAkey", dir + "/ca.key", "-CAcreateserial",
                              "-days", "2", "-extfile", dir + "/\(who).ext", "-out", dir + "/\(who).pem"])
            chmod(dir + "/\(who).key", 0o600)
        }
    }

    /// A client certificate this CA signs, subject CN `cn`, with the subjectAltName entries
    /// `sans` (e.g. `DNS:node-a`; none: no SAN extension), and its key, as `dir/NAME.pem|.key`.
    func issueClient(_ name: String, cn: String, sans: [String] = []) throws -> (cert: String, key: String) {
        let (cert, key, ext) = (dir + "/\(name).pem", dir + "/\(name).key", dir + "/\(name).ext")
        try ((sans.isEmpty ? "" : "subjectAltName=\(sans.joined(separator: ","))\n") + "extendedKeyUsage=clientAuth\n")
            .write(toFile: ext, atomically: true, encoding: .utf8)
        try Self.openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(cn)", "-keyout", key, "-out", dir + "/\(name).csr"])
        try Self.openssl(["x509", "-req", "-in", dir + "/\(name).csr", "-CA", caCert, "-CAkey", dir + "/ca.key", "-CAcreateserial",
                          "-days", "2", "-extfile", ext, "-out", cert])
        chmod(key, 0o600)
        return (cert, key)
    }

    static func openssl(_ args: [String]) throws {
        let err = Pipe()
        let (status, _) = try Harness.output("/usr/bin/openssl", args, stderr: err)
        guard status == 0 else {
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw NSError(domain: "openssl \(args.first ?? "")", code: Int(status), userInfo: [NSLocalizedDescriptionKey: text])
        }
    }
}

/// A datagram socket standing in for systemd's NOTIFY_SOCKET: what the agent sends, with the
/// time each message arrived.
final class NotifySocket {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard fd >= 0, rc == 0 else { throw NSError(domain: "bind \(path)", code: Int(errno)) }
    }

    deinit { close(fd) }

    /// The next message, or nil when none came within `timeout` seconds.
    func receive(timeout: Double) -> (text: String, at: Date)? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buf, buf.count, 0)
        return n > 0 ? (String(decoding: buf[0..<n], as: UTF8.self), Date()) : nil
    }
}
