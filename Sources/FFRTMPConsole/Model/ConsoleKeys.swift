/// The one key table (k9s's KeyActions model): every key of every screen is declared once,
/// with what it does, how the footer and the help box describe it, and whether it changes
/// anything. The controller dispatches from it, the footer hints and the help box are drawn
/// from it, and read-only mode hides and refuses exactly the entries marked `changes`.

/// Keys, decoded from the terminal by the ncurses layer.
public enum ConsoleKey: Hashable, Sendable {
    case up, down, pageUp, pageDown, home, end, enter, escape, backspace, tab, backTab, resize
    case f(Int)
    case char(Character)
}

public enum KeyContext: String, Equatable, Sendable {
    /// The job table.
    case main
    /// The detail pane of one job.
    case detail
    /// The live stderr tail of one job.
    case log
    /// The orphan dialog.
    case orphans
}

public enum KeyCommand: String, Equatable, Sendable {
    case up, down, pageUp, pageDown, home, end
    case detail, back, log, follow
    case search, filter, sortNext, sortPrevious, reverse, nextProblem, toggleEnded, tag, untagAll
    case launch, wrapper, orphans, kill, adopt, adoptUnlimited
    case help, quit
}

public struct KeyAction: Equatable, Sendable {
    public var keys: [ConsoleKey]
    /// How the keys are written in the footer and the help box ("x F9").
    public var label: String
    /// The footer's word for it ("kill"); nil keeps it out of the footer.
    public var hint: String?
    /// The help box's line.
    public var help: String
    /// Changes something (kills, launches, writes worker.env, adopts): hidden and refused in read-only mode.
    public var changes: Bool
    public var command: KeyCommand
    /// Footer order: lower is shown first and dropped last; `? help` and `q quit` are always shown.
    public var priority: Int

    init(_ keys: [ConsoleKey], _ label: String, _ hint: String?, _ help: String, changes: Bool = false, _ command: KeyCommand, priority: Int = 50) {
        self.keys = keys
        self.label = label
        self.hint = hint
        self.help = help
        self.changes = changes
        self.command = command
        self.priority = priority
    }
}

public enum KeyTable {
    static let move: [KeyAction] = [
        KeyAction([.up, .char("k")], "↑ k", nil, "up one line", .up),
        KeyAction([.down, .char("j")], "↓ j", nil, "down one line", .down),
        KeyAction([.pageUp], "PgUp", nil, "up one page", .pageUp),
        KeyAction([.pageDown], "PgDn", nil, "down one page", .pageDown),
        KeyAction([.home, .char("g")], "Home g", nil, "to the top", .home),
        KeyAction([.end, .char("G")], "End G", nil, "to the bottom", .end),
    ]
    static let helpAndQuit: [KeyAction] = [
        KeyAction([.char("?"), .f(1)], "? F1", "help", "every key of this screen", .help, priority: 0),
        KeyAction([.char("q"), .f(10)], "q F10", "quit", "quit (Ctrl-C too)", .quit, priority: 0),
    ]

    public static func actions(_ context: KeyContext) -> [KeyAction] {
        switch context {
        case .main:
            return move + [
                KeyAction([.enter], "Enter", "detail", "detail view of the selected job (scrolls; l: live log)", .detail, priority: 2),
                KeyAction([.char("p")], "p", "next problem", "jump to the next job in trouble (lost, orphaned, OOM, failed)", .nextProblem, priority: 1),
                KeyAction([.char("/"), .f(3)], "/ F3", "search", "search id, pid, command, state or mode (F3: next match)", .search, priority: 6),
                KeyAction([.char("\\"), .f(4)], "\\ F4", "filter", "show only the jobs that match (id, pid, command, state, mode)", .filter, priority: 7),
                KeyAction([.char(">"), .char("s"), .f(6)], "> s F6", "sort", "next sort: problems, cpu, memory, pressure, age, id", .sortNext, priority: 5),
                KeyAction([.char("<")], "<", nil, "previous sort", .sortPrevious),
                KeyAction([.char("I")], "I", nil, "invert the sort order", .reverse),
                KeyAction([.char("e")], "e", "ended", "hide or show ended jobs (problems stay shown)", .toggleEnded, priority: 8),
                KeyAction([.char(" ")], "Space", nil, "tag or untag the selected job (for a bulk kill)", .tag),
                KeyAction([.char("U")], "U", nil, "untag every job", .untagAll),
                KeyAction([.escape], "Esc", nil, "clear the filter and the search", .back),
                KeyAction([.char("n")], "n", "new", "launch a wrapped test transcode (ffmpeg testsrc)", changes: true, .launch, priority: 9),
                KeyAction([.char("w")], "w", "wrapper", "switch WRAPPER_ENABLED (asks first)", changes: true, .wrapper, priority: 10),
                KeyAction([.char("a")], "a", "orphans", "orphaned work: adopt or kill it", .orphans, priority: 4),
                KeyAction([.char("x"), .f(9)], "x F9", "kill", "kill the selected or the tagged jobs (asks first)", changes: true, .kill, priority: 3),
            ] + helpAndQuit
        case .detail:
            return move + [
                KeyAction([.char("l")], "l", "live log", "live tail of stderr and progress", .log, priority: 1),
                KeyAction([.char("x"), .f(9)], "x F9", "kill", "kill this job (asks first)", changes: true, .kill, priority: 2),
                KeyAction([.escape, .enter], "Esc", "back", "back to the table", .back, priority: 0),
            ] + helpAndQuit
        case .log:
            return move + [
                KeyAction([.char("f"), .char("F")], "f", "follow", "follow new lines (End too)", .follow, priority: 1),
                KeyAction([.escape, .char("l")], "Esc", "back", "back to the detail view", .back, priority: 0),
            ] + helpAndQuit
        case .orphans:
            return [
                KeyAction([.up, .char("k")], "↑ k", nil, "previous candidate", .up),
                KeyAction([.down, .char("j")], "↓ j", nil, "next candidate", .down),
                KeyAction([.enter], "Enter", "adopt", "adopt with the limits shown", changes: true, .adopt, priority: 1),
                KeyAction([.char("A")], "A", nil, "adopt with no limits (asks first)", changes: true, .adoptUnlimited),
                KeyAction([.char("x"), .f(9)], "x F9", "kill", "kill a journal orphan (ffrtmp's own job; asks first)", changes: true, .kill, priority: 2),
                KeyAction([.escape, .char("q")], "Esc", "close", "close the list", .back, priority: 0),
            ]
        }
    }

    /// The action a key triggers in a context, or nil.
    public static func action(for key: ConsoleKey, in context: KeyContext) -> KeyAction? {
        actions(context).first { $0.keys.contains(key) }
    }

    /// The entries shown in a mode: read-only hides the changing ones.
    public static func visible(_ context: KeyContext, readonly: Bool) -> [KeyAction] {
        actions(context).filter { !(readonly && $0.changes) }
    }

    /// The footer: the hints that fit in `width`, by priority, always ending in `? help  q quit`
    /// where the context has them. ASCII terminals get ASCII arrows.
    public static func footer(_ context: KeyContext, readonly: Bool, width: Int, ascii: Bool) -> String {
        let entries = visible(context, readonly: readonly).filter { $0.hint != nil }
        func text(_ a: KeyAction) -> String { firstKey(a, ascii: ascii) + " " + a.hint! }
        let pinned = entries.filter { $0.command == .help || $0.command == .quit }.map(text)
        let rest = entries.filter { $0.command != .help && $0.command != .quit }.sorted { $0.priority < $1.priority }
        // Movement keys lead the footer when there is room for them.
        let arrows = (ascii ? "up/dn" : "↑↓") + " move"
        var chosen: [String] = []
        let sep = 2
        var used = pinned.map(\.count).reduce(0, +) + max(0, pinned.count - 1) * sep
        for a in rest where used + sep + text(a).count <= width {
            chosen.append(text(a))
            used += sep + text(a).count
        }
        if used + sep + arrows.count <= width, context != .orphans { chosen.insert(arrows, at: 0) }
        return (chosen + pinned).joined(separator: "  ")
    }

    static func firstKey(_ a: KeyAction, ascii: Bool) -> String {
        let first = String(a.label.split(separator: " ").first ?? "")
        return ascii ? asciiLabel(first) : first
    }

    /// Key labels without the UTF-8 arrows, for ASCII terminals.
    public static func asciiLabel(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "↑": out += "Up"
            case "↓": out += "Down"
            default: out.append(c)
            }
        }
        return out
    }
}
