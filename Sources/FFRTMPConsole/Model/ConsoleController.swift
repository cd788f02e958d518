/// Turns a key into a change of the UI state and, for the keys that act, a `ConsoleAction`
/// for the main loop. Keys are looked up in `KeyTable` (one table for dispatch, footer and
/// help), so a key the footer shows is a key that works. Pure, so every key is unit-tested.
public enum ConsoleController {
    public static func handle(_ key: ConsoleKey, _ ui: inout ConsoleUIState, _ s: ConsoleSnapshot, pageSize: Int,
                              launchDefaults: LaunchForm = LaunchForm()) -> ConsoleAction? {
        if key == .resize { return nil }
        ui.message = nil
        let page = max(1, pageSize)
        switch ui.overlay {
        case .help:
            ui.overlay = .none
            return nil
        case .filter:
            switch key {
            case .enter: ui.overlay = .none
            case .escape: ui.filter = ""; ui.overlay = .none
            case .backspace: if !ui.filter.isEmpty { ui.filter.removeLast() }
            case let .char(c) where isPrintable(c) && ui.filter.count < 64: ui.filter.append(c)
            default: break
            }
            return nil
        case .search:
            switch key {
            case .enter: ui.overlay = .none
            case .escape: ui.search = ""; ui.overlay = .none
            case .f(3), .down: nextMatch(&ui, s, after: true)
            case .backspace:
                if !ui.search.isEmpty { ui.search.removeLast() }
                nextMatch(&ui, s, after: false)
            case let .char(c) where isPrintable(c) && ui.search.count < 64:
                ui.search.append(c)
                nextMatch(&ui, s, after: false)
            default: break
            }
            return nil
        case var .launch(form):
            switch key {
            case .escape:
                ui.overlay = .none
                ui.message = ("launch cancelled", false)
                return nil
            case .tab, .down: form.focus = (form.focus + 1) % form.fields.count
            case .backTab, .up: form.focus = (form.focus + form.fields.count - 1) % form.fields.count
            case .backspace: if !form.fields[form.focus].value.isEmpty { form.fields[form.focus].value.removeLast() }
            case let .char(c) where (c.isNumber || c == ".") && c.isASCII && form.fields[form.focus].value.count < 10:
                form.fields[form.focus].value.append(c)
                form.error = nil
            case .enter:
                switch form.validate() {
                case let .success(launch):
                    ui.overlay = .none
                    return .launch(launch)
                case let .failure(e):
                    form.error = e.message
                    form.focus = e.field
                }
            default: break
            }
            ui.overlay = .launch(form)
            return nil
        case let .confirmUnlimited(list):
            if key == .char("y") || key == .char("Y"), list.selected < list.items.count {
                ui.overlay = .none
                return .adopt(list.items[list.selected], allowUnlimited: true)
            }
            ui.overlay = .orphans(list)
            ui.message = ("adoption without limits cancelled", false)
            return nil
        case let .confirmKill(ids):
            ui.overlay = .none
            if key == .char("y") || key == .char("Y") {
                ui.tagged.subtract(ids)
                return .kill(jobIDs: ids)
            }
            ui.message = ("kill of " + describe(ids) + " cancelled", false)
            return nil
        case let .confirmWrapper(to):
            ui.overlay = .none
            if key == .char("y") || key == .char("Y") { return .setWrapper(to) }
            ui.message = ("WRAPPER_ENABLED left as it is", false)
            return nil
        case .confirmQuit:
            ui.overlay = .none
            if key == .char("y") || key == .char("Y") { return .quit }
            return nil
        case .none, .detail, .log, .orphans:
            break
        }

        let context = ui.overlay.context
        guard let action = KeyTable.action(for: key, in: context) else {
            if case let .char(c) = key {
                ui.message = ("key \"\(isPrintable(c) ? String(c) : "?")\" does nothing here; ? lists the keys", true)
            }
            return nil
        }
        if ui.readonly && action.changes {
            ui.message = ("read-only: " + (action.hint ?? action.help) + " is disabled", true)
            return nil
        }
        switch ui.overlay {
        case let .detail(id, top): return detailKey(action.command, id: id, top: top, page: page, &ui, s)
        case let .log(id, top, follow): return logKey(action.command, id: id, top: top, follow: follow, page: page, &ui, s)
        case let .orphans(list): return orphanKey(action.command, list, &ui)
        default: return mainKey(action.command, page: page, &ui, s, launchDefaults)
        }
    }

    static func mainKey(_ cmd: KeyCommand, page: Int, _ ui: inout ConsoleUIState, _ s: ConsoleSnapshot, _ launchDefaults: LaunchForm) -> ConsoleAction? {
        let jobs = ConsoleView.visibleJobs(s, ui)
        let current = ConsoleView.selectedIndex(jobs, ui)
        func select(_ i: Int) {
            guard !jobs.isEmpty else { return }
            ui.selectedID = jobs[min(max(0, i), jobs.count - 1)].id
        }
        switch cmd {
        case .up: select((current ?? 0) - 1)
        case .down: select((current ?? -1) + 1)
        case .pageUp: select((current ?? 0) - page)
        case .pageDown: select((current ?? 0) + page)
        case .home: select(0)
        case .end: select(jobs.count - 1)
        case .detail:
            guard let i = current else { ui.message = ("no job selected", true); return nil }
            ui.selectedID = jobs[i].id
            ui.overlay = .detail(jobID: jobs[i].id, top: 0)
        case .nextProblem:
            let problems = jobs.indices.filter { jobs[$0].isProblem }
            guard !problems.isEmpty else { ui.message = ("no job in trouble", false); return nil }
            // Nothing chosen yet: the first press goes to the first problem.
            let from = ui.selectedID == nil ? -1 : current ?? -1
            let i = problems.first { $0 > from } ?? problems[0]
            ui.selectedID = jobs[i].id
            let j = jobs[i]
            ui.message = ("problem \((problems.firstIndex(of: i) ?? 0) + 1) of \(problems.count): \(j.id) " + j.shownOutcome.label, false)
        case .search:
            // htop's F3: the search keeps its text, and pressing it again goes to the next match.
            if !ui.search.isEmpty { nextMatch(&ui, s, after: true) }
            ui.overlay = .search
        case .filter: ui.overlay = .filter
        case .sortNext: ui.sort = ui.sort.next
        case .sortPrevious: ui.sort = ui.sort.previous
        case .reverse: ui.reverse.toggle()
        case .toggleEnded:
            ui.hideEnded.toggle()
            ui.message = (ui.hideEnded ? "ended jobs hidden (those in trouble stay); e shows them" : "ended jobs shown", false)
        case .tag:
            guard let i = current else { return nil }
            let id = jobs[i].id
            if ui.tagged.contains(id) { ui.tagged.remove(id) } else { ui.tagged.insert(id) }
            select(i + 1)
        case .untagAll:
            ui.tagged = []
        case .launch: ui.overlay = .launch(launchDefaults)
        case .wrapper:
            guard let now = s.header.wrapperEnabled else {
                ui.message = ("WRAPPER_ENABLED is unknown (no agent answers and no worker.env says): not switching blind", true)
                return nil
            }
            ui.overlay = .confirmWrapper(to: !now)
        case .orphans: return .scanOrphans
        case .kill:
            let tagged = jobs.filter { ui.tagged.contains($0.id) }.map(\.id)
            if !tagged.isEmpty { return askKill(tagged, &ui, s) }
            guard let i = current else { ui.message = ("no job selected", true); return nil }
            return askKill([jobs[i].id], &ui, s)
        case .back:
            ui.filter = ""
            ui.search = ""
        case .help: ui.overlay = .help(.main)
        case .quit: return quit(&ui, s)
        default: break
        }
        return nil
    }

    static func detailKey(_ cmd: KeyCommand, id: String, top: Int, page: Int, _ ui: inout ConsoleUIState, _ s: ConsoleSnapshot) -> ConsoleAction? {
        switch cmd {
        case .up: ui.overlay = .detail(jobID: id, top: max(0, top - 1))
        case .down: ui.overlay = .detail(jobID: id, top: top + 1)
        case .pageUp: ui.overlay = .detail(jobID: id, top: max(0, top - page))
        case .pageDown: ui.overlay = .detail(jobID: id, top: top + page)
        case .home: ui.overlay = .detail(jobID: id, top: 0)
        // The view clamps: Int.max is "the last page".
        case .end: ui.overlay = .detail(jobID: id, top: Int.max)
        case .log: ui.overlay = .log(jobID: id, top: Int.max, follow: true)
        case .kill: return askKill([id], &ui, s)
        case .back: ui.overlay = .none
        case .help: ui.overlay = .help(.detail)
        case .quit: return quit(&ui, s)
        default: break
        }
        return nil
    }

    static func logKey(_ cmd: KeyCommand, id: String, top: Int, follow: Bool, page: Int, _ ui: inout ConsoleUIState, _ s: ConsoleSnapshot) -> ConsoleAction? {
        switch cmd {
        case .up: ui.overlay = .log(jobID: id, top: max(0, top - 1), follow: false)
        case .down: ui.overlay = .log(jobID: id, top: top + 1, follow: false)
        case .pageUp: ui.overlay = .log(jobID: id, top: max(0, top - page), follow: false)
        case .pageDown: ui.overlay = .log(jobID: id, top: top + page, follow: false)
        case .home: ui.overlay = .log(jobID: id, top: 0, follow: false)
        case .end, .follow: ui.overlay = .log(jobID: id, top: Int.max, follow: true)
        case .back: ui.overlay = .detail(jobID: id, top: 0)
        case .help: ui.overlay = .help(.log)
        case .quit: return quit(&ui, s)
        default: break
        }
        return nil
    }

    static func orphanKey(_ cmd: KeyCommand, _ list: OrphanList, _ ui: inout ConsoleUIState) -> ConsoleAction? {
        var l = list
        switch cmd {
        case .up: l.selected = max(0, l.selected - 1)
        case .down: l.selected = min(max(0, l.items.count - 1), l.selected + 1)
        case .back: ui.overlay = .none; return nil
        case .adopt, .adoptUnlimited:
            guard l.selected < l.items.count else { ui.message = ("no orphan to adopt", true); return nil }
            if let p = l.limits.problem {
                ui.message = ("adoption refused: " + p, true)
                return nil
            }
            if cmd == .adoptUnlimited {
                ui.overlay = .confirmUnlimited(l)
                return nil
            }
            guard l.limits.hasLimits else {
                ui.message = ("no limits to apply (" + l.limits.source + "): nothing would govern it; A adopts without limits", true)
                return nil
            }
            ui.overlay = .none
            return .adopt(l.items[l.selected], allowUnlimited: false)
        case .kill:
            guard l.selected < l.items.count else { return nil }
            let o = l.items[l.selected]
            guard o.kind == .job, let id = o.jobID else {
                ui.message = ("pgid \(o.pgid) is not an ffrtmp job: adopt it first, or end it with kill(1)", true)
                return nil
            }
            ui.overlay = .confirmKill(jobIDs: [id])
            return nil
        default: break
        }
        ui.overlay = .orphans(l)
        return nil
    }

    static func quit(_ ui: inout ConsoleUIState, _ s: ConsoleSnapshot) -> ConsoleAction? {
        if s.watchedAdoptions > 0 {
            ui.overlay = .confirmQuit(watching: s.watchedAdoptions)
            return nil
        }
        return .quit
    }

    /// Moves the selection to the next job matching the search (from the selected one on).
    static func nextMatch(_ ui: inout ConsoleUIState, _ s: ConsoleSnapshot, after: Bool) {
        guard !ui.search.isEmpty else { return }
        let jobs = ConsoleView.visibleJobs(s, ui)
        guard !jobs.isEmpty else { return }
        let start = ConsoleView.selectedIndex(jobs, ui) ?? 0
        for step in 0..<jobs.count {
            let i = (start + step + (after ? 1 : 0)) % jobs.count
            if ConsoleView.matches(jobs[i], ui.search.lowercased()) {
                ui.selectedID = jobs[i].id
                return
            }
        }
        ui.message = ("no job matches \"\(ui.search)\"", true)
    }

    static func describe(_ ids: [String]) -> String {
        ids.count == 1 ? ids[0] : "\(ids.count) jobs"
    }

    static func askKill(_ ids: [String], _ ui: inout ConsoleUIState, _ s: ConsoleSnapshot) -> ConsoleAction? {
        let live = ids.filter { id in s.jobs.first { $0.id == id }.map(\.live) ?? true }
        guard !live.isEmpty else {
            if ids.count == 1, let j = s.jobs.first(where: { $0.id == ids[0] }) {
                ui.message = ("job \(ids[0]) is not running (\(j.state)): nothing to kill", true)
            } else {
                ui.message = ("none of the tagged jobs is running: nothing to kill", true)
            }
            return nil
        }
        ui.overlay = .confirmKill(jobIDs: live)
        return nil
    }

    static func isPrintable(_ c: Character) -> Bool {
        !c.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
    }
}
