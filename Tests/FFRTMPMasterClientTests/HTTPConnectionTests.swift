@testable import FFRTMPMasterClient
import XCTest

final class HTTPConnectionTests: XCTestCase {
    func testURLForms() throws {
        let a = try HTTPConnection.parse("http://master:8080/")
        XCTAssertEqual(a.host, "master")
        XCTAssertEqual(a.port, 8080)
        XCTAssertEqual(a.prefix, "")
        XCTAssertEqual(try HTTPConnection.parse("http://10.0.0.1/ffrtmp").prefix, "/ffrtmp")
        XCTAssertEqual(try HTTPConnection.parse("http://h").port, 80)
        for bad in ["https://h", "ftp://h", "http://", "http://h:99999", "http://h:x", "master:8080"] {
            XCTAssertThrowsError(try HTTPConnection.parse(bad), bad)
        }
        XCTAssertThrowsError(try MasterClient(baseURL: "https://m", key: "k")) { e in
            XCTAssertTrue("\(e)".contains("http://HOST[:PORT]"), "\(e)")
        }
    }

    func testContentLengthAndChunkedBodies() throws {
        let plain = Array("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}extra".utf8)
        let r = try HTTPConnection.parseResponse(plain)
        XCTAssertEqual(r.status, 201)
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "{\"a\":1}")
        let chunked = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n".utf8)
        XCTAssertEqual(String(decoding: try HTTPConnection.parseResponse(chunked).body, as: UTF8.self), "{\"a\":1}")
        XCTAssertThrowsError(try HTTPConnection.parseResponse(Array("HTTP/1.1 200 OK\r\n".utf8)))
        XCTAssertThrowsError(try HTTPConnection.parseResponse(Array("garbage\r\n\r\n".utf8)))
        XCTAssertThrowsError(try HTTPConnection.parseResponse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8)))
        // Hostile or broken answers are errors, never a crash or a silently short body.
        for raw in ["HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nabc",
                    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n0\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\nabc\r\n0\r\n\r\n"] {
            XCTAssertThrowsError(try HTTPConnection.parseResponse(Array(raw.utf8)), raw)
        }
    }

    func testConnectionRefusedIsATransportErrorNamingTheAddress() throws {
        let c = try MasterClient(baseURL: "http://127.0.0.1:1", key: "k")
        XCTAssertThrowsError(try c.job("x")) { e in
            XCTAssertTrue("\(e)".contains("cannot reach the master") && "\(e)".contains("127.0.0.1:1"), "\(e)")
        }
    }
}
