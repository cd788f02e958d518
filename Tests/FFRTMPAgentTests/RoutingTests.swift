import FFRTMPAgent
import FFRTMPCore
import FFRTMPWire
import XCTest

final class RoutingTests: XCTestCase {
    /// The seed's backward-compatibility table, row by row (an "old worker" is the legacy path itself).
    func testRoutingTable() {
        XCTAssertEqual(JobRouting.path(jobSays: nil, nodeDefault: false), .legacy, "old job, field missing, new worker")
        XCTAssertEqual(JobRouting.path(jobSays: false, nodeDefault: false), .legacy, "old job, false, new worker")
        XCTAssertEqual(JobRouting.path(jobSays: true, nodeDefault: false), .wrapper, "new job, true")
        XCTAssertEqual(JobRouting.path(jobSays: false, nodeDefault: true), .legacy, "explicit false beats WRAPPER_ENABLED=true")
        XCTAssertEqual(JobRouting.path(jobSays: nil, nodeDefault: true), .wrapper, "WRAPPER_ENABLED=true wraps jobs that don't say")
        XCTAssertEqual(JobRouting.path(jobSays: true, nodeDefault: true), .wrapper)
    }

    func testLegacyLimitsConvertAndDefaultsFillGaps() {
        let legacy = LegacyLimits(maxCPUPercent: 150, maxMemoryMB: 512, maxDiskMB: nil, timeoutSec: 60)
        let defaults = WireConstraints(cpuMax: "100000 100000", cpuWeight: 50, memoryMaxMB: 1024)
        XCTAssertEqual(JobRouting.constraints(explicit: nil, legacy: legacy, defaults: WireConstraints()),
                       WireConstraints(cpuMax: "150000 100000", memoryMaxMB: 512))
        XCTAssertEqual(JobRouting.constraints(explicit: nil, legacy: legacy, defaults: defaults),
                       WireConstraints(cpuMax: "150000 100000", cpuWeight: 50, memoryMaxMB: 512))
        XCTAssertEqual(JobRouting.constraints(explicit: WireConstraints(memoryMaxMB: 64), legacy: legacy, defaults: defaults),
                       WireConstraints(cpuMax: "150000 100000", cpuWeight: 50, memoryMaxMB: 64), "explicit wins field by field")
        XCTAssertEqual(JobRouting.constraints(explicit: nil, legacy: nil, defaults: defaults), defaults)
    }
}

final class EngineTests: XCTestCase {
    let engines = EngineCommand(ffmpegPath: "/usr/bin/ffmpeg", gstLaunchPath: "/nonexistent/gst-launch-1.0")

    func params(_ json: String) throws -> TranscodeParameters {
        try TranscodeParameters(JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))
    }

    func testFFmpegArgvForATestTranscode() throws {
        let p = try params(#"{"input":"testsrc","resolution":"640x360","fps":25,"duration_seconds":5,"bitrate":"800k","preset":"ultrafast","realtime":true}"#)
        XCTAssertEqual(engines.ffmpeg(p, files: .asGiven(p)), [
            "/usr/bin/ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-progress", "pipe:6", "-nostats", "-re",
            "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "5.0", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "800k", "-c:a", "aac", "-f", "null", "-",
        ])
    }

    func testFFmpegArgvForAFileToRTMP() throws {
        let p = try params(#"{"input":"/media/in.mp4","output":"rtmp://live.example/app/key","codec":"h265","resolution":"1280x720"}"#)
        let a = engines.ffmpeg(p, files: .asGiven(p))
        let i = try XCTUnwrap(a.firstIndex(of: "-i"))
        XCTAssertEqual(a[i + 1], "/media/in.mp4")
        XCTAssertEqual(Array(a[(i - 4)..<i]), ["-format_whitelist", EngineCommand.localDemuxers, "-protocol_whitelist", "file"],
                       "a local input is read as a container through the file protocol only")
        XCTAssertTrue(a.contains("libx265"))
        XCTAssertEqual(Array(a.suffix(3)), ["-f", "flv", "rtmp://live.example/app/key"])
        XCTAssertEqual(try engines.resolve(.auto, p), .ffmpeg)
    }

    func testGStreamerPipeline() throws {
        let gst = EngineCommand(ffmpegPath: "/nonexistent/ffmpeg", gstLaunchPath: "/usr/bin/gst-launch-1.0")
        let p = try params(#"{"input":"testsrc","fps":10,"duration_seconds":2,"bitrate":"1M"}"#)
        XCTAssertEqual(try gst.gstreamer(p, files: .asGiven(p)), [
            "/usr/bin/gst-launch-1.0", "-e", "videotestsrc", "is-live=false", "num-buffers=20", "!", "videoconvert", "!", "videoscale", "!",
            "videorate", "!", "video/x-raw,width=1280,height=720,framerate=10/1", "!", "x264enc", "speed-preset=veryfast", "bitrate=1000",
            "!", "fakesink", "sync=false",
        ])
        let h265 = try params(#"{"input":"testsrc","codec":"h265"}"#)
        XCTAssertThrowsError(try gst.gstreamer(h265, files: .asGiven(h265)))
    }

    /// The built argv runs under the real ffmpeg with its files as descriptors: the output
    /// opened under a media root (muxer from the name), progress through pipe:6.
    func testTheFFmpegArgvRunsForReal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") else { throw XCTSkip("skipped: ffmpeg is not installed (scripts/test.sh installs it)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ffrtmp-engine-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = try params(#"{"input":"testsrc","resolution":"160x120","fps":10,"duration_seconds":1,"output":"\#(dir.path)/out.mp4"}"#)
        let media = JobMedia(roots: try MediaRoots([dir.path]), network: NetworkPolicy(), user: nil)
        let opened = try media.open(p)
        defer { opened.close() }
        XCTAssertEqual(opened.paths.output, "/proc/self/fd/5")
        let argv = engines.ffmpeg(p, files: opened.paths)
        XCTAssertEqual(Array(argv.suffix(4)), ["-f", "mp4", "-y", "/proc/self/fd/5"])
        let progress = open(dir.path + "/progress", O_WRONLY | O_CREAT | O_CLOEXEC, 0o640)
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(progress); close(null) }
        let pid = try Sys.spawnLogged(path: argv[0], argv: argv, stdout: null, stderr: null,
                                      files: opened.files + [PassedFD(source: progress, target: WorkloadFD.progress)])
        var st: Int32 = 0
        waitpid(pid, &st, 0)
        XCTAssertEqual(st, 0, argv.joined(separator: " "))
        let text = try String(contentsOfFile: dir.path + "/progress", encoding: .utf8)
        XCTAssertTrue(text.contains("frame=10"), text)
        XCTAssertTrue(text.contains("progress=end"), text)
        XCTAssertGreaterThan((try FileManager.default.attributesOfItem(atPath: dir.path + "/out.mp4")[.size] as? Int) ?? 0, 1000)
    }

    /// Hostile parameters are refused with the field named; none reaches an argv.
    func testInjectionAttemptsAreRefused() {
        let hostile: [(String, String)] = [
            (#"{"input":"-i /etc/passwd"}"#, "parameters.input"),
            (#"{"input":"-f"}"#, "parameters.input"),
            (#"{"input":"in.mp4; rm -rf /"}"#, "parameters.input"),
            (#"{"input":"$(id)"}"#, "parameters.input"),
            (#"{"input":"a.mp4 ! filesink location=/etc/x"}"#, "parameters.input"),
            (#"{"input":"concat:/etc/passwd|/etc/shadow"}"#, "parameters.input"),
            (#"{"input":"file:///etc/passwd"}"#, "parameters.input"),
            (#"{"input":"testsrc","output":"/tmp/x.mp4\n-y"}"#, "parameters.output"),
            (#"{"input":"testsrc","output":"srt://x"}"#, "parameters.output"),
            (#"{"input":"testsrc","bitrate":"1M -vf x"}"#, "parameters.bitrate"),
            (#"{"input":"testsrc","preset":"fast -x"}"#, "parameters.preset"),
            (#"{"input":"testsrc","codec":"libx264 -y"}"#, "parameters.codec"),
            (#"{"input":"testsrc","resolution":"640x360,x"}"#, "parameters.resolution"),
            (#"{"input":"testsrc","fps":"30"}"#, "parameters.fps"),
            (#"{"input":"testsrc","fps":10000}"#, "parameters.fps"),
            (#"{"input":"testsrc","realtime":"yes"}"#, "parameters.realtime"),
            (#"{"input":"testsrc","resource_limits":{"max_cpu_percent":-5}}"#, "parameters.resource_limits.max_cpu_percent"),
            (#"{}"#, "parameters.input"),
            (#"[1]"#, "parameters"),
        ]
        for (json, field) in hostile {
            XCTAssertThrowsError(try params(json), json) { e in
                guard case let WireError.invalidField(f, _) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(f, field, json)
            }
        }
    }
}

final class WorkerConfigTests: XCTestCase {
    func testFileThenEnvironment() throws {
        let file = """
            # edge box
            MASTER_URL=http://master:8080
            FFRTMP_API_KEY="from-file-key"
            MAX_JOBS=8
            WRAPPER_ENABLED=true
            WRAPPER_DEFAULT_CPU_MAX="50000 100000"
            WRAPPER_DEFAULT_MEMORY_MAX_MB=512
            NODE_ID=edge-7
            """
        let c = try WorkerConfig.load(file: file, environment: ["MAX_JOBS": "2", "POLL_INTERVAL": "0.5"])
        XCTAssertEqual(c.masterURL, "http://master:8080")
        XCTAssertEqual(c.apiKey, "from-file-key")
        XCTAssertEqual(c.maxJobs, 2, "the environment wins")
        XCTAssertEqual(c.pollInterval, 0.5)
        XCTAssertTrue(c.wrapperEnabled)
        XCTAssertEqual(c.defaultConstraints, WireConstraints(cpuMax: "50000 100000", memoryMaxMB: 512))
        XCTAssertEqual(c.nodeID, "edge-7")
        let none = try WorkerConfig.load(file: nil, environment: [:])
        XCTAssertFalse(none.wrapperEnabled, "WRAPPER_ENABLED defaults to false")
        XCTAssertNil(none.masterURL, "standalone without MASTER_URL")
        XCTAssertEqual(none.maxJobs, 4)
    }

    func testBadValuesNameTheKey() {
        let cases: [(String, String)] = [
            ("MAX_JOBS=0", "MAX_JOBS"), ("WRAPPER_ENABLED=maybe", "WRAPPER_ENABLED"), ("MASTER_URL=ftp://x\nFFRTMP_API_KEY=k", "MASTER_URL"),
            ("MASTER_URL=http://m", "FFRTMP_API_KEY"), ("WRAPPER_DEFAULT_CPU_MAX=5", "WRAPPER_DEFAULT_CPU_MAX"),
            ("FFMPEG_PATH=ffmpeg", "FFMPEG_PATH"), ("NODE_ID=../x", "NODE_ID"), ("HEARTBEAT_INTERVAL=-1", "HEARTBEAT_INTERVAL"),
            ("WRAPPER_DEFAULT_IO_MAX=bogus", "WRAPPER_DEFAULT_IO_MAX"), ("WRAPPER_DEFAULT_IO_MAX=9999:9999 wbps=1", "WRAPPER_DEFAULT_IO_MAX"),
        ]
        for (text, key) in cases {
            XCTAssertThrowsError(try WorkerConfig.load(file: text, environment: [:]), text) { e in
                XCTAssertEqual((e as? WorkerConfig.Invalid)?.key, key, "\(text): \(e)")
            }
        }
        XCTAssertThrowsError(try WorkerConfig.load(file: "OK=1\nthis is not a setting\n", environment: [:])) { e in
            XCTAssertEqual("\(e)", #"line 2: "this is not a setting" is not KEY=VALUE"#)
        }
    }
}
