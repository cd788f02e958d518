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
}
