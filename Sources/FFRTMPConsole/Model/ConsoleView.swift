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
        case "failed", "unreadable": return 4
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
            case "lost", "failed", "unreadable": return (j.state, .bad)
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
            let text = bytes(m) + "/" + (j.memoryLimitBytes.map(bytes) ?? "max")
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

    // MARK: detail pane

    static func detailPane(_ s: ConsoleSnapshot, id: String, _ grid: inout Grid, top: Int, height: Int, _ g: Glyphs) {
        grid.fill(0, top, grid.width, .tableHeader)
        grid.put(0, top, "Job " + id + "   (Esc back)", .tableHeader)
        guard let d = s.detail, d.id == id else {
            grid.put(1, top + 1, "reading the journal…", .dim)
            return
        }
        var lines: [(String, CellStyle)] = d.facts.map { ($0, .normal) }
        func section(_ title: String, _ body: [String]) {
            guard !body.isEmpty else { return }
            lines.append((title, .bold))
            lines += body.map { ("  " + $0, .normal) }
        }
        section("cgroup", d.cgroupPaths)
        section("processes (pid, started, command)", d.processes)
        section("exit record", d.exitSummary)
        section("progress", d.progressTail)
        // The log tail takes whatever room is left.
        let room = height - 1 - lines.count - 1
        if room > 0 && !d.logTail.isEmpty {
            lines.append(("log (last lines of stderr.log)", .bold))
            lines += d.logTail.suffix(room).map { ("  " + $0, .dim) }
        }
        for (i, l) in lines.prefix(height - 1).enumerated() { grid.put(0, top + 1 + i, l.0, l.1) }
    }

    // MARK: dialogs

    static func helpBox(_ ui: ConsoleUIState, _ grid: inout Grid, _ g: Glyphs) {
        var rows: [(String, String)] = [
            (g.arrows + " / j k", "move the selection (PgUp PgDn Home End)"),
            ("Enter", "open the detail pane of the selected job"),
            ("/", "filter by job id, mode or state (Esc clears)"),
            ("s", "cycle the sort: state, cpu, memory, age, id"),
        ]
        if !ui.readonly {
            rows += [("n", "launch a wrapped test transcode (ffmpeg testsrc)"),
                     ("w", "toggle WRAPPER_ENABLED (worker.env and the agent)")]
        }
        rows.append(("a", ui.readonly ? "list orphaned groups" : "list orphaned groups; Enter adopts one"))
        if !ui.readonly { rows.append(("x / F9", "kill the selected job (asks y to confirm)")) }
        rows += [("?", "this help"), ("q", "quit (Esc closes a dialog)")]
        let body = rows.map { pad($0.0, 12, right: false, g) + $0.1 }
        box(title: "Keys" + (ui.readonly ? " (read-only)" : ""), body: body.map { ($0, .normal) }, footer: "any key closes", &grid, g)
    }

    static func launchBox(_ form: LaunchForm, _ grid: inout Grid, _ g: Glyphs) {
        var body: [(String, CellStyle)] = [("Source: " + LaunchForm.source, .normal), ("", .normal)]
        for (i, f) in form.fields.enumerated() {
            let focused = i == form.focus
            body.append(((focused ? "> " : "  ") + pad(f.label, 24, right: false, g) + "[" + pad(f.value + (focused ? "_" : ""), 10, right: false, g) + "] " + f.hint,
                         focused ? .bold : .normal))
        }
        body.append(("", .normal))
        body.append((form.error ?? "Enter launches with these values", form.error == nil ? .dim : .bad))
        box(title: "Launch a wrapped test transcode", body: body, footer: "Enter launch · Tab/" + g.arrows + " field · Esc cancel", &grid, g)
    }

    static func orphanBox(_ items: [OrphanItem], _ selected: Int, _ readonly: Bool, _ grid: inout Grid, _ g: Glyphs) {
        var body: [(String, CellStyle)] = []
        if items.isEmpty {
            body.append(("no orphans: every ffmpeg/gst-launch group has a supervisor", .dim))
        }
        for (i, o) in items.enumerated() {
            let what = o.kind == .job ? "job " + (o.jobID ?? "?") + " (shim gone)" : "group " + o.command + " (no ffrtmp cgroup)"
            let pids = o.pids.prefix(6).map(String.init).joined(separator: ",") + (o.pids.count > 6 ? ",…" : "")
            body.append(((i == selected ? "> " : "  ") + what + "  pgid \(o.pgid)  pids " + pids, i == selected ? .selected : .normal))
        }
        let footer = readonly ? "read-only: adoption disabled · Esc close" : "Enter adopt with the node's default limits · Esc close"
        box(title: "Orphaned work", body: body, footer: footer, &grid, g)
    }

    static func killBox(_ job: ConsoleJob?, id: String, _ grid: inout Grid, _ g: Glyphs) {
        let what = job.map { "\($0.mode), " + ($0.pid.map { "pid \($0), " } ?? "") + $0.state } ?? "not in the journal any more"
        box(title: "Kill job " + id + "?", body: [
            ("Job " + id + " (" + what + ")", .bold),
            ("gets SIGTERM, then SIGKILL after a 10 s grace period;", .normal),
            ("children that escaped its process group die with its cgroup.", .normal),
        ], footer: "y kill · any other key cancels", &grid, g)
    }

    static func box(title: String, body: [(String, CellStyle)], footer: String, _ grid: inout Grid, _ g: Glyphs) {
        let inner = min(grid.width - 4, max(title.count + 4, footer.count + 2, body.map { $0.0.count }.max() ?? 0) + 2)
        let h = min(grid.height - 2, body.count + 4)
        let x0 = max(0, (grid.width - inner - 2) / 2), y0 = max(0, (grid.height - h) / 2)
        let hline = String(repeating: g.h, count: inner)
        grid.put(x0, y0, String(g.tl) + hline + String(g.tr), .bold)
        grid.put(x0 + 2, y0, " " + title + " ", .bold)
        for r in 1..<(h - 1) {
            grid.put(x0, y0 + r, String(g.v), .bold)
            grid.fill(x0 + 1, y0 + r, inner, .normal)
            grid.put(x0 + inner + 1, y0 + r, String(g.v), .bold)
        }
        for (i, l) in body.prefix(h - 4).enumerated() {
            grid.put(x0 + 2, y0 + 1 + i, pad(l.0, inner - 2, right: false, g), l.1)
        }
        grid.put(x0 + 2, y0 + h - 2, pad(footer, inner - 2, right: false, g), .dim)
        grid.put(x0, y0 + h - 1, String(g.bl) + hline + String(g.br), .bold)
    }

    // MARK: formatting

    public static func pct(_ v: Double) -> String { HumanUnits.percent(v) }
    static func percent1(_ v: Double) -> String { HumanUnits.oneDecimal(v) + "%" }
    static func oneDecimal(_ v: Double) -> String { HumanUnits.oneDecimal(v) }
    public static func bytes(_ b: UInt64) -> String { HumanUnits.bytes(b) }
    public static func age(_ ns: Int64) -> String { HumanUnits.age(ns) }

    /// A bar of `width` cells for a 0...1 ratio; blank without a limit to compare against.
    public static func bar(_ ratio: Double?, _ width: Int, _ g: Glyphs) -> String {
        guard let r = ratio, r.isFinite else { return String(repeating: " ", count: width) }
        let filled = min(width, max(0, Int((r * Double(width)).rounded())))
        return String(repeating: g.barFull, count: filled) + String(repeating: g.barEmpty, count: width - filled)
    }

    static func padRight(_ s: String, _ w: Int) -> String {
        s.count >= w ? s : s + String(repeating: " ", count: w - s.count)
    }

    /// Fits `s` into exactly `w` cells. Job ids keep their tail (the random part that tells them apart).
    public static func pad(_ s: String, _ w: Int, right: Bool, _ g: Glyphs, keepTail: Bool = false) -> String {
        guard w > 0 else { return "" }
        if s.count > w {
            return keepTail ? String(g.ellipsis) + String(s.suffix(w - 1)) : String(s.prefix(w - 1)) + String(g.ellipsis)
        }
        let fill = String(repeating: " ", count: w - s.count)
        return right ? fill + s : s + fill
    }
}

/// A character grid with a style per cell; overlays are drawn over the table.
struct Grid {
    let width: Int, height: Int
    var chars: [[Character]]
    var styles: [[CellStyle]]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        chars = Array(repeating: Array(repeating: " ", count: width), count: height)
        styles = Array(repeating: Array(repeating: .normal, count: width), count: height)
    }

    /// Writes `s` from column x; clipped at the right edge. Returns the column after it.
    @discardableResult
    mutating func put(_ x: Int, _ y: Int, _ s: String, _ style: CellStyle) -> Int {
        guard y >= 0, y < height else { return x }
        var col = x
        for ch in s {
            if col >= width { break }
            // Control characters from logs would move the terminal cursor: show them as '?'.
            let safe: Character = ch.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f } ? "?" : ch
            if col >= 0 {
                chars[y][col] = safe
                styles[y][col] = style
            }
            col += 1
        }
        return col
    }

    mutating func fill(_ x: Int, _ y: Int, _ n: Int, _ style: CellStyle) {
        guard y >= 0, y < height, n > 0 else { return }
        for col in max(0, x)..<min(width, x + n) {
            chars[y][col] = " "
            styles[y][col] = style
        }
    }

    func lines() -> [ScreenLine] {
        (0..<height).map { y in
            var spans: [Span] = []
            var text = "", style = styles[y].first ?? .normal
            for x in 0..<width {
                if styles[y][x] != style {
                    spans.append(Span(text: text, style: style))
                    text = ""
                    style = styles[y][x]
                }
                text.append(chars[y][x])
            }
            if !text.isEmpty { spans.append(Span(text: text, style: style)) }
            return ScreenLine(spans: spans)
        }
    }
}
