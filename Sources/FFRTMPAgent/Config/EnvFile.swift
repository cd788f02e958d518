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
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: " ").trimmingCharacters(in: "\t")
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else { throw LineError(line: i + 1, text: line) }
            let key = String(line[..<eq]).trimmingCharacters(in: " ")
            guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), key.first?.isNumber == false else {
                throw LineError(line: i + 1, text: line)
            }
            var v = String(line[line.index(after: eq)...]).trimmingCharacters(in: " ")
            if v.count >= 2, (v.hasPrefix("\"") && v.hasSuffix("\"")) || (v.hasPrefix("'") && v.hasSuffix("'")) {
                v = String(v.dropFirst().dropLast())
            }
            out[key] = v
        }
        return out
    }
}
