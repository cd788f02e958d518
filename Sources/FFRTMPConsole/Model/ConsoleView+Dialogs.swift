import FFRTMPCore

/// The detail pane and the dialogs drawn over the table.
extension ConsoleView {
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
}
