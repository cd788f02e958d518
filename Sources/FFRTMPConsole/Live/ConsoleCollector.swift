import FFRTMPCore
import Glibc

/// Builds a `ConsoleSnapshot` from the journal, procfs and cgroupfs, cheaply enough to run
/// every second over hundreds of jobs: ended jobs are read once and kept; a live job costs a
/// /proc stat of its supervisor, an exit.json existence check, its cgroup usage files and the
/// tail of its progress file. CPU% is the rate between this refresh and the previous one.
public final class ConsoleCollector {
    public let inspector: JobInspector
    public let governance: GovernanceProbe
    public let host: String

    struct Entry {
        var status: JobStatus
        var job: ConsoleJob
        var usage: CgroupUsage?
        var usageAtNs: Int64
        var final: Bool
    }
    var entries: [String: Entry] = [:]
    /// Journal directories that could not be read, retried every refresh.
    var unreadable: [String: String] = [:]

    public init(inspector: JobInspector, governance: GovernanceProbe, host: String = ConsoleCollector.hostname()) {
        self.inspector = inspector
        self.governance = governance
        self.host = host
    }

    public static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, 255)
        return String(cString: buf)
    }

    public func snapshot(agent: AgentLink, wrapperEnabled: Bool?, detailFor detailID: String?) -> ConsoleSnapshot {
        let now = Clock.realtimeNanoseconds(), mono = Clock.monotonicNanoseconds()
        let ids = inspector.journal.listedJobIDs()
        let present = Set(ids.map(\.value))
        entries = entries.filter { present.contains($0.key) }
        var jobs: [ConsoleJob] = []
        jobs.reserveCapacity(ids.count)
        var finished = 0, compliant = 0
        for id in ids {
            // A job being launched has its directory before its spec.json: not unreadable yet.
            if entries[id.value] == nil && !FileIO.exists(inspector.journal.file(id, "spec.json")) && Self.young(inspector.journal.dir(id), now: now) {
                continue
            }
            guard let e = refresh(id, mono: mono) else {
                var j = ConsoleJob(id: id.value, mode: "?", state: "unreadable", live: false, createdAtUnixNs: 0)
                j.outcome = unreadable[id.value]
                jobs.append(j)
                continue
            }
            // Every job with a verdict, lost ones included (a lost outcome is a platform fault).
            if !e.job.live, let sla = e.job.sla {
                finished += 1
                if sla { compliant += 1 }
            }
            jobs.append(e.job)
        }
        let header = ConsoleHeader(
            host: host, cgroupVersion: governance.version.rawValue,
            governance: GovernanceMode(rawValue: governance.level.rawValue) ?? .none, governanceReason: governance.reason,
            wrapperEnabled: wrapperEnabled, agent: agent,
            slaUptime: finished > 0 ? Double(compliant) / Double(finished) : nil, slaFinished: finished)
        return ConsoleSnapshot(header: header, jobs: jobs, detail: detailID.flatMap { detail($0, now: now) }, nowUnixNs: now)
    }

    func refresh(_ id: JobID, mono: Int64) -> Entry? {
        if let e = entries[id.value], e.final { return e }
        let prev = entries[id.value]
        var status: JobStatus
        if let prev {
            status = inspector.refresh(prev.status, withUsage: false)
        } else {
            do {
                status = try inspector.status(id, withUsage: true)
                unreadable[id.value] = nil
            } catch {
                unreadable[id.value] = (error as? FFRTMPError)?.description ?? "\(error)"
                return nil
            }
        }
        // After the first full read, only what changes is read again; the limit is kept.
        if prev != nil, status.state.isLive, let cg = status.spec.cgroup {
            var u = inspector.driver.liveUsage(cg)
            u.memoryLimitBytes = prev?.usage?.memoryLimitBytes
            status.usage = u
        }
        var usage: UsageSampler.Usage?
        if let cur = status.usage {
            if let prev, let before = prev.usage {
                usage = UsageSampler.rates(before, cur, elapsedNs: Double(mono - prev.usageAtNs), spec: status.spec)
            } else {
                usage = UsageSampler.rates(cur, cur, elapsedNs: 0, spec: status.spec)
            }
        }
        let final = !status.state.isLive && status.state != .lost && status.journalError == nil
        let e = Entry(status: status, job: Self.row(status, usage: usage, progress: status.state.isLive ? progress(id) : nil),
                      usage: status.usage, usageAtNs: mono, final: final)
        entries[id.value] = e
        return e
    }

    static func young(_ dir: String, now: Int64) -> Bool {
        var st = stat()
        guard stat(dir, &st) == 0 else { return false }
        return now &- (Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)) < 5_000_000_000
    }

    static func row(_ st: JobStatus, usage u: UsageSampler.Usage?, progress: [String: String]?) -> ConsoleJob {
        let r = st.result
        var j = ConsoleJob(id: st.spec.jobID.value, mode: modeName(st.spec.mode), state: st.state.rawValue, live: st.state.isLive,
                           createdAtUnixNs: st.spec.createdAtUnixNs)
        j.pid = r.pid
        j.cpuPercent = u?.cpuPercent
        j.cpuLimitPercent = u?.cpuLimitPercent
        j.memoryBytes = u?.memoryCurrentBytes
        j.memoryLimitBytes = u?.memoryLimitBytes
        j.throttledPercent = u?.throttledPercent
        j.oomKills = u?.oomKills ?? (st.exit.map { $0.oomKillCount })
        j.sla = r.platformSLA
        j.slaReason = r.platformSLAReason
        if let p = progress {
            j.fps = p["fps"].flatMap(Double.init).flatMap { $0.isFinite && $0 >= 0 && $0 < 1e9 ? $0 : nil }
            j.speed = p["speed"].flatMap { $0 == "N/A" ? nil : $0.trimmed }
        }
        if let c = r.exitCode { j.outcome = "exit=\(c)" } else if let s = r.signal { j.outcome = "signal=\(s)" } else if st.exit?.exitUnknownReason != nil {
            j.outcome = "status unknown"
        }
        if let e = st.journalError { j.outcome = e }
        return j
    }

    static func modeName(_ m: JobMode) -> String {
        switch m {
        case .run: return "wrapper"
        case .legacy: return "legacy"
        case .attach: return "attach"
        }
    }

    /// The last complete block of ffmpeg's `-progress` output (key=value lines ending in progress=...).
    func progress(_ id: JobID) -> [String: String]? {
        guard let tail = Self.tail(inspector.journal.file(id, "progress"), bytes: 1024) else { return nil }
        var block: [String: String] = [:]
        var last: [String: String]?
        for line in tail.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let k = String(line[..<eq]), v = String(line[line.index(after: eq)...])
            block[k] = v
            if k == "progress" { last = block; block = [:] }
        }
        return last
    }

    /// The last `bytes` of a file (starting at a line boundary when cut), or nil when unreadable.
    public static func tail(_ path: String, bytes: Int) -> String? {
        // O_NONBLOCK and regular files only: a FIFO planted as a log must not hang the screen.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int(st.st_size)
        let start = max(0, size - bytes)
        var buf = [UInt8](repeating: 0, count: min(bytes, size))
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        guard n >= 0 else { return nil }
        var text = String(decoding: buf[0..<n], as: UTF8.self)
        if start > 0, let nl = text.firstIndex(of: "\n") { text = String(text[text.index(after: nl)...]) }
        return text
    }

    // MARK: detail pane

    func detail(_ raw: String, now: Int64) -> ConsoleJobDetail? {
        guard let id = try? JobID(raw) else { return nil }
        var d = ConsoleJobDetail(id: raw)
        let st: JobStatus
        do { st = try inspector.status(id, withUsage: true) } catch {
            d.facts = ["journal unreadable: \((error as? FFRTMPError)?.description ?? "\(error)")"]
            return d
        }
        let r = st.result
        let spec = st.spec
        d.facts = [
            "mode: \(Self.modeName(spec.mode))   state: \(st.state.rawValue)   created: \(Clock.iso8601(unixNanoseconds: spec.createdAtUnixNs))",
            "command: " + spec.argv.joined(separator: " "),
            "limits asked: " + Self.limits(spec.constraints) + "   enforced: " + Self.limits(spec.constraintsApplied ?? spec.constraints),
            "governance: \(spec.governance.level.rawValue)" + (spec.governance.reason.map { " (\($0))" } ?? "")
                + (spec.timeoutSeconds.map { "   timeout: \($0)s" } ?? ""),
            "platform SLA: " + (r.platformSLA.map { $0 ? "met" : "FAILED" } ?? "not decided yet") + (r.platformSLAReason.map { " (\($0))" } ?? ""),
        ]
        if let cg = spec.cgroup {
            d.cgroupPaths = cg.dirs.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        }
        var pids = spec.cgroup.map(inspector.driver.members) ?? []
        if pids.isEmpty, let w = st.workload, w.identity.isAlive { pids = [w.identity.pid] }
        if let s = st.supervisor, s.isAlive { d.processes.append(Self.processLine(s.pid, role: "supervisor")) }
        d.processes += pids.prefix(32).map { Self.processLine($0, role: nil) }
        if let e = st.exit {
            var line = r.exitCode.map { "exit code \($0)" } ?? r.signal.map { "killed by signal \($0)" } ?? "exit status unknown"
            if e.oomKilled { line += ", OOM-killed (\(e.oomKillCount))" }
            if e.timedOut { line += ", timed out" }
            d.exitSummary = [line,
                             "ended \(Clock.iso8601(unixNanoseconds: e.endedAtUnixNs)) after " + ConsoleView.oneDecimal(Double(e.durationNs) / 1e9)
                                 + " s; cpu " + ConsoleView.oneDecimal(Double(e.cpuUsageNs) / 1e9) + " s; peak memory " + ConsoleView.bytes(e.peakMemoryBytes)]
            if let k = e.killedBy { d.exitSummary.append("killed by: " + k) }
            if let why = e.exitUnknownReason { d.exitSummary.append("why unknown: " + why) }
            if let s = e.spawnError { d.exitSummary.append("spawn failed at \(s.stage): \(s.message)") }
            d.exitSummary += (e.notes ?? []).map { "note: " + $0 }
        } else if let err = r.error {
            d.exitSummary = [err]
        }
        if let p = Self.tail(inspector.journal.file(id, "progress"), bytes: 600) {
            d.progressTail = Array(p.split(separator: "\n").suffix(12).map(String.init))
        }
        if let log = Self.tail(inspector.journal.file(id, "stderr.log"), bytes: 8192) {
            // ffmpeg redraws its status line with \r: keep what the terminal would show last.
            d.logTail = log.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).suffix(60).map { String($0.split(separator: "\r").last ?? "") }
        }
        return d
    }

    static func processLine(_ pid: Int32, role: String?) -> String {
        guard let st = ProcFS.stat(pid) else { return "\(pid)  (gone)" }
        var started = "?"
        if let boot = ProcFS.bootTimeSeconds() {
            let secs = boot + Double(st.startTime) / ProcFS.clockTicksPerSecond()
            started = Clock.iso8601(unixNanoseconds: Int64(secs * 1e9))
        }
        let cmd = (FileIO.readIfExists("/proc/\(pid)/cmdline") ?? st.comm).split(separator: "\0").map(String.init).joined(separator: " ")
        return "\(pid)  \(started)  " + (role.map { "[\($0)] " } ?? "") + String(cmd.prefix(120))
    }

    static func limits(_ c: WireConstraints) -> String {
        var parts: [String] = []
        if let v = c.cpuMax { parts.append("cpu.max=\(v)") }
        if let v = c.cpuWeight { parts.append("cpu.weight=\(v)") }
        if let v = c.memoryMaxMB { parts.append("memory=\(v)MB") }
        if let io = c.ioMax, !io.isEmpty { parts.append("io=" + io) }
        if let v = c.pidsMax { parts.append("pids=\(v)") }
        return parts.isEmpty ? "none" : parts.joined(separator: " ")
    }

    /// Orphaned work for the `a` dialog: journal jobs whose shim is gone, and ungoverned groups.
    public func orphans(targets: Set<String>) -> [OrphanItem] {
        let scanner = OrphanScanner(inspector: inspector, targets: targets)
        let jobs = scanner.journalOrphans().compactMap { st -> OrphanItem? in
            let members = st.spec.cgroup.map(inspector.driver.members) ?? []
            guard let pgid = st.workload?.pgid ?? members.first.flatMap({ ProcFS.stat($0)?.pgrp }) else { return nil }
            let pids = members.isEmpty ? [st.workload?.identity.pid].compactMap { $0 } : members
            return OrphanItem(kind: .job, jobID: st.spec.jobID.value, pgid: pgid, command: st.spec.argv.first.map { String($0.split(separator: "/").last ?? "") } ?? "?",
                              pids: pids, startTimes: pids.map { ProcFS.stat($0)?.startTime ?? 0 })
        }
        let groups = scanner.ungovernedGroups().map {
            OrphanItem(kind: .group, jobID: nil, pgid: $0.pgid, command: $0.command, pids: $0.processes.map(\.pid), startTimes: $0.processes.map(\.startTime))
        }
        return jobs + groups
    }
}
