import CNcursesw
import FFRTMPConsole
import FFRTMPCore
import Glibc

/// The thin ncurses layer: set-up and tear-down, key decoding, and drawing a `Frame`.
/// Frames are written over the previous one without clear(), so ncurses sends only the
/// cells that changed (no flicker over SSH); an unchanged frame is not drawn at all.
final class Terminal {
    let color: Bool
    let glyphs: Glyphs
    var last: Frame?
    var lastSize = (0, 0)

    struct Unusable: Error, CustomStringConvertible {
        var description: String
    }

    init(noColor: Bool) throws {
        setlocale(LC_ALL, "")
        glyphs = ffrtmp_locale_is_utf8() != 0 ? .utf8 : .ascii
        // newterm, not initscr: initscr exits the process on an unknown TERM; this says why.
        let termName = ProcessEnvironment.current()["TERM"] ?? ""
        guard !termName.isEmpty, let out = fdopen(1, "w"), let inp = fdopen(0, "r"), let screen = newterm(termName, out, inp) else {
            throw Unusable(description: "cannot use TERM=\"\(termName)\": unset or unknown to terminfo (try TERM=xterm-256color)")
        }
        set_term(screen)
        // A terminal that cannot move the cursor (TERM=dumb, an emacs shell) would get the
        // screen as a scrolling mess: refuse with the reason instead.
        guard ffrtmp_term_can_address() != 0 else {
            endwin()
            throw Unusable(description: "TERM=\"\(termName)\" cannot address the cursor; the console needs a full-screen terminal (use `ffrtmp ps` here)")
        }
        cbreak()
        noecho()
        nonl()
        keypad(ffrtmp_stdscr(), true)
        nodelay(ffrtmp_stdscr(), true)
        set_escdelay(25)
        curs_set(0)
        if !noColor && has_colors() {
            start_color()
            use_default_colors()
            init_pair(1, Int16(COLOR_GREEN), -1)
            init_pair(2, Int16(COLOR_RED), -1)
            init_pair(3, Int16(COLOR_YELLOW), -1)
            init_pair(4, Int16(COLOR_CYAN), -1)
            color = true
        } else {
            color = false
        }
    }

    func close() {
        endwin()
    }

    var size: (width: Int, height: Int) { (Int(ffrtmp_cols()), Int(ffrtmp_lines())) }

    func attributes(_ s: CellStyle) -> attr_t {
        switch s {
        case .normal: return 0
        case .bold: return ffrtmp_a_bold()
        case .selected: return ffrtmp_a_reverse()
        case .dim: return color ? ffrtmp_a_dim() : 0
        case .good: return color ? ffrtmp_color_pair(1) : 0
        case .bad: return color ? ffrtmp_color_pair(2) | ffrtmp_a_bold() : ffrtmp_a_bold()
        case .warn: return color ? ffrtmp_color_pair(3) : ffrtmp_a_bold()
        case .title: return color ? ffrtmp_color_pair(4) | ffrtmp_a_bold() : ffrtmp_a_bold()
        case .tableHeader: return ffrtmp_a_reverse() | ffrtmp_a_bold()
        }
    }

    func draw(_ frame: Frame) {
        let sz = size
        if let l = last, l == frame, sz == lastSize { return }
        for (y, line) in frame.lines.enumerated() {
            move(Int32(y), 0)
            var x = 0
            for span in line.spans {
                attrset(Int32(bitPattern: attributes(span.style)))
                var text = span.text
                // The bottom-right cell would scroll the screen: leave it empty.
                if y == sz.height - 1 && x + text.count >= sz.width { text = String(text.prefix(max(0, sz.width - 1 - x))) }
                addstr(text)
                x += span.text.count
            }
        }
        attrset(0)
        refresh()
        last = frame
        lastSize = sz
    }

    /// Forget what is on screen (after a resize): the next frame is drawn in full.
    func invalidate() {
        last = nil
        clear()
    }

    /// Every key waiting on the terminal, decoded; never blocks.
    func pendingKeys() -> [ConsoleKey] {
        var keys: [ConsoleKey] = []
        while true {
            var ch: wint_t = 0
            let rc = get_wch(&ch)
            if rc == ERR { break }
            if rc == KEY_CODE_YES {
                if let k = Self.special(Int32(ch)) { keys.append(k) }
                continue
            }
            switch ch {
            case 10, 13: keys.append(.enter)
            case 27: keys.append(.escape)
            case 127, 8: keys.append(.backspace)
            case 9: keys.append(.tab)
            default:
                if let u = Unicode.Scalar(UInt32(ch)) { keys.append(.char(Character(u))) }
            }
        }
        return keys
    }

    static func special(_ code: Int32) -> ConsoleKey? {
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_ENTER: return .enter
        case KEY_BACKSPACE: return .backspace
        case KEY_BTAB: return .backTab
        case KEY_RESIZE: return .resize
        default:
            for n in 1...12 where code == ffrtmp_key_f(Int32(n)) { return .f(n) }
            return nil
        }
    }
}
