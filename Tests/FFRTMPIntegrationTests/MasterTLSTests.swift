import Foundation
import XCTest

/// The agent and `ffrtmp jobs` talk to the master over HTTPS (AsyncHTTPClient on NIOSSL), with
/// a CA, server and client certificates this test makes with openssl.
final class MasterTLSTests: MasterTestCase {
    func waitForLog(_ r: Harness.Running, _ text: String, _ timeout: Double = 20) -> Bool {
        h.waitUntil(timeout, "agent log says \(text)") { r.stderrSoFar.contains(text) }
    }

    /// A master whose certificate another CA signed is refused, with an error naming
    /// MASTER_CA_FILE; with the right CA the agent runs the job over https, and `ffrtmp jobs`
    /// reads it over https.
    func testJobsRunOverHTTPSAndAMasterOfAnotherCAIsRefused() throws {
        try requireFFmpeg()
        let pki = try TestPKI(dir: h.stateDir + "/pki")
        let rogue = try TestPKI(dir: h.stateDir + "/rogue", name: "someone else's CA")
        try startMaster(tls: pki)
        try submit("tls1", wrapper: true)

        var env = agentEnv
        env["MASTER_CA_FILE"] = rogue.caCert
        let refused = try h.start(["agent"], env: env)
        XCTAssertTrue(waitForLog(refused, "MASTER_CA_FILE=\(rogue.caCert)"))
        kill(refused.pid, SIGTERM)
        let out = try h.finish(refused)
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertTrue(out.stderr.contains("TLS with 127.0.0.1:\(port) failed"), out.stderr)
        XCTAssertEqual(try job("tls1")["status"] as? String, "queued", "the refused agent took no job")

        // No CA pinned: the system trust store does not know the test CA either, and says where to pin one.
        env["MASTER_CA_FILE"] = nil
        let unpinned = try h.start(["agent"], env: env)
        XCTAssertTrue(waitForLog(unpinned, "system trust store"))
        kill(unpinned.pid, SIGTERM)
        _ = try h.finish(unpinned)

        let agent = try h.start(["agent"], env: agentEnv)
        XCTAssertTrue(h.waitUntil(30, "job completed over https") { (try? self.job("tls1"))?["status"] as? String == "completed" })
        let got = try h.ffrtmp(["jobs", "get", "tls1", "--json"], env: ["MASTER_URL": "https://127.0.0.1:\(port)", "FFRTMP_API_KEY": Self.key, "MASTER_CA_FILE": pki.caCert])
        XCTAssertEqual(got.status, 0, got.stderr)
        XCTAssertTrue(got.stdout.contains(#""status" : "completed""#) || got.stdout.contains(#""status":"completed""#), got.stdout)
        let wrong = try h.ffrtmp(["jobs", "get", "tls1"], env: ["MASTER_URL": "https://127.0.0.1:\(port)", "FFRTMP_API_KEY": Self.key, "MASTER_CA_FILE": rogue.caCert])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("MASTER_CA_FILE=\(rogue.caCert)"), wrong.stderr)
        kill(agent.pid, SIGTERM)
        XCTAssertEqual(try h.finish(agent).status, 0)
    }

    /// With --tls-client-ca the master takes only clients with a certificate its CA signed:
    /// an agent without one cannot register; with MASTER_CLIENT_CERT/KEY it runs the job.
    func testMutualTLSNeedsTheClientCertificate() throws {
        try requireFFmpeg()
        let pki = try TestPKI(dir: h.stateDir + "/pki")
        try startMaster(tls: pki, extra: ["--tls-client-ca", pki.caCert])
        try submit("mtls1", wrapper: true)
        let anonymous = try h.start(["agent"], env: agentEnv)
        XCTAssertTrue(waitForLog(anonymous, "register failed"))
        kill(anonymous.pid, SIGTERM)
        _ = try h.finish(anonymous)
        XCTAssertEqual(try job("mtls1")["status"] as? String, "queued")

        // A client key others can read is refused before any connection is made.
        chmod(pki.clientKey, 0o644)
        var env = agentEnv
        env["MASTER_CLIENT_CERT"] = pki.clientCert
        env["MASTER_CLIENT_KEY"] = pki.clientKey
        let loose = try h.ffrtmp(["agent"], env: env)
        XCTAssertEqual(loose.status, 78, loose.stderr)
        XCTAssertTrue(loose.stderr.contains("MASTER_CLIENT_KEY") && loose.stderr.contains("chmod 600"), loose.stderr)
        chmod(pki.clientKey, 0o600)

        let agent = try h.start(["agent"], env: env)
        XCTAssertTrue(h.waitUntil(30, "job completed over mutual TLS") { (try? self.job("mtls1"))?["status"] as? String == "completed" })
        kill(agent.pid, SIGTERM)
        XCTAssertEqual(try h.finish(agent).status, 0)
    }
}

/// Under --tls-client-ca a node key counts only with a client certificate that names its node
/// (subject CN or a SAN DNS name), made here with openssl and presented by curl.
final class NodeCertificateBindingTests: MasterTestCase {
    static let readKey = "read-only-key-0123456789"

    /// A master with mutual TLS, the node key of node-a, and a read-only key.
    func startBoundMaster() throws -> (pki: TestPKI, keyA: String) {
        let pki = try TestPKI(dir: h.stateDir + "/pki")
        let readKeyFile = h.stateDir + "/read.key"
        try Self.readKey.write(toFile: readKeyFile, atomically: true, encoding: .utf8)
        try startMaster(tls: pki, extra: ["--tls-client-ca", pki.caCert, "--read-key-file", readKeyFile])
        return (pki, try issueNodeKey("node-a"))
    }

    /// curl over mutual TLS with `key` and the client certificate `pair`: (HTTP status, the
    /// error's message for an error, else the body).
    func call(_ key: String, _ pair: (cert: String, key: String), _ method: String, _ path: String, _ body: String? = nil) throws -> (Int, String) {
        let out = try Harness.output("/usr/bin/curl", ["-s", "-X", method, "-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json",
                                                       "--cacert", caFile!, "--cert", pair.cert, "--key", pair.key, "-w", "\n%{http_code}",
                                                       "https://127.0.0.1:\(port)\(path)"] + (body.map { ["-d", $0] } ?? [])).stdout
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        let text = lines.dropLast().joined(separator: "\n")
        let error = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["error"] as? [String: Any]
        return (Int(lines.last ?? "") ?? -1, error?["message"] as? String ?? text)
    }

    func testANodeKeyIsAcceptedWithACertificateWhoseCNIsItsNode() throws {
        let (pki, keyA) = try startBoundMaster()
        let certA = try pki.issueClient("cn-a", cn: "node-a")
        let reg = try call(keyA, certA, "POST", "/api/nodes/register", #"{"node_id":"node-a"}"#)
        XCTAssertEqual(reg.0, 200, reg.1)
        let beat = try call(keyA, certA, "POST", "/api/nodes/node-a/heartbeat", #"{"running_jobs":[]}"#)
        XCTAssertEqual(beat.0, 200, beat.1)
        XCTAssertTrue(beat.1.contains(#""cancel""#), beat.1)
    }

    /// node-b's certificate with node-a's key: 403 on every node route, naming both; node-b's own
    /// key with it works, and the admin and read keys are not bound to the certificate's name.
    func testAnotherNodesCertificateWithTheKeyIsRefusedNamingBoth() throws {
        let (pki, keyA) = try startBoundMaster()
        let certA = try pki.issueClient("cn-a", cn: "node-a")
        let certB = try pki.issueClient("cn-b", cn: "node-b")
        XCTAssertEqual(try call(keyA, certA, "POST", "/api/nodes/register", #"{"node_id":"node-a"}"#).0, 200, "node-a is registered")
        let says = #"client certificate names "node-b" (CN) but the key is node "node-a"'s"#
        for (method, path, body) in [("POST", "/api/nodes/register", #"{"node_id":"node-a"}"#),
                                     ("POST", "/api/nodes/node-a/heartbeat", #"{"running_jobs":[]}"#),
                                     ("POST", "/api/nodes/node-a/poll", #"{"request_id":"r1","max":1}"#),
                                     ("POST", "/api/nodes/node-a/release", #"{"job_id":"j1","attempt":1}"#),
                                     ("GET", "/api/jobs/next?node_id=node-a", nil),
                                     ("POST", "/api/results", #"{"job_id":"j1","attempt":1,"node_id":"node-a","status":"completed"}"#)] {
            let (status, text) = try call(keyA, certB, method, path, body)
            XCTAssertEqual(status, 403, "\(method) \(path): \(text)")
            XCTAssertTrue(text.contains(says), "\(method) \(path): \(text)")
        }
        let keyB = try issueNodeKey("node-b")
        let own = try call(keyB, certB, "POST", "/api/nodes/register", #"{"node_id":"node-b"}"#)
        XCTAssertEqual(own.0, 200, "node-b's certificate with node-b's key: \(own.1)")
        XCTAssertEqual(try call(Self.key, certB, "GET", "/api/jobs").0, 200, "the admin key is not bound to a node")
        XCTAssertEqual(try call(Self.readKey, certB, "GET", "/api/nodes").0, 200, "the read key is not bound to a node")
    }

    /// A SAN DNS name equal to the node id is enough whatever the CN; a SAN that only starts with
    /// it is not (exact match), and the refusal lists every name the certificate carries.
    func testASANDNSNameOfTheNodeIsAcceptedWhateverTheCN() throws {
        let (pki, keyA) = try startBoundMaster()
        let san = try pki.issueClient("san-a", cn: "edge-box-17", sans: ["DNS:node-a", "DNS:edge-box-17.example"])
        let reg = try call(keyA, san, "POST", "/api/nodes/register", #"{"node_id":"node-a"}"#)
        XCTAssertEqual(reg.0, 200, reg.1)
        let beat = try call(keyA, san, "POST", "/api/nodes/node-a/heartbeat", #"{"running_jobs":[]}"#)
        XCTAssertEqual(beat.0, 200, beat.1)
        let near = try pki.issueClient("san-near", cn: "edge-box-18", sans: ["DNS:node-a-x", "DNS:node-A"])
        let (status, text) = try call(keyA, near, "POST", "/api/nodes/node-a/heartbeat", #"{"running_jobs":[]}"#)
        XCTAssertEqual(status, 403, text)
        XCTAssertTrue(text.contains(#"client certificate names "edge-box-18" (CN), "node-a-x" (SAN DNS), "node-A" (SAN DNS) but the key is node "node-a"'s"#), text)
    }
}

/// A master that accepts connections and never answers: the agent's calls time out on their
/// own tasks, while the loop keeps sending WATCHDOG=1 on time and the control socket answers.
final class BlackHoledMasterTests: IntegrationTestCase {
    func testABlackHoledMasterStallsNeitherTheWatchdogNorTheControlSocket() throws {
        // A listening socket nobody accepts on: the kernel completes the handshakes (backlog),
        // and no byte ever comes back.
        let lfd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(lfd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        XCTAssertEqual(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(lfd, $0, len) } }, 0)
        XCTAssertEqual(listen(lfd, 64), 0)
        XCTAssertEqual(withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(lfd, $0, &len) } }, 0)
        let port = Int(UInt16(bigEndian: addr.sin_port))

        let notify = try NotifySocket(path: h.stateDir + "/notify.sock")
        // WATCHDOG_USEC=1 s: systemd would restart an agent silent for longer; it sends every 0.5 s.
        let agent = try h.start(["agent"], env: ["MASTER_URL": "http://127.0.0.1:\(port)", "FFRTMP_API_KEY": "black-hole-key-0123456789",
                                                 "NODE_ID": "bh-node", "HEARTBEAT_INTERVAL": "0.2", "POLL_INTERVAL": "0.1",
                                                 "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        defer { kill(agent.pid, SIGTERM); _ = try? h.finish(agent) }
        var watchdog: [Date] = []
        while let m = notify.receive(timeout: 10), !m.text.contains("READY=1") { _ = m }
        var slowest = 0.0, answers = 0
        let until = Date().addingTimeInterval(12)
        var nextCtl = Date()
        while Date() < until {
            if let m = notify.receive(timeout: 0.05), m.text.contains("WATCHDOG=1") { watchdog.append(m.at) }
            if Date() >= nextCtl {
                let t0 = Date()
                let st = try h.ffrtmp(["ctl", #"{"op":"status"}"#])
                slowest = max(slowest, Date().timeIntervalSince(t0))
                XCTAssertTrue(st.stdout.contains(#""registered":false"#), st.stdout + st.stderr)
                answers += 1
                nextCtl = Date().addingTimeInterval(0.5)
            }
        }
        let gaps = zip(watchdog.dropFirst(), watchdog).map { $0.timeIntervalSince($1) }
        XCTAssertGreaterThanOrEqual(watchdog.count, 18, "WATCHDOG=1 every 0.5 s for 12 s")
        XCTAssertLessThan(gaps.max() ?? 99, 1.0, "longest silence between WATCHDOG=1: \(gaps.max() ?? -1) s")
        XCTAssertLessThan(slowest, 1.0, "slowest control-socket answer of \(answers)")
        kill(agent.pid, SIGTERM)
        let out = try h.finish(agent)
        XCTAssertEqual(out.status, 0)
        // The master was really called and really black-holed (each call ran into its deadline).
        XCTAssertTrue(out.stderr.contains("gave no answer within 5 s"), out.stderr)
    }
}
