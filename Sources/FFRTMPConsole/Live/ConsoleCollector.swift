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

    /// What the table shows of each job, and the cgroup usage it was computed from (the
    /// next refresh's CPU% is the rate between the two).
    struct Row {
        var job: ConsoleJob
        var usage: CgroupUsage?
        var usageAtNs: Int64
    }
    var rows: [JobID: Row] = [:]
    let watch: JournalWatch
    let meters = HostMeterReader()
    let limitWatch = LimitWatch()
    /// Live jobs whose limit files are watched (inotify), not re-read every refresh.
    public var limitWatchedJobs: Int { limitWatch.watchedJobs }

    public init(inspector: JobInspector, governance: GovernanceProbe, host: String = ConsoleCollector.hostname()) {
        self.inspector = inspector
        self.governance = governance
        self.host = host
        watch = JournalWatch(inspector: inspector)
    }

    public static func hostname() -> String { Sys.hostname() }

    public func snapshot(agent: AgentLink, wrapperEnabled: Bool?, detailFor detailID: String?) -> ConsoleSnapshot {
        let now = Clock.realtimeNanoseconds(), mono = Clock.monotonicNanoseconds()
        let seen = watch.poll()
        limitWatch.drain()
        var jobs: [ConsoleJob] = []
        jobs.reserveCapacity(seen.count)
        var next: [JobID: Row] = [:]
        var finished = 0, compliant = 0
        for s in seen {
            switch s.status {
            case let .failure(e):
                var j = ConsoleJob(id: s.id.value, mode: "?", state: "unreadable", live: false, createdAtUnixNs: 0,
                                   outcome: JobOutcome(.unreadable, "unreadable"))
                j.note = e.description
                jobs.append(j)
            case let .success(st):
                // A final job's row is computed once, when it ended.
                let r = !s.fresh ? rows[s.id] ?? row(st, previous: nil, mono: mono) : row(st, previous: rows[s.id], mono: mono)
                next[s.id] = r
                // Every job with a verdict, lost ones included (a lost outcome is a platform fault).
                if !r.job.live, let sla = r.job.sla {
                    finished += 1
                    if sla { compliant += 1 }
                }
                jobs.append(r.job)
            }
        }
        // Jobs gone from the journal stop being watched.
        for id in rows.keys where next[id] == nil { limitWatch.forget(id) }
        rows = next
        var header = ConsoleHeader(
            host: host, cgroupVersion: governance.version.rawValue,
            governance: GovernanceMode(rawValue: governance.level.rawValue) ?? .none, governanceReason: governance.reason,
            wrapperEnabled: wrapperEnabled, agent: agent,
            slaUptime: finished > 0 ? Double(compliant) / Double(finished) : nil, slaFinished: finished)
        var h = header
        h.stateDir = inspector.journal.stateDir
        h.cgroupParent = inspector.driver.parent
        h.meters = meters.read()
        h.pressureAvailable = governance.version == .v2 && FileIO.exists("/proc/pressure/cpu")
        header = h
        return ConsoleSnapshot(header: header, jobs: jobs, detail: detailID.flatMap { detail($0, now: now) }, nowUnixNs: now)
    }

    /// A live job's usage: every cgroup file the first time, then the ones that change from
    /// second to second, limits included (an operator may change them under a running job:
    /// the screen shows the cgroup's value, not the one read at start). CPU% is the rate since
    /// the previous refresh.
    func row(_ st: JobStatus, previous: Row?, mono: Int64) -> Row {
        var cur: CgroupUsage?
        if st.state.isLive, let cg = st.spec.cgroup {
            if let before = previous?.usage {
                // Limits are re-read after a write to their files (LimitWatch), else carried over.
                let readLimits = limitWatch.takeDirty(st.spec.jobID)
                var u = inspector.driver.liveUsage(cg, readLimits: readLimits)
                if !readLimits {
                    u.cpuLimitPercent = before.cpuLimitPercent
                    u.memoryLimitBytes = before.memoryLimitBytes
                }
                cur = u
            } else {
                // Watch first, then read: a write between the two is seen at the next refresh.
                limitWatch.watch(st.spec.jobID, files: inspector.driver.limitFiles(cg))
                cur = inspector.driver.usage(cg)
            }
        } else if previous?.usage != nil {
            limitWatch.forget(st.spec.jobID)
            if let cg = st.spec.cgroup { for d in cg.uniqueDirs { CgroupFS.openAttributes?.forget(under: d) } }
            if let s = st.supervisor { CgroupFS.openAttributes?.forget(under: "\(ProcFS.root)/\(s.pid)") }
        }
        var rates: UsageSampler.Usage?
        if let cur {
            let before = previous?.usage ?? cur
            rates = UsageSampler.rates(before, cur, elapsedNs: previous?.usage == nil ? 0 : Double(mono - (previous?.usageAtNs ?? mono)), spec: st.spec)
        }
        // Only ffmpeg given -progress writes a progress file: the others cost no failed open.
        let hasProgress = st.state.isLive && st.spec.argv.contains("-progress")
        return Row(job: Self.row(st, usage: rates, progress: hasProgress ? progress(st.spec.jobID) : nil), usage: cur, usageAtNs: mono)
    }

    static func row(_ st: JobStatus, usage u: UsageSampler.Usage?, progress: [String: String]?) -> ConsoleJob {
        let r = st.result
        var j = ConsoleJob(id: st.spec.jobID.value, mode: st.spec.mode.rawValue, state: st.state.rawValue, live: st.state.isLive,
                           createdAtUnixNs: st.spec.createdAtUnixNs, outcome: outcome(st))
        j.command = st.spec.argv.joined(separator: " ")
        j.pid = r.pid
        j.cpuPercent = u?.cpuPercent
        j.cpuLimitPercent = u?.cpuLimitPercent
        j.cpuLimitAskedPercent = u?.cpuLimitAskedPercent
        j.memoryBytes = u?.memoryCurrentBytes
        j.memoryLimitBytes = u?.memoryLimitBytes
        if u != nil, let mb = (st.spec.constraintsApplied ?? st.spec.constraints).memoryMaxMB {
            let asked = UInt64(mb) << 20
            if u?.memoryLimitBytes != asked { j.memoryLimitAskedBytes = asked }
        }
        j.memoryNotCharged = st.spec.memoryNotCharged != nil
        j.swapBytes = u?.swapCurrentBytes
        j.throttledPercent = u?.throttledPercent
        j.oomKills = u?.oomKills ?? (st.exit.map { $0.oomKillCount })
        j.pressure = u?.pressure
        j.sla = r.platformSLA
        j.slaReason = r.platformSLAReason
        if let p = progress {
            j.fps = p["fps"].flatMap(Double.init).flatMap { $0.isFinite && $0 >= 0 && $0 < 1e9 ? $0 : nil }
            j.speed = p["speed"].flatMap { $0 == "N/A" ? nil : $0.trimmed }
        }
        j.note = st.journalError ?? r.error ?? r.platformSLAReason
        return j
    }

    /// How the job ended, in the words an operator reads at 3 a.m. (OOM before the signal
    /// that carried it out, a timeout before its SIGKILL).
    static func outcome(_ st: JobStatus) -> JobOutcome {
        if st.journalError != nil { return JobOutcome(.unreadable, "unreadable") }
        switch st.state {
        case .running: return JobOutcome(.healthy, "")
        case .starting: return JobOutcome(.starting, "starting")
        case .orphaned: return JobOutcome(.orphaned, "orphaned")
        case .lost: return JobOutcome(.lost, "lost")
        case .neverStarted: return JobOutcome(.neverStarted, "never started")
        case .detached: return JobOutcome(.detached, "detached")
        default: break
        }
        let r = st.result
        if st.exit?.supervisorLost == true { return JobOutcome(.lost, "lost") }
        if let e = st.exit, e.spawnError != nil { return JobOutcome(.spawnFailed, "spawn failed") }
        if r.oomKilled { return JobOutcome(.oom, "OOM") }
        if r.timedOut { return JobOutcome(.timeout, "timeout") }
        if r.outputLimitExceeded { return JobOutcome(.outputLimit, "output limit") }
        if st.state == .killed || r.killedBy != nil {
            return JobOutcome(.killed, "killed" + (r.signal.map { " " + $0 } ?? ""))
        }
        if let c = r.exitCode { return c == 0 ? JobOutcome(.ok, "ok") : JobOutcome(.exitNonZero, "exit \(c)") }
        if let s = r.signal { return JobOutcome(.signal, s) }
        if st.state == .failed { return JobOutcome(.exitNonZero, "failed") }
        return JobOutcome(.unknown, "unknown")
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
            "mode: \(spec.mode.rawValue)   state: \(st.state.rawValue)   created: \(Clock.iso8601(unixNanoseconds: spec.createdAtUnixNs))",
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
        if let log = Self.tail(inspector.journal.file(id, "stderr.log"), bytes: 256 << 10) {
            // ffmpeg redraws its status line with \r: keep what the terminal would show last.
            d.logTail = log.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).suffix(ConsoleJobDetail.logLines)
                .map { String($0.split(separator: "\r").last ?? "") }
        }
        d.ioReadBytes = st.usage?.ioReadBytes
        d.ioWriteBytes = st.usage?.ioWriteBytes
        return d
    }

    static func processLine(_ pid: Int32, role: String?) -> String {
        guard let st = ProcFS.stat(pid) else { return "\(pid)  (gone)" }
        let started = startedAt(st.startTime).map { Clock.iso8601(unixNanoseconds: $0) } ?? "?"
        let line = commandLine(pid)
        let cmd = line.isEmpty ? st.comm : line
        return "\(pid)  \(started)  " + (role.map { "[\($0)] " } ?? "") + String(cmd.prefix(120))
    }

    /// A process's start as wall-clock time. /proc/PID/stat counts clock ticks since boot, and
    /// /proc/stat's btime is whole seconds (up to a second off); the offset between
    /// CLOCK_REALTIME and CLOCK_BOOTTIME, read now, is exact, so the start is true to a tick.
    static func startedAt(_ ticks: UInt64) -> Int64? {
        var rt = timespec(), bt = timespec()
        guard clock_gettime(CLOCK_REALTIME, &rt) == 0, clock_gettime(CLOCK_BOOTTIME, &bt) == 0 else { return nil }
        let bootNs = (Int64(rt.tv_sec) - Int64(bt.tv_sec)) * 1_000_000_000 + (Int64(rt.tv_nsec) - Int64(bt.tv_nsec))
        return bootNs + Int64(Double(ticks) / ProcFS.clockTicksPerSecond() * 1e9)
    }

    /// Seconds since a process started, and its CPU use over that time (percent of one core).
    static func ageAndCPU(_ pid: Int32) -> (Double, Double)? {
        guard let st = ProcFS.stat(pid), let start = startedAt(st.startTime) else { return nil }
        let age = Double(Clock.realtimeNanoseconds() - start) / 1e9
        let cpu = Double(st.utimeTicks + st.stimeTicks) / ProcFS.clockTicksPerSecond()
        return (age, age > 0 ? cpu / age * 100 : 0)
    }

    static func commandLine(_ pid: Int32) -> String {
        let raw = FileIO.readIfExists("/proc/\(pid)/cmdline") ?? ""
        return raw.split(separator: "\0").map(String.init).joined(separator: " ")
    }

    static func limits(_ c: WireConstraints) -> String { c.summary }

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
        // The agent's auto-attach verdicts, when it runs here (a state file it cannot read is
        // shown as such, not hidden).
        var state: AutoAttachState?
        var stateProblem: String?
        do { state = try AutoAttachState.load(stateDir: inspector.journal.stateDir) } catch { stateProblem = "state unreadable: \(error)" }
        let groups = scanner.ungovernedGroups(autoAttach: state).map { g -> OrphanItem in
            var o = OrphanItem(kind: .group, jobID: nil, pgid: g.pgid, command: g.command, pids: g.processes.map(\.pid), startTimes: g.processes.map(\.startTime))
            o.autoAttach = stateProblem ?? g.autoAttach.map { v in
                v.kind.label(dryRun: state?.policy.dryRun ?? false) + ": " + v.reason
            }
            return o
        }
        return (jobs + groups).map { o in
            var o = o
            if let leader = o.pids.first {
                o.commandLine = String(Self.commandLine(leader).prefix(300))
                if let (a, c) = Self.ageAndCPU(leader) {
                    o.ageSeconds = a
                    o.cpuPercent = c
                }
            }
            return o
        }
    }
}
