/// Keys, decoded from the terminal by the ncurses layer.
public enum ConsoleKey: Equatable, Sendable {
    case up, down, pageUp, pageDown, home, end, enter, escape, backspace, tab, backTab, resize
    case f(Int)
    case char(Character)
}

/// The key table (htop and k9s conventions): turns a key into a change of the UI state and,
/// for the keys that act, a `ConsoleAction` for the main loop. Pure, so every key is unit-tested.
public enum ConsoleController {
    public static func handle(_ key: ConsoleKey, _ ui: inout ConsoleUIState, _ s: ConsoleSnapshot, pageSize: Int,
                              launchDefaults: LaunchForm = LaunchForm()) -> ConsoleAction? {
        if key == .resize { return nil }
        ui.message = nil
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
        case let .orphans(items, selected):
            switch key {
            case .escape, .char("q"): ui.overlay = .none
            case .up, .char("k"): ui.overlay = .orphans(items: items, selected: max(0, selected - 1))
            case .down, .char("j"): ui.overlay = .orphans(items: items, selected: min(max(0, items.count - 1), selected + 1))
            case .enter:
                if ui.readonly { ui.message = ("read-only: adopting orphans is disabled", true); return nil }
                guard selected < items.count else { ui.overlay = .none; return nil }
                ui.overlay = .none
                return .adopt(items[selected])
            default: break
            }
            return nil
        case let .confirmKill(id):
            ui.overlay = .none
            if key == .char("y") || key == .char("Y") { return .kill(jobID: id) }
            ui.message = ("kill of \(id) cancelled", false)
            return nil
        case let .detail(id):
            switch key {
            case .escape, .enter: ui.overlay = .none
            case .char("q"): return .quit
            case .char("x"), .f(9): return askKill(id, &ui, s)
            default: break
            }
            return nil
        case .none:
            break
        }

        let jobs = ConsoleView.visibleJobs(s, ui)
        let current = ConsoleView.selectedIndex(jobs, ui)
        func select(_ i: Int) {
            guard !jobs.isEmpty else { return }
            ui.selectedID = jobs[min(max(0, i), jobs.count - 1)].id
        }
        switch key {
        case .up, .char("k"): select((current ?? 0) - 1)
        case .down, .char("j"): select((current ?? -1) + 1)
        case .pageUp: select((current ?? 0) - max(1, pageSize))
        case .pageDown: select((current ?? 0) + max(1, pageSize))
        case .home, .char("g"): select(0)
        case .end, .char("G"): select(jobs.count - 1)
        case .enter:
            guard let i = current else { ui.message = ("no job selected", true); return nil }
            ui.selectedID = jobs[i].id
            ui.overlay = .detail(jobID: jobs[i].id)
        case .char("/"): ui.overlay = .filter
        case .char("s"): ui.sort = ui.sort.next
        case .char("?"), .f(1): ui.overlay = .help
        case .char("q"), .f(10): return .quit
        case .char("n"):
            if ui.readonly { ui.message = ("read-only: launching is disabled", true); return nil }
            ui.overlay = .launch(launchDefaults)
        case .char("w"):
            if ui.readonly { ui.message = ("read-only: WRAPPER_ENABLED cannot be changed", true); return nil }
            return .setWrapper(!(s.header.wrapperEnabled ?? false))
        case .char("a"):
            return .scanOrphans
        case .char("x"), .f(9):
            guard let i = current else { ui.message = ("no job selected", true); return nil }
            return askKill(jobs[i].id, &ui, s)
        case .escape:
            if !ui.filter.isEmpty { ui.filter = "" }
        case let .char(c):
            ui.message = ("key \"\(isPrintable(c) ? String(c) : "?")\" does nothing here; ? lists the keys", true)
        default:
            break
        }
        return nil
    }

    static func askKill(_ id: String, _ ui: inout ConsoleUIState, _ s: ConsoleSnapshot) -> ConsoleAction? {
        if ui.readonly { ui.message = ("read-only: killing is disabled", true); return nil }
        if let j = s.jobs.first(where: { $0.id == id }), !j.live {
            ui.message = ("job \(id) is not running (\(j.state)): nothing to kill", true)
            return nil
        }
        ui.overlay = .confirmKill(jobID: id)
        return nil
    }

    static func isPrintable(_ c: Character) -> Bool {
        !c.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
    }
}
