import FFRTMPCore

/// Turns a snapshot and the UI state into exactly `height` lines of at most `width` cells.
/// Pure: no terminal, no clock, no files. The ncurses layer draws the result.

public enum CellStyle: UInt8, Equatable, Sendable {
    case normal, bold, selected, dim, good, bad, warn, title, tableHeader
}

public struct Span: Equatable, Sendable {
    public var text: String
    public var style: CellStyle
}

public struct ScreenLine: Equatable, Sendable {
    public var spans: [Span]
    public var text: String { spans.map(\.text).joined() }
}

public struct Frame: Equatable, Sendable {
    public var lines: [ScreenLine]
    /// The first visible row after keeping the selection on screen; the caller stores it back.
    public var scroll: Int
    public var text: String { lines.map(\.text).joined(separator: "\n") }
}

/// UTF-8 box drawing and bars, or plain ASCII when the locale is not UTF-8.
public struct Glyphs: Sendable, Equatable {
    public var barFull: Character, barEmpty: Character
    public var ok: String, fail: String, unknown: String
    public var h: Character, v: Character, tl: Character, tr: Character, bl: Character, br: Character
    public var ellipsis: Character, dot: String, arrows: String

    public static let utf8 = Glyphs(barFull: "█", barEmpty: "░", ok: "✓", fail: "✗", unknown: "?",
                                    h: "─", v: "│", tl: "┌", tr: "┐", bl: "└", br: "┘", ellipsis: "…", dot: " · ", arrows: "↑↓")
    public static let ascii = Glyphs(barFull: "#", barEmpty: ".", ok: "ok", fail: "X", unknown: "?",
                                     h: "-", v: "|", tl: "+", tr: "+", bl: "+", br: "+", ellipsis: "~", dot: " | ", arrows: "up/dn")
}

public enum ColumnID: String, CaseIterable, Sendable {
    case job = "JOB", mode = "MODE", state = "STATE", pid = "PID", cpu = "CPU%/LIM", mem = "MEM/LIMIT"
    case thr = "THR", oom = "OOM", sla = "SLA", age = "AGE", progress = "PROGRESS"
}

public struct Column: Equatable, Sendable {
    public var id: ColumnID
    public var width: Int
    /// Lower survives longer when the terminal is narrow.
    public var priority: Int
    public var rightAligned: Bool

    /// Display order, left to right.
    public static let all: [Column] = [
        Column(id: .job, width: 12, priority: 0, rightAligned: false),
        Column(id: .mode, width: 7, priority: 5, rightAligned: false),
        Column(id: .state, width: 8, priority: 1, rightAligned: false),
        Column(id: .pid, width: 7, priority: 7, rightAligned: true),
        Column(id: .cpu, width: 14, priority: 3, rightAligned: false),
        Column(id: .mem, width: 15, priority: 4, rightAligned: false),
        Column(id: .thr, width: 4, priority: 8, rightAligned: true),
        Column(id: .oom, width: 3, priority: 9, rightAligned: true),
        Column(id: .sla, width: 3, priority: 2, rightAligned: false),
        Column(id: .age, width: 5, priority: 6, rightAligned: true),
        Column(id: .progress, width: 14, priority: 10, rightAligned: false),
    ]
    static let maxJobWidth = 26
}

public enum ConsoleView {
    /// The columns that fit in `width`, in display order; columns drop in priority order and
    /// the JOB column takes what is left over (up to a limit).
    public static func columns(width: Int) -> [Column] {
        var chosen: Set<ColumnID> = []
        var used = 0
        for c in Column.all.sorted(by: { $0.priority < $1.priority }) {
            let need = c.width + (chosen.isEmpty ? 0 : 1)
            // Strictly by priority: once one does not fit, every lower one is dropped too.
            if used + need > width { break }
            chosen.insert(c.id)
            used += need
        }
        var cols = Column.all.filter { chosen.contains($0.id) }
        if let i = cols.firstIndex(where: { $0.id == .job }) {
            cols[i].width = min(Column.maxJobWidth, cols[i].width + max(0, width - used))
        }
        return cols
    }

    /// The jobs the table shows, filtered and sorted.
    public static func visibleJobs(_ s: ConsoleSnapshot, _ ui: ConsoleUIState) -> [ConsoleJob] {
        let f = ui.filter.lowercased()
        let jobs = f.isEmpty ? s.jobs : s.jobs.filter {
            $0.id.lowercased().contains(f) || $0.mode.lowercased().contains(f) || $0.state.lowercased().contains(f)
        }
        return jobs.sorted { a, b in
            func newer() -> Bool { a.createdAtUnixNs != b.createdAtUnixNs ? a.createdAtUnixNs > b.createdAtUnixNs : a.id < b.id }
            switch ui.sort {
            case .state:
                let ra = stateRank(a), rb = stateRank(b)
                return ra != rb ? ra < rb : newer()
            case .cpu:
                let x = a.cpuPercent ?? -1, y = b.cpuPercent ?? -1
                return x != y ? x > y : newer()
            case .memory:
                let x = a.memoryBytes ?? 0, y = b.memoryBytes ?? 0
                return x != y ? x > y : newer()
            case .age:
                return a.createdAtUnixNs != b.createdAtUnixNs ? a.createdAtUnixNs < b.createdAtUnixNs : a.id < b.id
            case .id:
                return a.id < b.id
            }
        }
    }

    /// Live first; then the ones that need an operator (lost, failed); then the ended.
    static func stateRank(_ j: ConsoleJob) -> Int {
        switch j.state {
        case "running": return 0
        case "orphaned": return 1
        case "starting": return 2
        case "lost": return 3
        case "failed", "never_started", "unreadable": return 4
        default: return 5
        }
    }

    /// The selected job: the one with the selected id if it is still visible, else the first.
    public static func selectedIndex(_ jobs: [ConsoleJob], _ ui: ConsoleUIState) -> Int? {
        if jobs.isEmpty { return nil }
        if let id = ui.selectedID, let i = jobs.firstIndex(where: { $0.id == id }) { return i }
        return 0
    }

    public static let headerLines = 3

    public static func render(_ s: ConsoleSnapshot, _ ui: ConsoleUIState, width: Int, height: Int, glyphs g: Glyphs) -> Frame {
        var grid = Grid(width: max(0, width), height: max(0, height))
        guard width >= 40, height >= 10 else {
            grid.put(0, 0, "terminal too small (\(width)x\(height)); need at least 40x10", .bad)
            return Frame(lines: grid.lines(), scroll: ui.scroll)
        }
        header(s, ui, &grid, g)
        let jobs = visibleJobs(s, ui)
        let rowsTop = headerLines + 1, rowsHeight = height - rowsTop - 1
        var scroll = ui.scroll
        let sel = selectedIndex(jobs, ui)
        if let i = sel {
            scroll = min(max(0, scroll), max(0, jobs.count - rowsHeight))
            if i < scroll { scroll = i }
            if i >= scroll + rowsHeight { scroll = i - rowsHeight + 1 }
        } else {
            scroll = 0
        }
        if case let .detail(id) = ui.overlay {
            detailPane(s, id: id, &grid, top: headerLines, height: height - headerLines - 1, g)
        } else {
            table(jobs, sel: sel, scroll: scroll, s, &grid, top: headerLines, rowsHeight: rowsHeight, g)
        }
        footer(ui, &grid, g)
        switch ui.overlay {
        case .help: helpBox(ui, &grid, g)
        case let .launch(form): launchBox(form, &grid, g)
        case let .orphans(items, selected): orphanBox(items, selected, ui.readonly, &grid, g)
        case let .confirmKill(id): killBox(s.jobs.first { $0.id == id }, id: id, &grid, g)
        case .none, .detail, .filter: break
        }
        return Frame(lines: grid.lines(), scroll: scroll)
    }

    // MARK: header and footer

    static func header(_ s: ConsoleSnapshot, _ ui: ConsoleUIState, _ grid: inout Grid, _ g: Glyphs) {
        let h = s.header
        var x = grid.put(0, 0, "ffrtmp", .title)
        x = grid.put(x, 0, g.dot + h.host + g.dot + "cgroup " + h.cgroupVersion + g.dot, .normal)
        let gov = "governance " + h.governance.rawValue + (h.governanceReason.map { " (\($0))" } ?? "")
        x = grid.put(x, 0, gov, h.governance == .full ? .good : h.governance == .degraded ? .warn : .bad)
        x = grid.put(x, 0, g.dot, .normal)
        let wrapper = "WRAPPER_ENABLED=" + (h.wrapperEnabled.map { $0 ? "on" : "off" } ?? "?")
        x = grid.put(x, 0, wrapper, .bold)
        if ui.readonly { grid.put(x, 0, g.dot + "READ-ONLY", .warn) }

        switch h.agent {
        case let .connected(node, master, registered, outbox):
            x = grid.put(0, 1, "agent ", .normal)
            x = grid.put(x, 1, master == nil ? "standalone" : "connected", .good)
            x = grid.put(x, 1, " (node \(node))" + g.dot, .normal)
            if let m = master {
                x = grid.put(x, 1, "master " + m + " ", .normal)
                x = grid.put(x, 1, registered ? "registered" : "not registered", registered ? .good : .warn)
                x = grid.put(x, 1, g.dot, .normal)
            }
            x = grid.put(x, 1, "outbox \(outbox)", outbox > 0 ? .warn : .normal)
        case let .down(reason):
            x = grid.put(0, 1, "agent ", .normal)
            x = grid.put(x, 1, "down", .bad)
            x = grid.put(x, 1, " (\(reason)); journal only", .normal)
        }
        x = grid.put(x, 1, g.dot + "SLA uptime ", .normal)
        if let u = h.slaUptime {
            grid.put(x, 1, percent1(u * 100) + " of \(h.slaFinished)", u >= 0.999 ? .good : u >= 0.99 ? .warn : .bad)
        } else {
            grid.put(x, 1, "n/a (none finished)", .dim)
        }

        let c = s.counts
        x = grid.put(0, 2, "jobs: ", .normal)
        x = grid.put(x, 2, "\(c.running) running", .normal)
        x = grid.put(x, 2, g.dot, .normal)
        x = grid.put(x, 2, "\(c.orphaned) orphaned", c.orphaned > 0 ? .warn : .normal)
        x = grid.put(x, 2, g.dot, .normal)
        x = grid.put(x, 2, "\(c.lost) lost", c.lost > 0 ? .bad : .normal)
        x = grid.put(x, 2, g.dot, .normal)
        x = grid.put(x, 2, "\(c.failed) failed", c.failed > 0 ? .bad : .normal)
        x = grid.put(x, 2, g.dot + "sort: " + ui.sort.rawValue, .dim)
        if !ui.filter.isEmpty || ui.overlay == .filter { grid.put(x, 2, g.dot + "filter: " + ui.filter, .dim) }
    }

    static func footer(_ ui: ConsoleUIState, _ grid: inout Grid, _ g: Glyphs) {
        let y = grid.height - 1
        if ui.overlay == .filter {
            grid.put(0, y, "/" + ui.filter + "_   Enter keep · Esc clear", .bold)
            return
        }
        if let m = ui.message {
            grid.put(0, y, m.text, m.isError ? .bad : .good)
            return
        }
        grid.put(0, y, hints(ui, g), .dim)
    }

    public static func hints(_ ui: ConsoleUIState, _ g: Glyphs) -> String {
        if case .detail = ui.overlay { return "Esc back · x kill · q quit" }
        var parts = [g.arrows + " move", "Enter detail", "/ filter", "s sort"]
        if !ui.readonly { parts += ["n new", "w wrapper"] }
        parts.append("a orphans")
        if !ui.readonly { parts.append("x kill") }
        parts += ["? help", "q quit"]
        return parts.joined(separator: "  ")
    }

    // MARK: table

    static func table(_ jobs: [ConsoleJob], sel: Int?, scroll: Int, _ s: ConsoleSnapshot, _ grid: inout Grid, top: Int, rowsHeight: Int, _ g: Glyphs) {
        let cols = columns(width: grid.width)
        var x = 0
        for c in cols {
            grid.put(x, top, pad(c.id.rawValue, c.width, right: c.rightAligned, g), .tableHeader)
            x += c.width
            if x < grid.width { grid.put(x, top, " ", .tableHeader); x += 1 }
        }
        grid.fill(x, top, grid.width - x, .tableHeader)
        if jobs.isEmpty {
            grid.put(1, top + 1, s.jobs.isEmpty ? "no jobs in the journal; n launches a test transcode" : "no job matches the filter", .dim)
            return
        }
        for row in 0..<rowsHeight {
            let i = scroll + row
            guard i < jobs.count else { break }
            let j = jobs[i], y = top + 1 + row
            let selected = i == sel
            var x = 0
            for c in cols {
                let (text, style) = cell(c.id, j, s.nowUnixNs, c.width, g)
                grid.put(x, y, pad(text, c.width, right: c.rightAligned, g, keepTail: c.id == .job), selected ? .selected : style)
                x += c.width
                if x < grid.width { grid.put(x, y, " ", selected ? .selected : .normal); x += 1 }
            }
            if selected { grid.fill(x, y, grid.width - x, .selected) }
        }
    }

    static func cell(_ id: ColumnID, _ j: ConsoleJob, _ now: Int64, _ width: Int, _ g: Glyphs) -> (String, CellStyle) {
        switch id {
        case .job: return (j.id, .bold)
        case .mode: return (j.mode, .normal)
        case .state:
            switch j.state {
            case "running": return (j.state, .good)
            case "orphaned", "starting": return (j.state, .warn)
            case "lost", "failed", "never_started", "unreadable": return (j.state, .bad)
            default: return (j.state, .dim)
            }
        case .pid: return (j.pid.map(String.init) ?? "-", .normal)
        case .cpu:
            guard let p = j.cpuPercent else { return ("-", .dim) }
            let text = pct(p) + "/" + (j.cpuLimitPercent.map(pct) ?? "max")
            let ratio = j.cpuLimitPercent.map { p / $0 }
            return (padRight(text, width - 5) + " " + bar(ratio, 4, g), (ratio ?? 0) >= 0.9 ? .warn : .normal)
        case .mem:
            guard let m = j.memoryBytes else { return ("-", .dim) }
            let swap = j.swapBytes.flatMap { $0 > 0 ? "+" + bytes($0) + "sw" : nil } ?? ""
            let text = bytes(m) + swap + "/" + (j.memoryLimitBytes.map(bytes) ?? "max")
            let ratio = j.memoryLimitBytes.map { Double(m) / Double(max($0, 1)) }
            return (padRight(text, width - 5) + " " + bar(ratio, 4, g), (ratio ?? 0) >= 0.9 ? .bad : .normal)
        case .thr:
            guard let t = j.throttledPercent else { return ("-", .dim) }
            return (pct(t), t >= 50 ? .warn : .normal)
        case .oom:
            guard let o = j.oomKills else { return ("-", .dim) }
            return (String(o), o > 0 ? .bad : .normal)
        case .sla:
            guard let ok = j.sla else { return (g.unknown, .dim) }
            return ok ? (g.ok, .good) : (g.fail, .bad)
        case .age: return (age(now &- j.createdAtUnixNs), .normal)
        case .progress:
            var parts: [String] = []
            if let f = j.fps { parts.append(f < 100 ? oneDecimal(f) + "fps" : "\(Int(f.rounded()))fps") }
            if let sp = j.speed { parts.append(sp) }
            if parts.isEmpty, !j.live, let o = j.outcome { return (o, .dim) }
            return (parts.isEmpty ? "-" : parts.joined(separator: " "), .normal)
        }
    }
}
