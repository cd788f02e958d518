import FFRTMPCore

/// systemd EnvironmentFile syntax: KEY=VALUE lines, optional single or double quotes around
/// the value, `#` comments and blank lines. Anything else is an error naming the line.
public enum EnvFile {
    public struct LineError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var text: String
        public var description: String { "line \(line): \(quoteLine(text)) is not KEY=VALUE" }
        func quoteLine(_ s: String) -> String { "\"" + String(s.prefix(60)) + (s.count > 60 ? "…" : "") + "\"" }
    }

    public static func parse(_ text: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for (i, line) in lines(text).enumerated() {
            let line = trimmed(line)
            // '#' as a scalar: "#" followed by a combining mark is one Character ("#\u{73A}"),
            // which hasPrefix("#") does not match, and the comment was read as a setting.
            if line.isEmpty || line.unicodeScalars.first == "#" { continue }
            // '=' found as a scalar: a value starting with a combining mark would otherwise fuse
            // with it into one Character ("=\u{301}") and hide it.
            let u = line.unicodeScalars
            guard let eq = u.firstIndex(of: "="), eq != u.startIndex else { throw LineError(line: i + 1, text: line) }
            let key = trimmed(String(String.UnicodeScalarView(u[..<eq])))
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), key.first?.isNumber == false else {
                throw LineError(line: i + 1, text: line)
            }
            var v = trimmed(String(String.UnicodeScalarView(u[u.index(after: eq)...])))
            if v.count >= 2, (v.hasPrefix("\"") && v.hasSuffix("\"")) || (v.hasPrefix("'") && v.hasSuffix("'")) {
                v = String(v.dropFirst().dropLast())
            }
            out[key] = v
        }
        return out
    }

    /// The file's lines, for files saved with LF or CRLF endings. Swift reads "\r\n" as one
    /// Character, so splitting on the Character "\n" would leave a CRLF file as a single line
    /// (a leading comment then hid every setting): split on the scalar, drop the CR.
    public static func lines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { scalars in
            var l = String.UnicodeScalarView(scalars)
            if l.last == "\r" { l.removeLast() }
            return String(l)
        }
    }

    /// Without the blanks (spaces, tabs, and carriage returns, which systemd counts as line
    /// ends: a line of "\r\r" is blank to it) around it, in any mix.
    static func trimmed(_ s: some StringProtocol) -> String {
        let blank: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        let u = s.unicodeScalars
        guard let first = u.firstIndex(where: { !blank($0) }), let last = u.lastIndex(where: { !blank($0) }) else { return "" }
        return String(String.UnicodeScalarView(u[first...last]))
    }
}
