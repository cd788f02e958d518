import FFRTMPMaster
import FFRTMPModel
import FFRTMPWire
import Foundation

// GET /api/jobs's body, in process, over a real SQLite store in a temp dir holding `count` jobs
// with typical parameters and result reports: the hand-spliced listing (listRaw +
// JobListing.json) against the old route's work in the same run (list, which decodes every
// row's parameters and result into JSONValue, then JSONEncoder, as Hummingbird's response
// encoder did), and the store read alone (listRaw) as the floor both share. Medians of RUNS.
//
//   ffrtmp-bench-json list [RUNS] [JOBS]      (scripts/bench/job-list.sh runs it, release build)

/// Milliseconds one call of `f` takes.
func timeAsync(_ f: () async throws -> Void) async rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try await f()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
}

func benchList(runs: Int, jobs count: Int) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ffrtmp-bench-list-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try SQLiteJobStore(path: dir + "/master.db")
    try await store.migrate()
    _ = try await store.register(NodeRegistration(nodeID: "bench-node"))
    for i in 0..<count {
        let parameters: JSONValue = .object([
            "input": .string("rtmp://ingest.example/live/cam-\(i)"), "output": .string("/var/lib/ffrtmp/media/out/cam-\(i).mp4"),
            "codec": .string("libx264"), "preset": .string("veryfast"), "resolution": .string("1280x720"), "fps": .number(30),
            "bitrate_kbps": .number(2500), "duration_seconds": .number(3600), "audio": .object(["codec": .string("aac"), "bitrate_kbps": .number(128)]),
            "labels": .array([.string("site-\(i % 17)"), .string("tier-\(i % 3)")]),
        ])
        _ = try await store.create(NewJob(id: "bench-\(i)", engine: .ffmpeg, parameters: parameters, wrapperEnabled: i % 2 == 0,
                                          wrapperConstraints: WireConstraints(cpuMax: "50000 100000", memoryMaxMB: 256)))
        guard i % 2 == 0 else { continue }
        // Dispatch is oldest first: the job handed out is not always the one just made.
        guard let taken = try await store.dispatch(nodeID: "bench-node") else { throw WireError.notFound(what: "queued job", id: "any") }
        let metrics: JSONValue = .object([
            "exit_code": .number(0), "wall_seconds": .number(3600.25), "cpu_seconds": .number(1800.5), "peak_rss_mb": .number(212.75),
            "frames": .number(108_000), "speed": .number(1.0003), "dropped_frames": .number(3),
            "cgroup": .object(["cpu_throttled_periods": .number(41), "memory_failcnt": .number(0), "oom_kills": .number(0)]),
        ])
        _ = try await store.record(JobResultReport(jobID: taken.id, attempt: taken.attempt, nodeID: "bench-node", status: .completed,
                                                   platformSLA: true, platformSLAReason: "success", metrics: metrics))
    }
    let limit = min(count, 1000)
    let spliced = JobListing.json(try await store.listRaw(status: nil, nodeID: nil, limit: limit))
    let reencoded = try JSONEncoder().encode(try await store.list(status: nil, nodeID: nil, limit: limit))
    // The two bodies must be the same document, or the comparison means nothing.
    guard try JSONDecoder().decode([MasterJob].self, from: Data(spliced)) == JSONDecoder().decode([MasterJob].self, from: reencoded) else {
        throw WireError.conflict(reason: "the spliced and the re-encoded listing decode differently")
    }
    // Alternate the candidates so a change in the box's load hits all of them alike.
    var fs: [Double] = [], ns: [Double] = [], os: [Double] = []
    for _ in 0..<runs {
        fs.append(try await timeAsync { _ = try await store.listRaw(status: nil, nodeID: nil, limit: limit) })
        ns.append(try await timeAsync { _ = JobListing.json(try await store.listRaw(status: nil, nodeID: nil, limit: limit)) })
        os.append(try await timeAsync { _ = try JSONEncoder().encode(try await store.list(status: nil, nodeID: nil, limit: limit)) })
    }
    let (floor, new, old) = (fs.sorted()[runs / 2], ns.sorted()[runs / 2], os.sorted()[runs / 2])
    await store.close()
    print("GET /api/jobs body, \(limit) jobs (\(count / 2 + count % 2) with a result), \(spliced.count) B spliced / \(reencoded.count) B re-encoded, median of \(runs) alternating runs:")
    print(String(format: "  store read alone (listRaw):                 %8.2f ms", floor))
    print(String(format: "  spliced (listRaw + JobListing.json):        %8.2f ms", new))
    print(String(format: "  old route (list: decode, then JSONEncoder): %8.2f ms", old))
    print(String(format: "  ratio spliced/old: %.2f; beyond the store read: %.2f", new / old, (new - floor) / (old - floor)))
}
