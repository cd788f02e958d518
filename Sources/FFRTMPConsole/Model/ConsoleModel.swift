import FFRTMPCore

/// The console's view-model inputs: plain values with no file, process or terminal behind
/// them, so rows, sorting, filtering and column dropping are tested without a terminal.
/// `ConsoleCollector` fills a snapshot from the journal, cgroupfs and the agent; the
/// ncurses layer only draws what `ConsoleView.render` returns.

/// How a job ended, or what is wrong with it while it runs: the OUTCOME column, coloured by meaning.
public enum OutcomeKind: String, Equatable, Sendable {
    /// Running with nothing wrong (the cell is empty).
    case healthy
    case starting
    /// Running at 90% or more of its memory limit.
    case nearOOM
    /// Running with more than half its CPU periods throttled.
    case throttled
    /// Its supervisor is gone while its processes run.
    case orphaned
    case ok
    case exitNonZero
    case oom
    case signal
    case timeout
    case outputLimit
    /// Ended by an operator's (or the agent's) kill.
    case killed
    case detached
    case lost
    case neverStarted
    /// The workload could not be started (spawn failed).
    case spawnFailed
    case unknown
    case unreadable

    /// The jobs an operator has to look at: the problems-first sort puts them on top, `p` visits them.
    public var isProblem: Bool {
        switch self {
        case .healthy, .starting, .ok, .killed, .detached: return false
        default: return true
        }
    }
}

public struct JobOutcome: Equatable, Sendable {
    public var kind: OutcomeKind
    /// ok, exit 3, OOM, SIGKILL, timeout, lost, never started, near OOM, ...
    public var label: String

    public init(_ kind: OutcomeKind, _ label: String) {
        self.kind = kind
        self.label = label
    }
}

/// One job as the console shows it.
public struct ConsoleJob: Equatable, Sendable {
    public var id: String
    /// run (shim and cgroup), legacy or attach: the names `ffrtmp ps` uses.
    public var mode: String
    /// A `JobState` raw value, or "unreadable" for a job whose journal files cannot be read.
    public var state: String
    public var live: Bool
    public var pid: Int32?
    /// The command line (for the filter and search).
    public var command = ""
    public var cpuPercent: Double?
    /// Percent of one core the cgroup allows now (read from cpu.max); nil without a quota.
    public var cpuLimitPercent: Double?
    /// What the job asked for, when the cgroup now says something else.
    public var cpuLimitAskedPercent: Double?
    public var memoryBytes: UInt64?
    /// The cgroup's memory limit now; nil without one.
    public var memoryLimitBytes: UInt64?
    /// What the job asked for, when the cgroup now says something else.
    public var memoryLimitAskedBytes: UInt64?
    /// attach: the memory the processes used before adoption stays charged elsewhere, so the
    /// cgroup's figure is too low to show as theirs.
    public var memoryNotCharged = false
    /// Swap in use, when the kernel accounts it per cgroup (it counts against the memory limit).
    public var swapBytes: UInt64?
    public var throttledPercent: Double?
    public var oomKills: UInt64?
    /// Per-job PSI (v2); nil on v1 or while the job does not run.
    public var pressure: CgroupPressure?
    /// The platform SLA verdict: nil while unknown (running, or never classified).
    public var sla: Bool?
    public var slaReason: String?
    public var createdAtUnixNs: Int64
    public var fps: Double?
    public var speed: String?
    public var outcome: JobOutcome
    /// The journal's error for an unreadable job, or a longer account of how it ended.
    public var note: String?

    public init(id: String, mode: String, state: String, live: Bool, createdAtUnixNs: Int64, outcome: JobOutcome? = nil) {
        self.id = id
        self.mode = mode
        self.state = state
        self.live = live
        self.createdAtUnixNs = createdAtUnixNs
        self.outcome = outcome ?? (live ? JobOutcome(.healthy, "") : JobOutcome(.unknown, state))
    }

    /// 90% of the memory limit or more.
    public var nearOOM: Bool {
        guard live, !memoryNotCharged, let m = memoryBytes, let l = memoryLimitBytes, l > 0 else { return false }
        return Double(m &+ (swapBytes ?? 0)) >= 0.9 * Double(l)
    }

    /// What the OUTCOME cell shows: how it ended, or what is wrong while it runs.
    public var shownOutcome: JobOutcome {
        guard live else { return outcome }
        if state == "orphaned" { return JobOutcome(.orphaned, "orphaned") }
        if nearOOM { return JobOutcome(.nearOOM, "near OOM") }
        if let t = throttledPercent, t > 50 { return JobOutcome(.throttled, "throttled") }
        return outcome
    }

    /// Problems first: lost, orphaned, never started (and unreadable, failed), near OOM,
    /// throttled, then the jobs that ended badly, then the healthy running, then the rest.
    public var troubleRank: Int {
        switch shownOutcome.kind {
        case .lost: return 0
        case .orphaned: return 1
        case .neverStarted, .spawnFailed, .unreadable, .unknown: return 2
        case .nearOOM: return 3
        case .throttled: return 4
        case .oom: return 5
        case .signal, .timeout, .outputLimit: return 6
        case .exitNonZero: return sla == false ? 6 : 7
        case .healthy: return 8
        case .starting: return 9
        case .ok, .killed, .detached: return sla == false ? 6 : 10
        }
    }

    public var isProblem: Bool { troubleRank < 8 }
}

/// What the detail pane shows for the selected job; collected only while the pane is open.
public struct ConsoleJobDetail: Equatable, Sendable {
    public var id: String
    /// "key: value" lines: mode, state, argv, constraints requested and applied, governance.
    public var facts: [String] = []
    /// Controller -> directory.
    public var cgroupPaths: [String] = []
    /// "PID  started at  command".
    public var processes: [String] = []
    public var exitSummary: [String] = []
    public var progressTail: [String] = []
    /// The last lines of stderr.log (up to `ConsoleJobDetail.logLines`).
    public var logTail: [String] = []
    public var ioReadBytes: UInt64?
    public var ioWriteBytes: UInt64?

    public static let logLines = 2000

    public init(id: String) { self.id = id }
}

/// The box's own meters for the header: what htop shows, plus the host's PSI.
public struct HostMeters: Equatable, Sendable {
    public var cpuPercent: Double?
    public var cores: Int
    public var memoryUsedBytes: UInt64?
    public var memoryTotalBytes: UInt64?
    public var load: (Double, Double, Double)?
    public var pressure: CgroupPressure?

    public init(cpuPercent: Double? = nil, cores: Int = 1, memoryUsedBytes: UInt64? = nil, memoryTotalBytes: UInt64? = nil,
                load: (Double, Double, Double)? = nil, pressure: CgroupPressure? = nil) {
        self.cpuPercent = cpuPercent
        self.cores = cores
        self.memoryUsedBytes = memoryUsedBytes
        self.memoryTotalBytes = memoryTotalBytes
        self.load = load
        self.pressure = pressure
    }

    public static func == (a: HostMeters, b: HostMeters) -> Bool {
        a.cpuPercent == b.cpuPercent && a.cores == b.cores && a.memoryUsedBytes == b.memoryUsedBytes && a.memoryTotalBytes == b.memoryTotalBytes
            && a.load?.0 == b.load?.0 && a.load?.1 == b.load?.1 && a.load?.2 == b.load?.2 && a.pressure == b.pressure
    }
}

public enum AgentLink: Equatable, Sendable {
    /// The agent answers on its socket; `master` is its master URL (nil: standalone) and
    /// whether it is registered there.
    case connected(node: String, master: String?, registered: Bool, outboxDepth: Int)
    /// No agent answers: the console works on the journal alone.
    case down(reason: String)
}

public enum GovernanceMode: String, Equatable, Sendable { case full, degraded, none }

public struct ConsoleHeader: Equatable, Sendable {
    public var host: String
    public var cgroupVersion: String
    public var governance: GovernanceMode
    public var governanceReason: String?
    /// nil when neither the agent nor worker.env says.
    public var wrapperEnabled: Bool?
    public var agent: AgentLink
    /// Compliant jobs over all finished jobs with a verdict; nil when none finished yet.
    public var slaUptime: Double?
    public var slaFinished: Int
    /// The journal and the job cgroups' parent: a wrong --state-dir must not look like an outage.
    public var stateDir = ""
    public var cgroupParent = ""
    public var meters = HostMeters()
    /// Per-job pressure can be read (cgroup v2 with PSI).
    public var pressureAvailable = false

    public init(host: String, cgroupVersion: String, governance: GovernanceMode, governanceReason: String? = nil,
                wrapperEnabled: Bool? = nil, agent: AgentLink, slaUptime: Double? = nil, slaFinished: Int = 0) {
        self.host = host
        self.cgroupVersion = cgroupVersion
        self.governance = governance
        self.governanceReason = governanceReason
        self.wrapperEnabled = wrapperEnabled
        self.agent = agent
        self.slaUptime = slaUptime
        self.slaFinished = slaFinished
    }
}

/// Work running without a supervisor, offered for adoption by `a`.
public struct OrphanItem: Equatable, Sendable {
    public enum Kind: String, Sendable { case job, group }
    public var kind: Kind
    /// The journal job whose shim is gone (kind job).
    public var jobID: String?
    public var pgid: Int32
    public var command: String
    public var pids: [Int32]
    /// Start times of `pids` (same order) when the list was made: adoption checks that the
    /// group is still these processes, so a pgid reused since is never moved.
    public var startTimes: [UInt64] = []
    /// The leader's full command line, how long the group has run and its CPU use since it
    /// started (percent of one core), for the operator to tell candidates apart.
    public var commandLine = ""
    public var ageSeconds: Double?
    public var cpuPercent: Double?
    /// What the agent's auto-attach does with the group and why ("refused: in system cgroup
    /// …"), nil when auto-attach never ran on this state dir.
    public var autoAttach: String?

    public init(kind: Kind, jobID: String?, pgid: Int32, command: String, pids: [Int32], startTimes: [UInt64] = []) {
        self.startTimes = startTimes
        self.kind = kind
        self.jobID = jobID
        self.pgid = pgid
        self.command = command
        self.pids = pids
    }
}

/// The limits an adoption will apply, and where they come from: shown in the orphan dialog
/// before anything moves.
public struct AdoptLimits: Equatable, Sendable {
    /// "cpu.max=50000 100000 memory=256MB", or "none".
    public var summary: String
    public var hasLimits: Bool
    /// "worker.env /etc/ffrtmp/worker.env", "the agent's defaults", or why none was found.
    public var source: String
    /// Set when adoption cannot go ahead at all (an untrusted or unreadable worker.env).
    public var problem: String?

    public init(summary: String, hasLimits: Bool, source: String, problem: String? = nil) {
        self.summary = summary
        self.hasLimits = hasLimits
        self.source = source
        self.problem = problem
    }
}

public struct ConsoleSnapshot: Equatable, Sendable {
    public var header: ConsoleHeader
    public var jobs: [ConsoleJob]
    public var detail: ConsoleJobDetail?
    public var nowUnixNs: Int64

    public init(header: ConsoleHeader, jobs: [ConsoleJob], detail: ConsoleJobDetail? = nil, nowUnixNs: Int64) {
        self.header = header
        self.jobs = jobs
        self.detail = detail
        self.nowUnixNs = nowUnixNs
    }

    /// Jobs adopted by this console while the agent is down, which it watches until they end.
    public var watchedAdoptions = 0

    /// What the header counts, each by its own kind.
    public struct Counts: Equatable, Sendable {
        public var running = 0, orphaned = 0, lost = 0, neverStarted = 0, oom = 0, exitNonZero = 0, slaFailed = 0
        public var nearOOM = 0, throttled = 0
        public init() {}
    }

    public var counts: Counts {
        var c = Counts()
        for j in jobs {
            switch j.state {
            case "running", "starting": c.running += 1
            case "orphaned": c.orphaned += 1
            default: break
            }
            switch j.shownOutcome.kind {
            case .lost: c.lost += 1
            case .neverStarted, .spawnFailed: c.neverStarted += 1
            case .oom: c.oom += 1
            case .exitNonZero, .signal, .timeout, .outputLimit: c.exitNonZero += 1
            case .nearOOM: c.nearOOM += 1
            case .throttled: c.throttled += 1
            default: break
            }
            if !j.live && j.sla == false { c.slaFailed += 1 }
        }
        return c
    }
}

/// What a key press asks the console to do; the controller decides, the main loop carries it out.
public enum ConsoleAction: Equatable, Sendable {
    case quit
    case launch(TestLaunch)
    case setWrapper(Bool)
    case scanOrphans
    case adopt(OrphanItem, allowUnlimited: Bool)
    case kill(jobIDs: [String])
}

/// The `n` dialog's values once validated.
public struct TestLaunch: Equatable, Sendable {
    public var durationSeconds: Double
    /// Percent of one core (100 = one core); nil: no CPU limit beyond the node's defaults.
    public var cpuPercent: Double?
    public var memoryMaxMB: Int?

    public init(durationSeconds: Double, cpuPercent: Double?, memoryMaxMB: Int?) {
        self.durationSeconds = durationSeconds
        self.cpuPercent = cpuPercent
        self.memoryMaxMB = memoryMaxMB
    }

    /// cgroup `cpu.max` form: quota and period in microseconds.
    public var cpuMax: String? {
        cpuPercent.map { "\(Int(($0 * 1000).rounded())) 100000" }
    }
}

/// The `n` dialog: every field prefilled, so Enter alone launches.
public struct LaunchForm: Equatable, Sendable {
    public struct Field: Equatable, Sendable {
        public var label: String
        public var value: String
        public var hint: String
    }
    public var fields: [Field]
    public var focus = 0
    public var error: String?

    public static let source = "ffmpeg lavfi testsrc 640x360, realtime, x264 to a null sink"

    public init(durationSeconds: Int = 20, cpuPercent: String = "50", memoryMaxMB: String = "256") {
        fields = [
            Field(label: "Duration (s)", value: String(durationSeconds), hint: "1 to 86400"),
            Field(label: "CPU limit (% of a core)", value: cpuPercent, hint: "1 to 10000, empty: none"),
            Field(label: "Memory limit (MB)", value: memoryMaxMB, hint: "16 to 1048576, empty: none"),
        ]
    }

    /// The values, or an error that names the field and what it expects.
    public func validate() -> Result<TestLaunch, FormError> {
        let d = fields[0].value.trimmed, c = fields[1].value.trimmed, m = fields[2].value.trimmed
        guard let dur = Double(d), dur.isFinite, dur >= 1, dur <= 86400 else {
            return .failure(FormError(field: 0, message: "Duration: expected seconds from 1 to 86400, got \"\(d)\""))
        }
        var cpu: Double?
        if !c.isEmpty {
            guard let v = Double(c), v.isFinite, v >= 1, v <= 10000 else {
                return .failure(FormError(field: 1, message: "CPU limit: expected a percent from 1 to 10000 (or empty), got \"\(c)\""))
            }
            cpu = v
        }
        var mem: Int?
        if !m.isEmpty {
            guard let v = Int(m), v >= 16, v <= 1_048_576 else {
                return .failure(FormError(field: 2, message: "Memory limit: expected whole MB from 16 to 1048576 (or empty), got \"\(m)\""))
            }
            mem = v
        }
        return .success(TestLaunch(durationSeconds: dur, cpuPercent: cpu, memoryMaxMB: mem))
    }

    public struct FormError: Error, Equatable, Sendable {
        public var field: Int
        public var message: String
    }
}

public enum SortKey: String, CaseIterable, Sendable {
    /// Trouble first (lost, orphaned, never started, near OOM, throttled, ended badly), then
    /// the healthy running jobs, then the ones that ended well; newest first within each.
    case problems
    case cpu, memory, pressure, age, id

    public var next: SortKey {
        let all = SortKey.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }

    public var previous: SortKey {
        let all = SortKey.allCases
        return all[(all.firstIndex(of: self)! + all.count - 1) % all.count]
    }
}

/// The orphan dialog's contents.
public struct OrphanList: Equatable, Sendable {
    public var items: [OrphanItem]
    public var selected = 0
    public var limits: AdoptLimits

    public init(items: [OrphanItem], selected: Int = 0, limits: AdoptLimits) {
        self.items = items
        self.selected = selected
        self.limits = limits
    }
}

public enum Overlay: Equatable, Sendable {
    case none
    /// `top`: the first line shown (scrolling); the view clamps it.
    case detail(jobID: String, top: Int)
    /// The live stderr tail; `follow` keeps the newest line in view.
    case log(jobID: String, top: Int, follow: Bool)
    case help(KeyContext)
    case search
    case filter
    case launch(LaunchForm)
    case orphans(OrphanList)
    /// Adopt the selected orphan with no limits: asked once more, because nothing would be governed.
    case confirmUnlimited(OrphanList)
    case confirmKill(jobIDs: [String])
    case confirmWrapper(to: Bool)
    case confirmQuit(watching: Int)

    /// The key context the overlay answers in.
    public var context: KeyContext {
        switch self {
        case .detail: return .detail
        case .log: return .log
        case .orphans: return .orphans
        default: return .main
        }
    }
}

/// Everything the operator changed on screen: selection, sort, filter, tags, the open dialog.
public struct ConsoleUIState: Equatable, Sendable {
    public var selectedID: String?
    public var scroll = 0
    public var sort = SortKey.problems
    public var reverse = false
    public var filter = ""
    public var search = ""
    /// `e`: ended jobs that need nobody (ok, killed, detached) are hidden.
    public var hideEnded = false
    /// Space-tagged jobs, for a bulk kill.
    public var tagged: Set<String> = []
    public var overlay = Overlay.none
    public var readonly = false
    /// The last action's outcome, shown on the bottom line (wrapped when long).
    public var message: (text: String, isError: Bool)?
    /// The action in flight ("killing job-1 (TERM, then KILL after 10 s)…"): shown until it ends,
    /// whatever keys are pressed meanwhile.
    public var busy: String?

    public init(readonly: Bool = false) { self.readonly = readonly }

    public static func == (a: ConsoleUIState, b: ConsoleUIState) -> Bool {
        a.selectedID == b.selectedID && a.scroll == b.scroll && a.sort == b.sort && a.reverse == b.reverse && a.filter == b.filter
            && a.search == b.search && a.hideEnded == b.hideEnded && a.tagged == b.tagged
            && a.overlay == b.overlay && a.readonly == b.readonly && a.message?.text == b.message?.text
            && a.message?.isError == b.message?.isError && a.busy == b.busy
    }

    /// Stores back the scroll position the view clamped.
    public mutating func apply(_ f: Frame) {
        scroll = f.scroll
        guard let top = f.overlayTop else { return }
        switch overlay {
        case let .detail(id, _): overlay = .detail(jobID: id, top: top)
        case let .log(id, _, follow): overlay = .log(jobID: id, top: top, follow: follow)
        default: break
        }
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
