@testable import FFRTMPAgent
import FFRTMPCore
import FFRTMPWire
import XCTest

final class NetworkPolicyTests: XCTestCase {
    static var hostname: String { Sys.hostname() }

    func testThisBoxIsRefusedAsAnInputByDefault() {
        let p = NetworkPolicy()
        for url in ["http://127.0.0.1:8080/x", "http://127.1/x", "http://2130706433/x", "http://localhost/x", "http://[::1]/x",
                    "http://[::ffff:127.0.0.1]/x", "http://169.254.169.254/latest", "http://[fe80::1]/x", "http://0.0.0.0/x",
                    "rtmp://user@127.0.0.1/app/key", "http://a.localhost/x", "http://[fe80::1%25eth0]/x", "http://[fe80::1%eth0]/x",
                    "http://[::127.0.0.1]/x", "http://127.0.0.1:18183:1/x", "http://\(Self.hostname)/x"] {
            XCTAssertThrowsError(try p.check(url, field: "parameters.input", output: false), url)
        }
        for url in ["http://10.0.0.1/x", "rtmp://live.example/app", "https://[2001:db8::1]:8443/x"] {
            XCTAssertNoThrow(try p.check(url, field: "parameters.input", output: false), url)
        }
        XCTAssertNoThrow(try p.check("rtmp://127.0.0.1/live/key", field: "parameters.output", output: true), "outputs: anywhere without a list")
    }

    func testAllowListsMatchHostAndPort() throws {
        let p = NetworkPolicy(inputHosts: try HostPattern.list("cam1.example, 127.0.0.1:8554,[::1]", key: "ALLOWED_INPUT_HOSTS"),
                              outputHosts: try HostPattern.list("cdn.example:1935", key: "ALLOWED_OUTPUT_HOSTS"))
        XCTAssertNoThrow(try p.check("http://CAM1.example:9000/x", field: "parameters.input", output: false))
        XCTAssertNoThrow(try p.check("srt://127.0.0.1:8554", field: "parameters.input", output: false), "named on purpose")
        XCTAssertThrowsError(try p.check("srt://127.0.0.1:8555", field: "parameters.input", output: false))
        XCTAssertThrowsError(try p.check("http://evil.example/x", field: "parameters.input", output: false)) { e in
            XCTAssertTrue("\(e)".contains("ALLOWED_INPUT_HOSTS"), "\(e)")
        }
        XCTAssertNoThrow(try p.check("rtmp://cdn.example/app/key", field: "parameters.output", output: true), "rtmp's default port 1935")
        XCTAssertThrowsError(try p.check("rtmps://cdn.example/app/key", field: "parameters.output", output: true), "rtmps is 443")
        for bad in ["a b", "host:0", "host:99999", "[::1", "x;y"] {
            XCTAssertThrowsError(try HostPattern.list(bad, key: "ALLOWED_INPUT_HOSTS"), bad)
        }
    }
}

final class JobMediaTests: XCTestCase {
    func testOutputContainerComesFromTheName() throws {
        XCTAssertEqual(try JobMedia.format(for: "a.mkv", field: "o").0, "matroska")
        XCTAssertEqual(try JobMedia.format(for: "thumb.JPG", field: "o").1, true, "one still image")
        XCTAssertEqual(try JobMedia.format(for: "img%04d.png", field: "o").1, false, "an image sequence")
        XCTAssertThrowsError(try JobMedia.format(for: "noext", field: "parameters.output"))
        XCTAssertThrowsError(try JobMedia.format(for: "list.m3u8", field: "parameters.output"), "HLS writes segments by name: not supported")
    }

    func testWorkerEnvKeysForJobFiles() throws {
        let c = try WorkerConfig.load(file: "JOB_USER=transcoder\nMEDIA_ROOTS=/srv/in:/srv/out/\nALLOWED_INPUT_HOSTS=cam1:554\n", environment: [:])
        XCTAssertEqual(c.jobUser, "transcoder")
        XCTAssertEqual(c.mediaRoots, ["/srv/in", "/srv/out"])
        XCTAssertEqual(c.network.inputHosts, [HostPattern(host: "cam1", port: 554)])
        XCTAssertEqual(try WorkerConfig.load(file: nil, environment: [:]).jobUser, "ffrtmp-job", "never root by default")
        for (text, key) in [("JOB_USER=-x", "JOB_USER"), ("JOB_USER=a b", "JOB_USER"), ("MEDIA_ROOTS=srv", "MEDIA_ROOTS"),
                            ("MEDIA_ROOTS=/srv/../etc", "MEDIA_ROOTS"), ("ALLOWED_OUTPUT_HOSTS=x:70000", "ALLOWED_OUTPUT_HOSTS"),
                            ("WRAPPER_DEFAULT_MAX_OUTPUT_MB=0", "WRAPPER_DEFAULT_MAX_OUTPUT_MB"),
                            ("METRICS_LISTEN=localhost", "METRICS_LISTEN"), ("METRICS_LISTEN=127.0.0.1:9464", "METRICS_LISTEN")] {
            XCTAssertThrowsError(try WorkerConfig.load(file: text, environment: [:]), text) { e in
                XCTAssertEqual((e as? WorkerConfig.Invalid)?.key, key, "\(text): \(e)")
            }
        }
        // A media root may not hold the agent's own files (nor sit in the journal's jobs/).
        var cfg = try WorkerConfig.load(file: "MEDIA_ROOTS=/\n", environment: [:])
        XCTAssertThrowsError(try cfg.checkTrusted(configFile: nil, stateDir: "/var/lib/ffrtmp", shimPath: nil)) { e in
            XCTAssertTrue("\(e)".contains("MEDIA_ROOTS"), "\(e)")
        }
        cfg.mediaRoots = ["/var/lib/ffrtmp/jobs/x"]
        XCTAssertThrowsError(try cfg.checkTrusted(configFile: nil, stateDir: "/var/lib/ffrtmp", shimPath: nil))
        XCTAssertThrowsError(try JobUser.lookup("ffrtmp-no-such-user")) { e in
            XCTAssertTrue("\(e)".contains("JOB_USER=ffrtmp-no-such-user: no such user") && "\(e)".contains("useradd"), "\(e)")
        }
    }
}

final class ReloadSourceTests: XCTestCase {
    /// Only what the environment really changed overrides the file on a reload: entries the
    /// unit's EnvironmentFile copied from worker.env do not pin their start-up values.
    func testOnlyRealOverridesAreKept() throws {
        let file = "WRAPPER_ENABLED=false\nMAX_JOBS=4\n"
        let env = ["WRAPPER_ENABLED": "false", "MAX_JOBS": "2", "POLL_INTERVAL": "0.5", "EMPTY": ""]
        let o = try WorkerConfig.environmentOverrides(file: file, environment: env)
        XCTAssertEqual(o, ["MAX_JOBS": "2", "POLL_INTERVAL": "0.5"])
        let reloaded = try WorkerConfig.load(file: "WRAPPER_ENABLED=true\nMAX_JOBS=4\n", environment: o)
        XCTAssertTrue(reloaded.wrapperEnabled, "the edited file wins")
        XCTAssertEqual(reloaded.maxJobs, 2, "a real override still wins, as at start")
        XCTAssertEqual(reloaded.pollInterval, 0.5)
    }
}
