import FFRTMPCore

/// Number formatting and padding for the table, and the character grid frames are drawn on.
extension ConsoleView {
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
