import FFRTMPCore

/// The detail and log views, and the dialogs drawn over the table.
extension ConsoleView {
    // MARK: detail view

    /// Everything known about one job, as lines: live figures first, then the journal's facts,
    /// cgroup, processes, exit record, progress and the stderr tail. Long lines wrap.
    static func detailLines(_ s: ConsoleSnapshot, _ d: ConsoleJobDetail, width: Int, _ g: Glyphs) -> [(String, CellStyle)] {
        var lines: [(String, CellStyle)] = []
        func add(_ text: String, _ style: CellStyle, indent: String = "") {
            for (i, l) in wrap(text, max(1, width - indent.count - (indent.isEmpty ? 0 : 2))).enumerated() {
                lines.append(((i == 0 ? indent : indent + "  ") + l, style))
            }
        }
        if let j = s.jobs.first(where: { $0.id == d.id }) {
            var now: [String] = []
            let o = j.shownOutcome
            if !o.label.isEmpty { now.append("outcome " + o.label) }
            if let c = j.cpuPercent {
                now.append("cpu " + pct(c) + " of " + (j.cpuLimitPercent.map(pct) ?? "no limit")
                           + (j.cpuLimitAskedPercent.map { " (asked " + pct($0) + ")" } ?? ""))
            }
            if j.memoryNotCharged && j.live {
                now.append("memory not charged to the cgroup (adopted on v1), limit " + (j.memoryLimitBytes.map(bytes) ?? "none"))
            } else if let m = j.memoryBytes {
                now.append("memory " + bytes(m) + " of " + (j.memoryLimitBytes.map(bytes) ?? "no limit")
                           + (j.memoryLimitAskedBytes.map { " (asked " + bytes($0) + ")" } ?? ""))
            }
            if let sw = j.swapBytes, sw > 0 { now.append("swap " + bytes(sw)) }
            if let t = j.throttledPercent { now.append("throttled " + pct(t)) }
            if let k = j.oomKills { now.append("OOM kills \(k)") }
            if let p = j.pressure {
                now.append("pressure cpu " + (p.cpuSomeAvg10.map(oneDecimal) ?? "-") + "% mem " + (p.memorySomeAvg10.map(oneDecimal) ?? "-")
                           + "% io " + (p.ioSomeAvg10.map(oneDecimal) ?? "-") + "%")
            }
            if let r = d.ioReadBytes, let w = d.ioWriteBytes { now.append("io read " + bytes(r) + " written " + bytes(w)) }
            if let f = j.fps { now.append(oneDecimal(f) + " fps") }
            if let sp = j.speed { now.append("speed " + sp) }
            if !now.isEmpty { add("now: " + now.joined(separator: g.dot), .bold) }
        }
        for f in d.facts { add(f, .normal) }
        func section(_ title: String, _ body: [String], _ style: CellStyle = .normal) {
            guard !body.isEmpty else { return }
            lines.append((title, .bold))
            for b in body { add(b, style, indent: "  ") }
        }
        section("cgroup", d.cgroupPaths)
        section("processes (pid, started, command)", d.processes)
        section("exit record", d.exitSummary)
        section("progress", d.progressTail)
        if d.logTail.isEmpty {
            lines.append(("stderr.log: empty or not written yet", .dim))
        } else {
            lines.append(("stderr.log (last \(d.logTail.count) lines; l: live log)", .bold))
            lines += d.logTail.map { ("  " + $0, .dim) }
        }
        return lines
    }

    /// Draws the detail view from line `requestedTop` (clamped); returns the line it used.
    static func detailPane(_ s: ConsoleSnapshot, id: String, requestedTop: Int, _ grid: inout Grid, top: Int, height: Int, _ g: Glyphs) -> Int {
        guard let d = s.detail, d.id == id else {
            title(top, "Job " + id, &grid)
            grid.put(1, top + 1, "reading the journal" + String(g.ellipsis), .dim)
            return requestedTop == Int.max ? Int.max : requestedTop
        }
        let lines = detailLines(s, d, width: grid.width, g)
        let room = max(1, height - 1)
        let first = min(max(0, requestedTop), max(0, lines.count - room))
        let end = min(lines.count, first + room)
        title(top, "Job " + id + "  lines \(first + 1)-\(end) of \(lines.count)", &grid)
        for (i, l) in lines[first..<end].enumerated() { grid.put(0, top + 1 + i, l.0, l.1) }
        return first
    }

    /// The live stderr tail: follows the newest line until the operator scrolls up.
    static func logPane(_ s: ConsoleSnapshot, id: String, requestedTop: Int, follow: Bool, _ grid: inout Grid, top: Int, height: Int, _ g: Glyphs) -> Int {
        let lines = (s.detail?.id == id ? s.detail?.logTail : nil) ?? []
        let room = max(1, height - 1)
        let last = max(0, lines.count - room)
        let first = follow ? last : min(max(0, requestedTop), last)
        let end = min(lines.count, first + room)
        let where_ = lines.isEmpty ? "empty" : "lines \(first + 1)-\(end) of \(lines.count)"
        title(top, "stderr.log of " + id + "  " + where_ + "  " + (follow ? "following new lines" : "paused: f follows"), &grid)
        for (i, l) in lines[first..<end].enumerated() { grid.put(0, top + 1 + i, l, .normal) }
        return first
    }

    static func title(_ y: Int, _ text: String, _ grid: inout Grid) {
        grid.fill(0, y, grid.width, .tableHeader)
        grid.put(0, y, text, .tableHeader)
    }

    // MARK: dialogs

    static func helpBox(_ context: KeyContext, _ readonly: Bool, _ grid: inout Grid, _ g: Glyphs) {
        let actions = KeyTable.visible(context, readonly: readonly)
        let moves = actions.filter { [.up, .down, .pageUp, .pageDown, .home, .end].contains($0.command) }
        var rows: [(String, String)] = []
        if !moves.isEmpty {
            rows.append((g.arrows + " j k", "move; PgUp PgDn Home End g G (k is up as in vim; kill is x)"))
        }
        for a in actions where !moves.contains(a) { rows.append((a.label, a.help)) }
        let keyWidth = min(10, rows.map { KeyTable.asciiLabel($0.0).count }.max() ?? 0) + 2
        var body: [(String, CellStyle)] = []
        for r in rows {
            let key = g.isASCII ? KeyTable.asciiLabel(r.0) : r.0
            if key.count + 2 > keyWidth {
                body.append((key, .bold))
                body.append((pad("", keyWidth, right: false, g) + r.1, .normal))
            } else {
                body.append((pad(key, keyWidth, right: false, g) + r.1, .normal))
            }
        }
        box(title: "Keys: " + context.rawValue + (readonly ? " (read-only)" : ""), body: body, footer: "any key closes", &grid, g)
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
        box(title: "Launch a wrapped test transcode", body: body, footer: "Enter launch" + g.dot + "Tab/" + g.arrows + " field" + g.dot + "Esc cancel", &grid, g)
    }

    static func orphanBox(_ list: OrphanList, _ readonly: Bool, _ now: Int64, _ grid: inout Grid, _ g: Glyphs) {
        var body: [(String, CellStyle)] = []
        let inner = max(10, grid.width - 8)
        if list.items.isEmpty {
            body.append(("no orphans: every ffmpeg/gst-launch group has a supervisor", .dim))
        }
        for (i, o) in list.items.enumerated() {
            let sel = i == list.selected
            let what = o.kind == .job ? "job " + (o.jobID ?? "?") + " (shim gone)" : "group " + o.command + " (no ffrtmp cgroup)"
            let pids = o.pids.prefix(6).map(String.init).joined(separator: ",") + (o.pids.count > 6 ? "," + String(g.ellipsis) : "")
            body.append(((sel ? "> " : "  ") + what + "  pgid \(o.pgid)  pids " + pids, sel ? .selected : .normal))
            var facts: [String] = []
            if let a = o.ageSeconds { facts.append("age " + age(Int64(a * 1e9))) }
            if let c = o.cpuPercent { facts.append("cpu " + pct(c)) }
            let cmd = o.commandLine.isEmpty ? o.command : o.commandLine
            // The whole command line (up to three lines): candidates often differ only at its end.
            let text = (facts.isEmpty ? "" : facts.joined(separator: " ") + "  ") + cmd
            for l in wrap(text, inner - 4).prefix(3) { body.append(("    " + l, .dim)) }
            if let a = o.autoAttach {
                for l in wrap("auto-attach " + a, inner - 4).prefix(2) { body.append(("    " + l, a.hasPrefix("refused") ? .warn : .dim)) }
            }
        }
        body.append(("", .normal))
        if let p = list.limits.problem {
            for l in wrap("adoption refused: " + p, inner) { body.append((l, .bad)) }
        } else {
            for l in wrap("adopting applies: " + list.limits.summary + " (" + list.limits.source + ")", inner) {
                body.append((l, list.limits.hasLimits ? .normal : .warn))
            }
        }
        let footer = readonly ? "read-only: adoption and kill disabled" + g.dot + "Esc close"
            : "Enter adopt" + g.dot + "A adopt without limits" + g.dot + "x kill (journal job)" + g.dot + "Esc close"
        box(title: "Orphaned work", body: body, footer: footer, &grid, g)
    }

    static func unlimitedBox(_ list: OrphanList, _ grid: inout Grid, _ g: Glyphs) {
        let o = list.selected < list.items.count ? list.items[list.selected] : nil
        let inner = max(10, grid.width - 8)
        var body: [(String, CellStyle)] = [("Adopt pgid " + (o.map { String($0.pgid) } ?? "?") + " with NO limits?", .bold)]
        for l in wrap("Its processes move into an ffrtmp cgroup and are watched and recorded, but nothing caps their CPU, memory or IO.", inner) {
            body.append((l, .normal))
        }
        box(title: "Adopt without limits", body: body, footer: "y adopt" + g.dot + "any other key goes back", &grid, g)
    }

    static func killBox(_ ids: [String], _ s: ConsoleSnapshot, _ grid: inout Grid, _ g: Glyphs) {
        var body: [(String, CellStyle)] = []
        for id in ids.prefix(8) {
            let job = s.jobs.first { $0.id == id }
            let what = job.map { "\($0.mode), " + ($0.pid.map { "pid \($0), " } ?? "") + $0.state } ?? "not in the journal any more"
            body.append(("Job " + id + " (" + what + ")", .bold))
        }
        if ids.count > 8 { body.append(("and \(ids.count - 8) more", .bold)) }
        body += [("gets SIGTERM, then SIGKILL after a 10 s grace period;", .normal),
                 ("children that escaped its process group die with its cgroup.", .normal)]
        box(title: ids.count == 1 ? "Kill job " + ids[0] + "?" : "Kill \(ids.count) tagged jobs?", body: body,
            footer: "y kill" + g.dot + "any other key cancels", &grid, g)
    }

    static func wrapperBox(_ to: Bool, _ h: ConsoleHeader, _ grid: inout Grid, _ g: Glyphs) {
        let now = h.wrapperEnabled.map { $0 ? "on" : "off" } ?? "?"
        let via: String = { if case .connected = h.agent { return "the agent applies it now and saves it to worker.env" }; return "the agent is down: worker.env is changed, the agent applies it when it starts" }()
        box(title: "Switch WRAPPER_ENABLED?", body: [
            ("WRAPPER_ENABLED is " + now + " now; switch it to " + (to ? "on" : "off") + "?", .bold),
            (to ? "New jobs from the master then run governed (shim and cgroup)." : "New jobs from the master then run legacy (no shim, no limits).", .normal),
            (via, .normal),
        ], footer: "y switch" + g.dot + "any other key cancels", &grid, g)
    }

    static func quitBox(_ n: Int, _ grid: inout Grid, _ g: Glyphs) {
        box(title: "Quit?", body: [
            ("This console watches \(n) adopted job(s) while the agent is down.", .bold),
            ("They keep running, but nobody records how they end until the agent starts.", .normal),
        ], footer: "y quit" + g.dot + "any other key stays", &grid, g)
    }

    static func box(title: String, body: [(String, CellStyle)], footer: String, _ grid: inout Grid, _ g: Glyphs) {
        let inner = max(4, min(grid.width - 4, max(title.count + 4, footer.count + 2, body.map { $0.0.count }.max() ?? 0) + 2))
        let h = max(4, min(grid.height - 2, body.count + 4))
        let x0 = max(0, (grid.width - inner - 2) / 2), y0 = max(0, (grid.height - h) / 2)
        let hline = String(repeating: g.h, count: inner)
        grid.put(x0, y0, String(g.tl) + hline + String(g.tr), .bold)
        grid.put(x0 + 2, y0, pad(" " + title + " ", min(inner - 2, title.count + 2), right: false, g), .bold)
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
