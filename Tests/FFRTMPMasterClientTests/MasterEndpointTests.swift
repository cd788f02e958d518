import FFRTMPWire
import XCTest

@testable import FFRTMPMasterClient

final class MasterEndpointTests: XCTestCase {
    func testURLsAreParsedAndAnythingElseIsRefused() throws {
        let a = try MasterEndpoint("https://master.example:8443/ffrtmp/")
        XCTAssertEqual([a.host, String(a.port), a.url], ["master.example", "8443", "https://master.example:8443/ffrtmp"])
        XCTAssertTrue(a.isHTTPS)
        XCTAssertEqual(try MasterEndpoint("http://h").port, 80)
        XCTAssertEqual(try MasterEndpoint("https://h").port, 443)
        let v6 = try MasterEndpoint("http://[::1]:9000")
        XCTAssertEqual([v6.host, String(v6.port)], ["::1", "9000"])
        for bad in ["ftp://m", "master:8080", "http://", "http://:80", "http://h:0", "http://h:70000", "http://h:x",
                    "http://user:pw@h", "http://h/?q=1", "http://h/#f", "http://h /", "http://[::1", "http://[::1]x", "https://h\0"] {
            XCTAssertThrowsError(try MasterEndpoint(bad), bad) { e in
                XCTAssertTrue("\(e)".contains("is not an https://HOST"), "\(bad): \(e)")
            }
        }
    }

    func testOnlyLoopbackHostsCountAsLoopback() throws {
        for h in ["127.0.0.1", "127.3.4.5", "localhost", "[::1]", "[0:0:0:0:0:0:0:1]"] {
            XCTAssertTrue(try MasterEndpoint("http://\(h):1").isLoopback, h)
        }
        for h in ["10.0.0.1", "128.0.0.1", "master", "[::2]", "[::ffff:127.0.0.1]", "localhost.example.com", "0.0.0.0"] {
            XCTAssertFalse(try MasterEndpoint("http://\(h):1").isLoopback, h)
        }
    }

    /// A TLS file that is missing or holds no PEM is a start-up error naming its setting.
    func testTLSFilesThatCannotBeReadNameTheirSetting() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ffrtmp-mc-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a certificate\n".write(toFile: dir + "/junk.pem", atomically: true, encoding: .utf8)
        let cases: [(MasterTLS, String)] = [
            (MasterTLS(caFile: dir + "/missing.pem"), "MASTER_CA_FILE=\(dir)/missing.pem"),
            (MasterTLS(caFile: dir + "/junk.pem"), "MASTER_CA_FILE=\(dir)/junk.pem"),
            (MasterTLS(clientCert: dir + "/junk.pem", clientKey: dir + "/junk.pem"), "MASTER_CLIENT_CERT=\(dir)/junk.pem"),
            (MasterTLS(clientCert: dir + "/junk.pem"), "MASTER_CLIENT_KEY"),
            (MasterTLS(clientKey: dir + "/junk.pem"), "MASTER_CLIENT_CERT"),
        ]
        for (tls, named) in cases {
            XCTAssertThrowsError(try MasterClient(baseURL: "https://127.0.0.1:1", key: "k", tls: tls), named) { e in
                XCTAssertTrue("\(e)".hasPrefix(named), "\(e)")
            }
        }
    }

    /// A refused connection is a transport error naming the master, within the deadline.
    func testAnUnreachableMasterIsATransportErrorNamingIt() throws {
        XCTAssertThrowsError(try MasterClient.once(baseURL: "http://127.0.0.1:1", key: "k", tls: MasterTLS()) { try await $0.call("GET", "/health") }) { e in
            guard case MasterClient.ClientError.transport(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("http://127.0.0.1:1"), m)
        }
    }

    /// The master's idle pace as the agent follows it: a hostile or broken value (negative, NaN,
    /// infinite, enormous) can never make an agent poll faster than its POLL_INTERVAL nor wait
    /// longer than 60 s; an answer with jobs, or without a pace, keeps POLL_INTERVAL.
    func testTheIdlePaceIsBoundedWhateverTheMasterSays() {
        let empty = { (v: Double?) in PollAnswer(jobs: [], leaseSeconds: 30, idlePollSeconds: v) }
        for v in [-5, 0, 1, .nan, .infinity, -.infinity] as [Double] {
            XCTAssertEqual(empty(v).nextPollDelay(base: 2, jitter: 1), 2, "pace \(v)")
        }
        XCTAssertEqual(empty(nil).nextPollDelay(base: 2, jitter: 0.5), 2)
        XCTAssertEqual(empty(20).nextPollDelay(base: 2, jitter: 0), 15, "-25 %")
        XCTAssertEqual(empty(20).nextPollDelay(base: 2, jitter: 1), 25, "+25 %")
        XCTAssertEqual(empty(20).nextPollDelay(base: 2, jitter: 7), 25, "jitter clamped")
        XCTAssertEqual(empty(1e12).nextPollDelay(base: 2, jitter: 1), 60, "at most 60 s, jitter included")
        XCTAssertEqual(empty(1e12).nextPollDelay(base: 90, jitter: 0), 90, "a POLL_INTERVAL above it stays")
        XCTAssertEqual(empty(2.2).nextPollDelay(base: 2, jitter: 0), 2, "never below POLL_INTERVAL")
        let job = MasterJob(id: "j", engine: .ffmpeg, parameters: .object([:]), wrapperEnabled: nil, wrapperConstraints: nil, status: .assigned,
                            nodeID: "n", attempt: 1, cancelRequested: false, createdAt: "", updatedAt: "", result: nil, platformSLA: nil,
                            platformSLAReason: nil, failureReason: nil)
        XCTAssertEqual(PollAnswer(jobs: [job], leaseSeconds: 30, idlePollSeconds: 50).nextPollDelay(base: 2, jitter: 1), 2)
    }
}
