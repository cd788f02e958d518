import FFRTMPCore
import Foundation
import XCTest

/// Runs the real binaries against real cgroupfs with a private state dir and a
/// private cgroup parent, and removes every process, cgroup and file afterwards.
final class Harness {
    let binDir: String
    let stateDir: String
    let parent: String
    var extraEnv: [String: String] = [:]
    private var started: [Process] = []
    private var extraPIDs: [Int32] = []

    static func requireRoot() throws {
        try XCTSkipUnless(geteuid() == 0, "skipped: needs root for real cgroupfs (run the suite as root)")
    }

    init(testName: String) throws {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = (exe as NSString).deletingLastPathComponent
        // On Linux the test bundle is an executable inside .build/<config>/.
        while !FileManager.default.isExecutableFile(atPath: dir + "/ffrtmp") && dir != "/" {
            dir = (dir as NSString).deletingLastPathComponent
        }
        if let override = ProcessInfo.processInfo.environment["FFRTMP_BIN_DIR"] { dir = override }
        binDir = dir
        guard FileManager.default.isExecutableFile(atPath: binDir + "/ffrtmp-shim"),
              FileManager.default.isExecutableFile(atPath: binDir + "/ffrtmp-testload") else {
            throw XCTSkip("binaries not built in \(binDir): run `swift build` before `swift test`")
        }
        var template = Array("/tmp/ffrtmp-it-XXXXXX".utf8CString)
        stateDir = String(cString: mkdtemp(&template)!)
        // The agent's jobs run as nobody (JOB_USER) with their files in a media root it owns.
        mediaDir = stateDir + "/media"
        mkdir(mediaDir, 0o750)
        if let nobody = try? JobUser.lookup("nobody") { chown(mediaDir, nobody.uid, nobody.gid) }
        let safe = testName.filter { $0.isLetter || $0.isNumber }.suffix(40)
        parent = "/ffrtmp-test-\(getpid())-\(safe)"
    }

    var testload: String { binDir + "/ffrtmp-testload" }
    /// MEDIA_ROOTS of every agent the tests start (owned by nobody, their JOB_USER).
    let mediaDir: String

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["FFRTMP_STATE_DIR"] = stateDir
        env["FFRTMP_CGROUP_PARENT"] = parent
        env.removeValue(forKey: "FFRTMP_CGROUP_DRIVER")
        env["JOB_USER"] = "nobody"
        env["MEDIA_ROOTS"] = mediaDir
        for (k, v) in extraEnv { env[k] = v }
        return env
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `ffrtmp ARGS` to completion (bounded at 120 s).
    @discardableResult
    func ffrtmp(_ args: [String], env: [String: String] = [:]) throws -> Output {
        let p = try start(args, env: env)
        return try finish(p)
    }

    final class Running: @unchecked Sendable {
        let process: Process
        let out: Pipe
        let err: Pipe
        var outData = Data()
        var errData = Data()
        let lock = NSLock()
        /// What the process wrote to stderr so far.
        var stderrSoFar: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: errData, as: UTF8.self)
        }
        init(process: Process, out: Pipe, err: Pipe) {
            self.process = process
            self.out = out
            self.err = err
        }
        var pid: Int32 { process.processIdentifier }
    }

    func start(_ args: [String], env: [String: String] = [:]) throws -> Running {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDir + "/ffrtmp")
        p.arguments = args
        var e = environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let r = Running(process: p, out: out, err: err)
        // Drain continuously so a chatty job can never block on a full pipe.
        out.fileHandleForReading.readabilityHandler = { h in let d = h.availableData; r.lock.lock(); r.outData.append(d); r.lock.unlock() }
        err.fileHandleForReading.readabilityHandler = { h in let d = h.availableData; r.lock.lock(); r.errData.append(d); r.lock.unlock() }
        try p.run()
        started.append(p)
        return r
    }

    func finish(_ r: Running, timeout: Double = 120) throws -> Output {
        let deadline = Date().addingTimeInterval(timeout)
        while r.process.isRunning && Date() < deadline { usleep(10_000) }
        if r.process.isRunning {
            kill(r.pid, SIGKILL)
            XCTFail("ffrtmp \(r.process.arguments ?? []) did not finish within \(timeout)s")
        }
        r.process.waitUntilExit()
        r.out.fileHandleForReading.readabilityHandler = nil
        r.err.fileHandleForReading.readabilityHandler = nil
        let restOut = r.out.fileHandleForReading.readDataToEndOfFile()
        let restErr = r.err.fileHandleForReading.readDataToEndOfFile()
        r.lock.lock()
        defer { r.lock.unlock() }
        let status = r.process.terminationReason == .uncaughtSignal ? 128 + r.process.terminationStatus : r.process.terminationStatus
        return Output(status: status, stdout: String(decoding: r.outData + restOut, as: UTF8.self),
                      stderr: String(decoding: r.errData + restErr, as: UTF8.self))
    }

    /// A helper process that is not a job (for attach tests); killed at teardown.
    func startPlain(_ path: String, _ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        started.append(p)
        return p
    }

    func track(_ pid: Int32) { extraPIDs.append(pid) }

    /// Runs a helper program (curl, openssl) to completion: its status and stdout (stderr to
    /// `stderr`, when given, else discarded).
    static func output(_ path: String, _ args: [String], stderr: Pipe? = nil) throws -> (status: Int32, stdout: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = stderr ?? FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A TCP connection to 127.0.0.1:PORT, or -1.
    static func connectLoopback(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 { close(fd); return -1 }
        return fd
    }

    func jobFile(_ id: String, _ name: String) -> String { stateDir + "/jobs/\(id)/\(name)" }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    func json(_ text: String) throws -> [String: Any] {
        let line = text.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
        guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw NSError(domain: "json", code: 1, userInfo: [NSLocalizedDescriptionKey: "no JSON object in: \(text)"])
        }
        return obj
    }

    func psJob(_ id: String) throws -> [String: Any]? {
        let out = try ffrtmp(["ps", "--json", "--interval", "0"])
        let arr = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]] ?? []
        return arr.first { $0["job_id"] as? String == id }
    }

    /// Polls `cond` every 20 ms, up to `timeout` seconds: a bound on waiting, not a timing assertion.
    @discardableResult
    func waitUntil(_ timeout: Double = 20, _ what: String, _ cond: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if cond() { return true }
            usleep(20_000)
        }
        XCTFail("timed out after \(timeout)s waiting for: \(what)")
        return false
    }

    func alive(_ pid: Int32) -> Bool {
        guard let st = ProcFS.stat(pid) else { return false }
        return !st.isZombie
    }

    func workloadPID(_ id: String) -> Int32? {
        read(jobFile(id, "workload.pid")).flatMap { WorkloadPID.parse($0)?.identity.pid }
    }

    /// Starts `testload sleep SECONDS` detached as job `id`, then SIGKILLs its shim: an orphan.
    /// Returns the workload's pid.
    func orphanedSleeper(_ id: String, seconds: Int) throws -> Int32 {
        XCTAssertEqual(try ffrtmp(["run", "--detach", "--job-id", id, "--", testload, "sleep", String(seconds)]).status, 0)
        let shim = try XCTUnwrap(read(jobFile(id, "shim.pid")).flatMap { WorkloadPID.parse($0)?.identity })
        let workload = try XCTUnwrap(workloadPID(id))
        kill(shim.pid, SIGKILL)
        waitUntil(10, "shim gone") { !shim.isAlive }
        return workload
    }

    var v1Mounts: [String: String] { CgroupLayout.detect().v1Mounts }

    /// The cgroup path of `pid` in the hierarchy that has `controller` (co-mounted ones included).
    func cgroupPath(_ pid: Int32, _ controller: String) -> String? {
        ProcFS.cgroups(pid)?.first { $0.key.split(separator: ",").contains(Substring(controller)) }?.value
    }

    /// Every directory of our cgroup parent, in v1 hierarchies and the v2 mount.
    var parentDirs: [String] {
        var dirs = Set(v1Mounts.values.map { $0 + parent })
        if let v2 = CgroupLayout.detect().v2Mount { dirs.insert(v2 + parent) }
        return dirs.sorted()
    }

    func cleanup() {
        for p in started where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        for pid in extraPIDs { kill(pid, SIGKILL) }
        // Anything a test left in a job cgroup: kill by pid, taken from cgroup.procs (never by name).
        for dir in parentDirs where FileManager.default.fileExists(atPath: dir) {
            let jobs = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            for j in jobs where FileManager.default.fileExists(atPath: "\(dir)/\(j)/cgroup.procs") {
                if FileManager.default.fileExists(atPath: "\(dir)/\(j)/freezer.state") {
                    try? "THAWED".write(toFile: "\(dir)/\(j)/freezer.state", atomically: false, encoding: .utf8)
                }
                for _ in 0..<50 {
                    let pids = (read("\(dir)/\(j)/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
                    if pids.isEmpty { break }
                    for pid in pids { kill(pid, SIGKILL) }
                    usleep(20_000)
                }
                for _ in 0..<50 where rmdir("\(dir)/\(j)") != 0 && errno == EBUSY { usleep(20_000) }
            }
            rmdir(dir)
        }
        // Shims of jobs whose workload is gone exit by themselves; wait for them so none outlives the test.
        if let ids = try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/jobs") {
            for id in ids {
                // Some tests name this test process as a job's supervisor: never wait for or kill it.
                guard let t = read(jobFile(id, "shim.pid")), let sup = WorkloadPID.parse(t)?.identity, sup.pid != getpid() else { continue }
                for _ in 0..<250 where sup.isAlive { usleep(20_000) }
                if sup.isAlive { _ = try? sup.signal(SIGKILL) }
            }
        }
        try? FileManager.default.removeItem(atPath: stateDir)
        for dir in parentDirs where FileManager.default.fileExists(atPath: dir) { rmdir(dir) }
    }
}

class IntegrationTestCase: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws {
        try Harness.requireRoot()
        h = try Harness(testName: name)
    }

    override func tearDown() {
        h?.cleanup()
        if let h {
            let left = h.parentDirs.filter { FileManager.default.fileExists(atPath: $0) }
            XCTAssertEqual(left, [], "cgroups left behind")
        }
        h = nil
    }
}
