import FFRTMPCore
import FFRTMPWire
import Glibc

/// The agent's settings: worker.env (systemd EnvironmentFile syntax), overridden by the
/// environment. Every value is checked; an error names the key and the accepted form.
public struct WorkerConfig: Equatable, Sendable {
    public var masterURL: String?
    public var apiKey: String?
    /// TLS to the master: a pinned CA (else the system store), and a client certificate.
    public var masterCAFile: String?
    public var masterClientCert: String?
    public var masterClientKey: String?
    public var nodeID: String
    public var maxJobs = 4
    public var metricsPort: Int?
    /// The address /metrics listens on: loopback unless the operator opens it (0.0.0.0, ::).
    public var metricsListen = "127.0.0.1"
    public var heartbeatInterval = 10.0
    public var pollInterval = 2.0
    /// The agent polls only while its state dir has this much room (a job it took but could
    /// not journal would be stranded at the master).
    public var pollReserveMB = 64
    public var wrapperEnabled = false
    public var defaultConstraints = WireConstraints()
    public var ffmpegPath = "/usr/bin/ffmpeg"
    public var gstLaunchPath = "/usr/bin/gst-launch-1.0"
    public var stateDir: String?
    public var cgroupParent: String?
    public var autoAttach = false
    public var autoAttachTargets = ["ffmpeg", "gst-launch-1.0"]
    public var autoAttachMinAge = 30.0
    public var autoAttachInterval = 10.0
    /// AUTO_ATTACH_FROM: cgroup path prefixes; nil: AutoAttachPolicy.defaultFrom for the driver.
    public var autoAttachFrom: [String]?
    /// AUTO_ATTACH_USERS, resolved to uids when read; nil: any user.
    public var autoAttachUsers: [UInt32]?
    public var autoAttachDryRun = false
    /// At most this many auto-attached groups are watched at once: anyone on the box can name a
    /// process ffmpeg, and each adoption is a journal job and a cgroup.
    public var autoAttachMaxJobs = 32
    /// The user every workload of the agent runs as. Never silently root: a missing user is a
    /// start-up error, and root must be written out (JOB_USER=root) and is warned about.
    public var jobUser = "ffrtmp-job"
    /// Where a job's local files may be: MEDIA_ROOTS, colon-separated absolute directories.
    public var mediaRoots = MediaRoots.defaultRoots
    public var network = NetworkPolicy()
    /// Where the key came from, when it was a file (checked like worker.env).
    public var apiKeyFile: String?

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var key: String
        public var value: String
        public var expected: String
        public var description: String { "invalid \(key)=\"\(value.prefix(80))\": expected \(expected)" }
    }

    public init(nodeID: String) { self.nodeID = nodeID }

    /// `file`: the worker.env text (nil when there is none). The environment wins over the file.
    public static func load(file: String?, environment: [String: String]) throws -> WorkerConfig {
        var v = try file.map(EnvFile.parse) ?? [:]
        for (k, val) in environment where !val.isEmpty { v[k] = val }
        var c = WorkerConfig(nodeID: try nodeID(v["NODE_ID"]))
        func num(_ key: String, _ range: ClosedRange<Double>) throws -> Double? {
            guard let raw = v[key] else { return nil }
            guard let d = Double(raw), range.contains(d) else {
                throw Invalid(key: key, value: raw, expected: "a number of seconds from \(range.lowerBound) to \(range.upperBound)")
            }
            return d
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let raw = v[key] else { return nil }
            guard let n = Int(raw), range.contains(n) else { throw Invalid(key: key, value: raw, expected: "an integer from \(range.lowerBound) to \(range.upperBound)") }
            return n
        }
        func bool(_ key: String) throws -> Bool? {
            guard let raw = v[key] else { return nil }
            switch raw.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: throw Invalid(key: key, value: raw, expected: "true or false")
            }
        }
        func path(_ key: String) throws -> String? {
            guard let raw = v[key] else { return nil }
            guard raw.hasPrefix("/"), !raw.contains("\0") else { throw Invalid(key: key, value: raw, expected: "an absolute path") }
            return raw
        }
        if let url = v["MASTER_URL"] {
            guard (try? MasterEndpoint(url)) != nil else {
                throw Invalid(key: "MASTER_URL", value: MasterEndpoint.Invalid.shown(url), expected: "https://HOST[:PORT][/PATH] (or http:// on loopback), with no user info, query or fragment")
            }
            c.masterURL = url
        }
        c.masterCAFile = try path("MASTER_CA_FILE")
        c.masterClientCert = try path("MASTER_CLIENT_CERT")
        c.masterClientKey = try path("MASTER_CLIENT_KEY")
        if (c.masterClientCert == nil) != (c.masterClientKey == nil) {
            let missing = c.masterClientCert == nil ? "MASTER_CLIENT_CERT" : "MASTER_CLIENT_KEY"
            throw Invalid(key: missing, value: "", expected: "a file as well: mutual TLS needs both MASTER_CLIENT_CERT and MASTER_CLIENT_KEY")
        }
        if let k = v["FFRTMP_API_KEY"] {
            c.apiKey = k
        } else if let f = try path("FFRTMP_API_KEY_FILE") {
            c.apiKeyFile = f
            // Checked before it is read, and read without blocking: a FIFO planted there would
            // otherwise hang the agent at start (with its stop signals already blocked).
            try TrustedPath.check(f, what: "FFRTMP_API_KEY_FILE")
            guard let text = FileIO.readRegularFile(f) else { throw Invalid(key: "FFRTMP_API_KEY_FILE", value: f, expected: "a readable regular file holding the key") }
            c.apiKey = text.trimmingCharacters(in: "\n").trimmingCharacters(in: " ")
        }
        if c.masterURL != nil && (c.apiKey ?? "").isEmpty {
            throw Invalid(key: "FFRTMP_API_KEY", value: "", expected: "the master's API key (or FFRTMP_API_KEY_FILE) when MASTER_URL is set")
        }
        c.maxJobs = try int("MAX_JOBS", 1...1024) ?? c.maxJobs
        c.metricsPort = try int("METRICS_PORT", 1...65535)
        if let l = v["METRICS_LISTEN"] {
            var a4 = in_addr(), a6 = in6_addr()
            guard inet_pton(AF_INET, l, &a4) == 1 || inet_pton(AF_INET6, l, &a6) == 1 else {
                throw Invalid(key: "METRICS_LISTEN", value: l, expected: "an IP address to listen on, e.g. 127.0.0.1 (the default), or 0.0.0.0 for every interface")
            }
            c.metricsListen = l
        }
        c.heartbeatInterval = try num("HEARTBEAT_INTERVAL", 0.1...3600) ?? c.heartbeatInterval
        c.pollInterval = try num("POLL_INTERVAL", 0.05...3600) ?? c.pollInterval
        c.pollReserveMB = try int("POLL_RESERVE_MB", 0...1_048_576) ?? c.pollReserveMB
        c.wrapperEnabled = try bool("WRAPPER_ENABLED") ?? c.wrapperEnabled
        c.ffmpegPath = try path("FFMPEG_PATH") ?? c.ffmpegPath
        c.gstLaunchPath = try path("GST_LAUNCH_PATH") ?? c.gstLaunchPath
        c.stateDir = try path("FFRTMP_STATE_DIR")
        c.cgroupParent = v["FFRTMP_CGROUP_PARENT"]
        c.autoAttach = try bool("AUTO_ATTACH") ?? c.autoAttach
        if let t = v["AUTO_ATTACH_TARGETS"] { c.autoAttachTargets = try Self.commandList(t) }
        c.autoAttachMinAge = try num("AUTO_ATTACH_MIN_AGE", 0...86400) ?? c.autoAttachMinAge
        c.autoAttachInterval = try num("AUTO_ATTACH_INTERVAL", 0.5...3600) ?? c.autoAttachInterval
        if let f = v["AUTO_ATTACH_FROM"] { c.autoAttachFrom = try Self.cgroupPrefixes(f) }
        if let u = v["AUTO_ATTACH_USERS"] { c.autoAttachUsers = try Self.users(u) }
        c.autoAttachDryRun = try bool("AUTO_ATTACH_DRY_RUN") ?? c.autoAttachDryRun
        c.autoAttachMaxJobs = try int("AUTO_ATTACH_MAX_JOBS", 1...1024) ?? c.autoAttachMaxJobs
        if let u = v["JOB_USER"] {
            guard !u.isEmpty, u.utf8.count <= 32, u.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }), u.first != "-" else {
                throw Invalid(key: "JOB_USER", value: u, expected: "a user name (letters, digits, . _ -)")
            }
            c.jobUser = u
        }
        if let r = v["MEDIA_ROOTS"] {
            do { c.mediaRoots = try MediaRoots(r.split(separator: ":").map(String.init)).roots } catch {
                throw Invalid(key: "MEDIA_ROOTS", value: r, expected: "absolute directories separated by ':', without '..'")
            }
        }
        if let h = v["ALLOWED_INPUT_HOSTS"] { c.network.inputHosts = try HostPattern.list(h, key: "ALLOWED_INPUT_HOSTS") }
        if let h = v["ALLOWED_OUTPUT_HOSTS"] { c.network.outputHosts = try HostPattern.list(h, key: "ALLOWED_OUTPUT_HOSTS") }
        let defaults = WireConstraints(cpuMax: v["WRAPPER_DEFAULT_CPU_MAX"], cpuWeight: try int("WRAPPER_DEFAULT_CPU_WEIGHT", 1...10000),
                                       memoryMaxMB: try int("WRAPPER_DEFAULT_MEMORY_MAX_MB", 1...(1 << 30)),
                                       memorySwapMaxMB: try int("WRAPPER_DEFAULT_MEMORY_SWAP_MAX_MB", 0...(1 << 30)), ioMax: v["WRAPPER_DEFAULT_IO_MAX"],
                                       maxOutputMB: try int("WRAPPER_DEFAULT_MAX_OUTPUT_MB", 1...(1 << 30)))
        if let s = defaults.memorySwapMaxMB, defaults.memoryMaxMB == nil {
            throw Invalid(key: "WRAPPER_DEFAULT_MEMORY_SWAP_MAX_MB", value: String(s), expected: "a WRAPPER_DEFAULT_MEMORY_MAX_MB as well: swap is allowed on top of a memory limit")
        }
        if let cpu = defaults.cpuMax {
            do { _ = try ConstraintParser().parseCPUMax(cpu) } catch { throw Invalid(key: "WRAPPER_DEFAULT_CPU_MAX", value: cpu, expected: ConstraintParser.cpuMaxForm) }
        }
        // Checked here like the CPU default, or a typo would fail every wrapped job that leans on it.
        if let io = defaults.ioMax {
            do { _ = try ConstraintParser().parse(WireConstraints(ioMax: io)) } catch FFRTMPError.invalidField(_, _, let expected) {
                throw Invalid(key: "WRAPPER_DEFAULT_IO_MAX", value: io, expected: expected)
            }
        }
        c.defaultConstraints = defaults
        return c
    }

    /// The part of the environment that really overrides worker.env: entries whose value
    /// differs from the file's, or that the file does not set. The installed unit loads
    /// worker.env as its EnvironmentFile too, so at start most of the environment is the file
    /// itself; keeping those entries would pin the start-up values over every later edit of
    /// the file (and over a console toggle). A reload applies only these over the new file, so
    /// the file wins for every key it set at start (docs/CONFIGURATION.md, "Reload").
    public static func environmentOverrides(file: String?, environment: [String: String]) throws -> [String: String] {
        let fromFile = try file.map(EnvFile.parse) ?? [:]
        return environment.filter { k, v in !v.isEmpty && fromFile[k] != v }
    }

    /// Sets KEY=VALUE in a worker.env, keeping every other line: written to a temp file and
    /// renamed into place, so a crash leaves the old file or the new one.
    public static func persist(key: String, value: String, in file: String) throws {
        let text = FileIO.readIfExists(file) ?? ""
        var lines = EnvFile.lines(text)
        if lines.last == "" { lines.removeLast() }
        var found = false
        // Every line that assigns the key, however it is spaced or quoted.
        for i in lines.indices where (try? EnvFile.parse(lines[i]))?[key] != nil {
            lines[i] = "\(key)=\(value)"
            found = true
        }
        if !found { lines.append("\(key)=\(value)") }
        try FileIO.writeAtomically(file, lines.joined(separator: "\n") + "\n")
    }

    /// The auto-attach settings as the scan applies them, for the driver in use.
    public func autoAttachPolicy(_ version: CgroupVersion) -> AutoAttachPolicy {
        AutoAttachPolicy(targets: autoAttachTargets, minAgeSeconds: autoAttachMinAge, intervalSeconds: autoAttachInterval,
                         from: autoAttachFrom ?? AutoAttachPolicy.defaultFrom(version), users: autoAttachUsers, dryRun: autoAttachDryRun)
    }

    /// AUTO_ATTACH_TARGETS: command names as /proc/PID/comm shows them (at most 15 bytes, no
    /// '/': a path never matches a comm, so it would silently match nothing).
    static func commandList(_ raw: String) throws -> [String] {
        let names = raw.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
        let expected = "comma-separated command names as /proc/PID/comm shows them (1-15 bytes, no '/'), e.g. ffmpeg,gst-launch-1.0"
        for n in names where n.utf8.count > 15 || n.contains("/") || n.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw Invalid(key: "AUTO_ATTACH_TARGETS", value: n, expected: expected)
        }
        return names
    }

    /// AUTO_ATTACH_FROM: absolute cgroup paths, whole components, no '..' (trailing '/' dropped).
    static func cgroupPrefixes(_ raw: String) throws -> [String] {
        let items = raw.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
        guard !items.isEmpty else {
            throw Invalid(key: "AUTO_ATTACH_FROM", value: raw, expected: "comma-separated cgroup paths such as /user.slice,/system.slice/encoder.service")
        }
        return try items.map { item in
            var p = item
            while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
            let parts = p.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard p.hasPrefix("/"), p == "/" || !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }),
                  !p.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
                throw Invalid(key: "AUTO_ATTACH_FROM", value: item, expected: "an absolute cgroup path without '.', '..' or '//', e.g. /user.slice or /system.slice/encoder.service")
            }
            return p
        }
    }

    /// AUTO_ATTACH_USERS: user names or numeric uids; a name must exist when it is read.
    static func users(_ raw: String) throws -> [UInt32] {
        let items = raw.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
        guard !items.isEmpty else { throw Invalid(key: "AUTO_ATTACH_USERS", value: raw, expected: "comma-separated user names or uids") }
        return try items.map { item in
            if let uid = UInt32(item) { return uid }
            guard let pw = getpwnam(item) else { throw Invalid(key: "AUTO_ATTACH_USERS", value: item, expected: "a user that exists on this box, or a numeric uid") }
            return pw.pointee.pw_uid
        }
    }

    static func nodeID(_ raw: String?) throws -> String {
        if let raw {
            do { return try WireValidation.nodeID(raw) } catch { throw Invalid(key: "NODE_ID", value: raw, expected: "1-128 of A-Z a-z 0-9 . _ -") }
        }
        let host = Sys.hostname().split(separator: ".").first.map(String.init) ?? "node"
        return (try? WireValidation.nodeID(host)) ?? "node"
    }
}
