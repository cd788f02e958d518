/// The console's view-model inputs: plain values with no file, process or terminal behind
/// them, so rows, sorting, filtering and column dropping are tested without a terminal.
/// `ConsoleCollector` fills a snapshot from the journal, cgroupfs and the agent; the
/// ncurses layer only draws what `ConsoleView.render` returns.

/// One job as the console shows it.
public struct ConsoleJob: Equatable, Sendable {
    public var id: String
    /// wrapper, legacy or attach.
    public var mode: String
    /// A `JobState` raw value, or "unreadable" for a job whose journal files cannot be read.
    public var state: String
    public var live: Bool
    public var pid: Int32?
    public var cpuPercent: Double?
    /// Percent of one core the job may use; nil without a CPU limit.
    public var cpuLimitPercent: Double?
    public var memoryBytes: UInt64?
    public var memoryLimitBytes: UInt64?
    /// Swap in use, when the kernel accounts it per cgroup (it counts against the memory limit).
    public var swapBytes: UInt64?
    public var throttledPercent: Double?
    public var oomKills: UInt64?
    /// The platform SLA verdict: nil while unknown (running, or never classified).
    public var sla: Bool?
    public var slaReason: String?
    public var createdAtUnixNs: Int64
    public var fps: Double?
    public var speed: String?
    /// One line on how it ended (exit=0, signal=KILL, ...), or the journal error.
    public var outcome: String?

    public init(id: String, mode: String, state: String, live: Bool, createdAtUnixNs: Int64) {
        self.id = id
        self.mode = mode
        self.state = state
        self.live = live
        self.createdAtUnixNs = createdAtUnixNs
    }
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
    public var logTail: [String] = []

    public init(id: String) { self.id = id }
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

    public init(kind: Kind, jobID: String?, pgid: Int32, command: String, pids: [Int32], startTimes: [UInt64] = []) {
        self.startTimes = startTimes
        self.kind = kind
        self.jobID = jobID
        self.pgid = pgid
        self.command = command
        self.pids = pids
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

    public struct Counts: Equatable, Sendable {
        public var running = 0, orphaned = 0, lost = 0, failed = 0
        public init(running: Int = 0, orphaned: Int = 0, lost: Int = 0, failed: Int = 0) {
            self.running = running
            self.orphaned = orphaned
            self.lost = lost
            self.failed = failed
        }
    }

    /// Failed counts jobs that never started and jobs whose platform SLA failed.
    public var counts: Counts {
        var c = Counts()
        for j in jobs {
            switch j.state {
            case "running", "starting": c.running += 1
            case "orphaned": c.orphaned += 1
            case "lost": c.lost += 1
            case "failed", "never_started", "unreadable": c.failed += 1
            default: if j.sla == false { c.failed += 1 }
            }
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
    case adopt(OrphanItem)
    case kill(jobID: String)
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
    /// Live jobs first (running, orphaned, starting), then lost and failed, then ended; newest first within each.
    case state
    case cpu, memory, age, id

    public var next: SortKey {
        let all = SortKey.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

public enum Overlay: Equatable, Sendable {
    case none
    case detail(jobID: String)
    case help
    case filter
    case launch(LaunchForm)
    case orphans(items: [OrphanItem], selected: Int)
    case confirmKill(jobID: String)
}

/// Everything the operator changed on screen: selection, sort, filter, the open dialog.
public struct ConsoleUIState: Equatable, Sendable {
    public var selectedID: String?
    public var scroll = 0
    public var sort = SortKey.state
    public var filter = ""
    public var overlay = Overlay.none
    public var readonly = false
    /// The last action's outcome, shown on the bottom line.
    public var message: (text: String, isError: Bool)?

    public init(readonly: Bool = false) { self.readonly = readonly }

    public static func == (a: ConsoleUIState, b: ConsoleUIState) -> Bool {
        a.selectedID == b.selectedID && a.scroll == b.scroll && a.sort == b.sort && a.filter == b.filter
            && a.overlay == b.overlay && a.readonly == b.readonly && a.message?.text == b.message?.text
            && a.message?.isError == b.message?.isError
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
