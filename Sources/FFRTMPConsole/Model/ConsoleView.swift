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
    /// The detail or log view's first line after clamping (nil without one); stored back too.
    public var overlayTop: Int?
    public var text: String { lines.map(\.text).joined(separator: "\n") }
}

/// UTF-8 box drawing and bars, or plain ASCII when the locale is not UTF-8. Every glyph is
/// one terminal cell wide, so widths computed by counting characters hold on both.
public struct Glyphs: Sendable, Equatable {
    public var barFull: Character, barEmpty: Character
    public var ok: String, fail: String, unknown: String
    public var h: Character, v: Character, tl: Character, tr: Character, bl: Character, br: Character
    public var ellipsis: Character, dot: String, arrows: String, neq: String, tag: Character, up: String

    public static let utf8 = Glyphs(barFull: "█", barEmpty: "░", ok: "✓", fail: "✗", unknown: "?",
                                    h: "─", v: "│", tl: "┌", tr: "┐", bl: "└", br: "┘", ellipsis: "…", dot: " · ", arrows: "↑↓",
                                    neq: "≠", tag: "*", up: "↑")
    public static let ascii = Glyphs(barFull: "#", barEmpty: ".", ok: "ok", fail: "X", unknown: "?",
                                     h: "-", v: "|", tl: "+", tr: "+", bl: "+", br: "+", ellipsis: "~", dot: " | ", arrows: "up/dn",
                                     neq: "!=", tag: "*", up: "^")

    public var isASCII: Bool { self == .ascii }
}

public enum ColumnID: String, CaseIterable, Sendable {
    case job = "JOB", mode = "MODE", state = "STATE", pid = "PID", cpu = "CPU%/LIM", mem = "MEM/LIMIT"
    case outcome = "OUTCOME", sla = "SLA", age = "AGE", thr = "THR", oom = "OOM", psi = "PSI", progress = "PROGRESS"
}

public struct Column: Equatable, Sendable {
    public var id: ColumnID
    public var width: Int
    /// Lower survives longer when the terminal is narrow.
    public var priority: Int
    public var rightAligned: Bool

    /// Display order, left to right. At 80 columns JOB, STATE, CPU, MEM, OUTCOME, SLA and AGE fit.
    public static let all: [Column] = [
        Column(id: .job, width: 12, priority: 0, rightAligned: false),
        Column(id: .mode, width: 6, priority: 7, rightAligned: false),
        Column(id: .state, width: 8, priority: 1, rightAligned: false),
        Column(id: .pid, width: 7, priority: 8, rightAligned: true),
        Column(id: .cpu, width: 14, priority: 4, rightAligned: false),
        Column(id: .mem, width: 15, priority: 5, rightAligned: false),
        Column(id: .outcome, width: 13, priority: 2, rightAligned: false),
        Column(id: .sla, width: 3, priority: 3, rightAligned: false),
        Column(id: .age, width: 5, priority: 6, rightAligned: true),
        Column(id: .thr, width: 4, priority: 10, rightAligned: true),
        Column(id: .oom, width: 3, priority: 11, rightAligned: true),
        Column(id: .psi, width: 5, priority: 9, rightAligned: true),
        Column(id: .progress, width: 14, priority: 12, rightAligned: false),
    ]
    static let maxJobWidth = 26
}

public enum ConsoleView {
    /// The columns that fit in `width`, in display order; columns drop in priority order and
    /// the JOB column takes what is left over (up to a limit). PSI only where it can be read.
    public static func columns(width: Int, pressure: Bool = false) -> [Column] {
        var chosen: Set<ColumnID> = []
        var used = 0
        for c in Column.all.sorted(by: { $0.priority < $1.priority }) where pressure || c.id != .psi {
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

    /// The search and the filter look at the id, pid, command, state, mode and outcome.
    public static func matches(_ j: ConsoleJob, _ needle: String) -> Bool {
        if needle.isEmpty { return true }
        return j.id.lowercased().contains(needle) || j.state.lowercased().contains(needle) || j.mode.lowercased().contains(needle)
            || j.command.lowercased().contains(needle) || (j.pid.map { String($0) == needle } ?? false)
            || j.shownOutcome.label.lowercased().contains(needle)
    }

    /// The jobs the table shows, filtered and sorted.
    public static func visibleJobs(_ s: ConsoleSnapshot, _ ui: ConsoleUIState) -> [ConsoleJob] {
        let f = ui.filter.lowercased()
        var jobs = f.isEmpty ? s.jobs : s.jobs.filter { matches($0, f) }
        if ui.hideEnded { jobs = jobs.filter { $0.live || $0.isProblem } }
        // The rank is computed once per job, not once per comparison.
        let keyed = jobs.map { ($0, $0.troubleRank) }
        let sorted = keyed.sorted { x, y in
            let (a, b) = (x.0, y.0)
            func newer() -> Bool { a.createdAtUnixNs != b.createdAtUnixNs ? a.createdAtUnixNs > b.createdAtUnixNs : a.id < b.id }
            switch ui.sort {
            case .problems:
                return x.1 != y.1 ? x.1 < y.1 : newer()
            case .cpu:
                let p = a.cpuPercent ?? -1, q = b.cpuPercent ?? -1
                return p != q ? p > q : newer()
            case .memory:
                let p = a.memoryBytes ?? 0, q = b.memoryBytes ?? 0
                return p != q ? p > q : newer()
            case .pressure:
                let p = a.pressure?.worst ?? -1, q = b.pressure?.worst ?? -1
                return p != q ? p > q : newer()
            case .age:
                return a.createdAtUnixNs != b.createdAtUnixNs ? a.createdAtUnixNs < b.createdAtUnixNs : a.id < b.id
            case .id:
                return a.id < b.id
            }
        }.map(\.0)
        return ui.reverse ? sorted.reversed() : sorted
    }

    /// The selected job: the one with the selected id if it is still visible, else the first.
    public static func selectedIndex(_ jobs: [ConsoleJob], _ ui: ConsoleUIState) -> Int? {
        if jobs.isEmpty { return nil }
        if let id = ui.selectedID, let i = jobs.firstIndex(where: { $0.id == id }) { return i }
        return 0
    }

    /// Header lines: four (with the host meters) from 20 lines up, else three.
    public static func headerLines(height: Int) -> Int { height >= 20 ? 4 : 3 }

    /// Table rows on screen (the page size for PgUp/PgDn).
    public static func pageSize(_ ui: ConsoleUIState, width: Int, height: Int) -> Int {
        max(1, height - headerLines(height: height) - 1 - bottomLines(ui, width: width).count)
    }

    public static let minWidth = 40, minHeight = 10

    public static func render(_ s: ConsoleSnapshot, _ ui: ConsoleUIState, width: Int, height: Int, glyphs g: Glyphs) -> Frame {
        var grid = Grid(width: max(0, width), height: max(0, height))
        guard width >= minWidth, height >= minHeight else {
            let text = "terminal too small (\(width)x\(height)); need at least \(minWidth)x\(minHeight)"
            for (i, l) in wrap(text, max(1, width)).prefix(max(0, height)).enumerated() { grid.put(0, i, l, .bad) }
            return Frame(lines: grid.lines(), scroll: ui.scroll, overlayTop: nil)
        }
        let top = headerLines(height: height)
        header(s, ui, &grid, g, lines: top)
        let bottom = bottomLines(ui, width: width, g)
        let areaHeight = height - top - bottom.count
        var overlayTop: Int?
        var scroll = ui.scroll
        switch ui.overlay {
        case let .detail(id, t):
            overlayTop = detailPane(s, id: id, requestedTop: t, &grid, top: top, height: areaHeight, g)
        case let .log(id, t, follow):
            overlayTop = logPane(s, id: id, requestedTop: t, follow: follow, &grid, top: top, height: areaHeight, g)
        default:
            let jobs = visibleJobs(s, ui)
            let rowsHeight = areaHeight - 1
            let sel = selectedIndex(jobs, ui)
            if let i = sel {
                scroll = min(max(0, scroll), max(0, jobs.count - rowsHeight))
                if i < scroll { scroll = i }
                if i >= scroll + rowsHeight { scroll = i - rowsHeight + 1 }
            } else {
                scroll = 0
            }
            table(jobs, sel: sel, scroll: scroll, s, ui, &grid, top: top, rowsHeight: rowsHeight, g)
        }
        for (i, l) in bottom.enumerated() {
            let y = height - bottom.count + i
            grid.fill(0, y, width, .normal)
            grid.put(0, y, l.0, l.1)
        }
        switch ui.overlay {
        case let .help(context): helpBox(context, ui.readonly, &grid, g)
        case let .launch(form): launchBox(form, &grid, g)
        case let .orphans(list): orphanBox(list, ui.readonly, s.nowUnixNs, &grid, g)
        case let .confirmUnlimited(list): unlimitedBox(list, &grid, g)
        case let .confirmKill(ids): killBox(ids, s, &grid, g)
        case let .confirmWrapper(to): wrapperBox(to, s.header, &grid, g)
        case let .confirmQuit(n): quitBox(n, &grid, g)
        case .none, .detail, .log, .filter, .search: break
        }
        return Frame(lines: grid.lines(), scroll: scroll, overlayTop: overlayTop)
    }

    // MARK: header and footer

    /// One header line from segments: the least important (highest number) go first when
    /// the line is too narrow, so WRAPPER_ENABLED and the agent's state stay at 60 columns.
    static func segmentLine(_ y: Int, _ segments: [(text: String, style: CellStyle, priority: Int)], _ grid: inout Grid, _ g: Glyphs) {
        var keep = segments
        func length(_ s: [(text: String, style: CellStyle, priority: Int)]) -> Int {
            s.map(\.text.count).reduce(0, +) + max(0, s.count - 1) * g.dot.count
        }
        while length(keep) > grid.width, let worst = keep.indices.max(by: { keep[$0].priority < keep[$1].priority }), keep[worst].priority > 0 {
            keep.remove(at: worst)
        }
        var x = 0
        for (i, seg) in keep.enumerated() {
            if i > 0 { x = grid.put(x, y, g.dot, .normal) }
            x = grid.put(x, y, seg.text, seg.style)
        }
    }

    static func header(_ s: ConsoleSnapshot, _ ui: ConsoleUIState, _ grid: inout Grid, _ g: Glyphs, lines: Int) {
        let h = s.header
        var l0: [(text: String, style: CellStyle, priority: Int)] = [("ffrtmp", .title, 0), (h.host, .normal, 6), ("cgroup " + h.cgroupVersion, .normal, 4)]
        l0.append(("governance " + h.governance.rawValue + (h.governanceReason.map { " (\($0))" } ?? ""),
                   h.governance == .full ? .good : h.governance == .degraded ? .warn : .bad, 3))
        l0.append(("WRAPPER_ENABLED=" + (h.wrapperEnabled.map { $0 ? "on" : "off" } ?? "?"), .bold, 0))
        if ui.readonly { l0.append(("READ-ONLY", .warn, 0)) }
        segmentLine(0, l0, &grid, g)

        var l1: [(text: String, style: CellStyle, priority: Int)] = []
        switch h.agent {
        case let .connected(node, master, registered, outbox):
            l1.append(("agent " + (master == nil ? "standalone" : "connected") + " (node \(node))", .good, 0))
            if let m = master {
                l1.append(("master " + m + " " + (registered ? "registered" : "not registered"), registered ? .normal : .warn, 3))
            }
            l1.append(("outbox \(outbox)", outbox > 0 ? .warn : .normal, 4))
        case let .down(reason):
            l1.append(("agent down (\(reason)); journal only", .bad, 0))
        }
        if let u = h.slaUptime {
            l1.append(("SLA uptime " + percent1(u * 100) + " of \(h.slaFinished)", u >= 0.999 ? .good : u >= 0.99 ? .warn : .bad, 2))
        } else {
            l1.append(("SLA uptime n/a (none finished)", .dim, 2))
        }
        if !h.stateDir.isEmpty { l1.append(("state " + h.stateDir, .dim, 5)) }
        if !h.cgroupParent.isEmpty { l1.append(("cgroups " + h.cgroupParent, .dim, 6)) }
        segmentLine(1, l1, &grid, g)

        if lines >= 4 { segmentLine(2, meterSegments(h, g), &grid, g) }

        let c = s.counts
        var l3: [(text: String, style: CellStyle, priority: Int)] = [("jobs: \(c.running) running", .normal, 0),
                                                                    ("\(c.orphaned) orphaned", c.orphaned > 0 ? .warn : .normal, 0),
                                                                    ("\(c.lost) lost", c.lost > 0 ? .bad : .normal, 0)]
        if c.neverStarted > 0 { l3.append(("\(c.neverStarted) never started", .bad, 1)) }
        if c.oom > 0 { l3.append(("\(c.oom) OOM", .bad, 1)) }
        if c.exitNonZero > 0 { l3.append(("\(c.exitNonZero) exit" + g.neq + "0", .bad, 1)) }
        if c.nearOOM > 0 { l3.append(("\(c.nearOOM) near OOM", .warn, 2)) }
        if c.throttled > 0 { l3.append(("\(c.throttled) throttled", .warn, 2)) }
        l3.append(("\(c.slaFailed) SLA-fail", c.slaFailed > 0 ? .bad : .normal, 1))
        l3.append(("sort: " + ui.sort.rawValue + (ui.reverse ? " " + g.up : ""), .dim, 3))
        if !ui.filter.isEmpty || ui.overlay == .filter { l3.append(("filter: " + ui.filter, .warn, 1)) }
        if ui.hideEnded { l3.append(("ended hidden", .dim, 4)) }
        if !ui.tagged.isEmpty { l3.append(("\(ui.tagged.count) tagged", .warn, 1)) }
        segmentLine(lines - 1, l3, &grid, g)
    }

    static func meterSegments(_ h: ConsoleHeader, _ g: Glyphs) -> [(text: String, style: CellStyle, priority: Int)] {
        let m = h.meters
        var out: [(text: String, style: CellStyle, priority: Int)] = []
        out.append(("host cpu " + (m.cpuPercent.map(pct) ?? "-") + " of \(m.cores) core" + (m.cores == 1 ? "" : "s"),
                    (m.cpuPercent ?? 0) >= 90 * Double(m.cores) ? .warn : .normal, 0))
        if let used = m.memoryUsedBytes, let total = m.memoryTotalBytes {
            out.append(("mem " + bytes(used) + "/" + bytes(total), Double(used) >= 0.9 * Double(total) ? .bad : .normal, 1))
        }
        if let l = m.load { out.append(("load " + [l.0, l.1, l.2].map { String(format2($0)) }.joined(separator: " "), .normal, 2)) }
        if let p = m.pressure {
            let text = "psi cpu " + (p.cpuSomeAvg10.map(oneDecimal) ?? "-") + " mem " + (p.memorySomeAvg10.map(oneDecimal) ?? "-") + " io " + (p.ioSomeAvg10.map(oneDecimal) ?? "-")
            out.append((text, (p.worst ?? 0) >= 10 ? .warn : .normal, 3))
        }
        return out
    }

    static func format2(_ v: Double) -> String {
        let c = Int((v * 100).rounded())
        let frac = c % 100
        return "\(c / 100)." + (frac < 10 ? "0" : "") + "\(frac)"
    }

    /// The lines under the table: the last action's outcome (wrapped, up to three lines), the
    /// action in flight, and the key hints.
    static func bottomLines(_ ui: ConsoleUIState, width: Int, _ g: Glyphs = .utf8) -> [(String, CellStyle)] {
        var out: [(String, CellStyle)] = []
        if let m = ui.message {
            out += wrap(m.text, max(1, width)).prefix(3).map { ($0, m.isError ? .bad : .good) }
        }
        if let b = ui.busy { out.append((b, .warn)) }
        switch ui.overlay {
        case .filter: out.append(("\\" + ui.filter + "_   Enter keep" + g.dot + "Esc clear", .bold))
        case .search: out.append(("/" + ui.search + "_   F3 next match" + g.dot + "Enter keep" + g.dot + "Esc clear", .bold))
        default:
            // One cell short: the terminal's bottom-right cell is never written (it would scroll).
            out.append((KeyTable.footer(ui.overlay.context, readonly: ui.readonly, width: width - 1, ascii: g.isASCII), .dim))
        }
        return out
    }

    /// Word-wraps `text` to `width` cells; words longer than a line are cut.
    public static func wrap(_ text: String, _ width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        var cur = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            var w = String(word)
            if cur.isEmpty {
                cur = w
            } else if cur.count + 1 + w.count <= width {
                cur += " " + w
            } else {
                lines.append(cur)
                cur = w
            }
            while cur.count > width {
                lines.append(String(cur.prefix(width)))
                w = String(cur.dropFirst(width))
                cur = w
            }
        }
        if !cur.isEmpty || lines.isEmpty { lines.append(cur) }
        return lines
    }

    // MARK: table

    static func table(_ jobs: [ConsoleJob], sel: Int?, scroll: Int, _ s: ConsoleSnapshot, _ ui: ConsoleUIState, _ grid: inout Grid, top: Int, rowsHeight: Int, _ g: Glyphs) {
        let cols = columns(width: grid.width, pressure: s.header.pressureAvailable)
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
        for row in 0..<max(0, rowsHeight) {
            let i = scroll + row
            guard i < jobs.count else { break }
            let j = jobs[i], y = top + 1 + row
            let selected = i == sel
            let tagged = ui.tagged.contains(j.id)
            var x = 0
            for c in cols {
                var (text, style) = cell(c.id, j, s.nowUnixNs, c.width, g)
                if c.id == .job && tagged { text = String(g.tag) + text }
                grid.put(x, y, pad(text, c.width, right: c.rightAligned, g, keepTail: c.id == .job && !tagged), selected ? .selected : style)
                x += c.width
                if x < grid.width { grid.put(x, y, " ", selected ? .selected : .normal); x += 1 }
            }
            if selected { grid.fill(x, y, grid.width - x, .selected) }
        }
    }

    static func outcomeStyle(_ k: OutcomeKind) -> CellStyle {
        switch k {
        case .healthy: return .normal
        case .ok: return .good
        case .starting, .nearOOM, .throttled, .orphaned: return .warn
        case .killed, .detached: return .dim
        default: return .bad
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
            // "!" marks a limit changed under the job: the cgroup's value is shown, not the spec's.
            let text = pct(p) + "/" + (j.cpuLimitPercent.map(pct) ?? "max") + (j.cpuLimitAskedPercent != nil ? "!" : "")
            let ratio = j.cpuLimitPercent.map { p / $0 }
            return (padRight(text, width - 5) + " " + bar(ratio, 4, g), (ratio ?? 0) >= 0.9 ? .warn : .normal)
        case .mem:
            let limit = (j.memoryLimitBytes.map(bytes) ?? "max") + (j.memoryLimitAskedBytes != nil ? "!" : "")
            // Adopted on v1: the processes' memory stays charged where it was, the cgroup's figure is not theirs.
            if j.memoryNotCharged && j.live { return ("n/c/" + limit, .warn) }
            guard let m = j.memoryBytes else { return ("-", .dim) }
            let swap = j.swapBytes.flatMap { $0 > 0 ? "+" + bytes($0) + "sw" : nil } ?? ""
            let text = bytes(m) + swap + "/" + limit
            let ratio = j.memoryLimitBytes.map { Double(m &+ (j.swapBytes ?? 0)) / Double(max($0, 1)) }
            return (padRight(text, width - 5) + " " + bar(ratio, 4, g), (ratio ?? 0) >= 0.9 ? .bad : .normal)
        case .outcome:
            let o = j.shownOutcome
            return (o.label.isEmpty ? "" : o.label, outcomeStyle(o.kind))
        case .thr:
            guard let t = j.throttledPercent else { return ("-", .dim) }
            return (pct(t), t >= 50 ? .warn : .normal)
        case .oom:
            guard let o = j.oomKills else { return ("-", .dim) }
            return (String(o), o > 0 ? .bad : .normal)
        case .psi:
            guard let p = j.pressure?.worst else { return ("-", .dim) }
            return (oneDecimal(p), p >= 40 ? .bad : p >= 10 ? .warn : .normal)
        case .sla:
            guard let ok = j.sla else { return (g.unknown, .dim) }
            return ok ? (g.ok, .good) : (g.fail, .bad)
        case .age: return (age(now &- j.createdAtUnixNs), .normal)
        case .progress:
            var parts: [String] = []
            if let f = j.fps { parts.append(f < 100 ? oneDecimal(f) + "fps" : "\(Int(f.rounded()))fps") }
            if let sp = j.speed { parts.append(sp) }
            if parts.isEmpty, !j.live, let n = j.note { return (n, .dim) }
            return (parts.isEmpty ? "-" : parts.joined(separator: " "), .normal)
        }
    }
}
