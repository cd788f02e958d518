import FoundationEssentials

/// JSON bodies from the network (the master's API, the agent's control socket): every failure
/// becomes `WireError.invalidField` naming the field ("wrapper_constraints.cpu_max",
/// "running_jobs[2]", or "body" when the text is not JSON at all).
public enum WireDecoding {
    /// Arrays and objects nested deeper than this are refused before any decoding: no field of
    /// ours nests past a handful of levels, and free-form parameters get 32.
    public static let maxDepth = 32

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try checkDepth(data)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let e as DecodingError {
            if case .dataCorrupted(let c) = e, c.codingPath.isEmpty, let n = NumberScan.misfit(type, in: data) {
                throw WireError.invalidField(field: n.path, reason: "expected a number that fits (a whole number in range, or a finite one), not \(n.text)")
            }
            throw WireError.invalidField(field: path(e), reason: reason(e))
        }
    }

    /// One linear pass over the bytes (strings and their escapes skipped): refuses a body whose
    /// arrays and objects nest deeper than `maxDepth`, so a small hostile body (32 KB of `{"a":`)
    /// costs microseconds, not the decoder's (and the store's) time.
    public static func checkDepth(_ data: Data, maxDepth: Int = maxDepth) throws {
        let tooDeep = data.withUnsafeBytes { raw -> Bool in
            var depth = 0, inString = false, escaped = false
            for b in raw {
                if inString {
                    if escaped { escaped = false } else if b == 0x5c { escaped = true } else if b == 0x22 { inString = false }
                    continue
                }
                switch b {
                case 0x22: inString = true
                case 0x5b, 0x7b:
                    depth += 1
                    if depth > maxDepth { return true }
                case 0x5d, 0x7d: depth -= 1
                default: break
                }
            }
            return false
        }
        if tooDeep {
            throw WireError.invalidField(field: "body", reason: "arrays and objects nested deeper than \(maxDepth) levels")
        }
    }

    static func path(_ e: DecodingError) -> String {
        let ctx: DecodingError.Context
        switch e {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): ctx = c
        case .keyNotFound(let k, let c): return render(c.codingPath + [k])
        @unknown default: return "body"
        }
        return render(ctx.codingPath)
    }

    static func render(_ path: [any CodingKey]) -> String {
        let p = path.reduce("") { s, k in k.intValue.map { s + "[\($0)]" } ?? (s.isEmpty ? k.stringValue : s + "." + k.stringValue) }
        return p.isEmpty ? "body" : p
    }

    static func reason(_ e: DecodingError) -> String {
        switch e {
        case .typeMismatch(let t, _): return "expected \(t)"
        case .valueNotFound(let t, _): return "expected \(t), found null"
        case .keyNotFound: return "required field missing"
        case .dataCorrupted(let c): return c.codingPath.isEmpty ? "not valid JSON" : c.debugDescription
        @unknown default: return "invalid"
        }
    }
}

/// Foundation's JSONDecoder reports a number that does not fit its field (1.5 or 1e30 for an
/// Int, 1e400 for a Double) as "The given data was not valid JSON." with no coding path. When
/// the text is valid JSON, this finds the number: the first one that, zeroed together with
/// all before it, lets the decoding get past that error (zeroing never adds such an error, so
/// a binary search over how many are zeroed needs only a few decodes).
enum NumberScan {
    static func misfit<T: Decodable>(_ type: T.Type, in data: Data) -> (path: String, text: String)? {
        let bytes = [UInt8](data)
        var numbers: [(path: String, range: Range<Int>)] = []
        var scanner = Scanner(bytes: bytes)
        guard scanner.document(into: &numbers), !numbers.isEmpty else { return nil }
        func stillFails(zeroing k: Int) -> Bool {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var at = 0
            for n in numbers.prefix(k) {
                out += bytes[at..<n.range.lowerBound]
                out.append(UInt8(ascii: "0"))
                at = n.range.upperBound
            }
            out += bytes[at...]
            do {
                _ = try JSONDecoder().decode(type, from: Data(out))
                return false
            } catch DecodingError.dataCorrupted(let c) where c.codingPath.isEmpty {
                return true
            } catch {
                return false
            }
        }
        guard !stillFails(zeroing: numbers.count) else { return nil }
        var lo = 0, hi = numbers.count  // stillFails(lo) is true (it is the original), stillFails(hi) false
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if stillFails(zeroing: mid) { lo = mid } else { hi = mid }
        }
        let n = numbers[hi - 1]
        return (n.path, String(decoding: bytes[n.range], as: UTF8.self))
    }

    /// A JSON syntax walk that records each number with its field path; false when the text is
    /// not JSON. Nesting is capped as Foundation caps it, so no input can exhaust the stack.
    struct Scanner {
        let bytes: [UInt8]
        var i = 0

        mutating func document(into numbers: inout [(path: String, range: Range<Int>)]) -> Bool {
            guard value(path: "", depth: 0, into: &numbers) else { return false }
            skipBlanks()
            return i == bytes.count
        }

        mutating func skipBlanks() {
            while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
        }

        mutating func literal(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard bytes.count - i >= w.count, Array(bytes[i..<(i + w.count)]) == w else { return false }
            i += w.count
            return true
        }

        /// A string; its value when it has no escapes (keys in practice), else its raw text.
        mutating func string() -> String? {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            let start = i + 1
            i += 1
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                i += 1
            }
            guard i < bytes.count else { return nil }
            i += 1
            return String(decoding: bytes[start..<(i - 1)], as: UTF8.self)
        }

        mutating func value(path: String, depth: Int, into numbers: inout [(path: String, range: Range<Int>)]) -> Bool {
            skipBlanks()
            guard i < bytes.count, depth < 512 else { return false }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                skipBlanks()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return true }
                while true {
                    skipBlanks()
                    guard let key = string() else { return false }
                    skipBlanks()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return false }
                    i += 1
                    guard value(path: path.isEmpty ? key : path + "." + key, depth: depth + 1, into: &numbers) else { return false }
                    skipBlanks()
                    guard i < bytes.count else { return false }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return true }
                    guard bytes[i] == UInt8(ascii: ",") else { return false }
                    i += 1
                }
            case UInt8(ascii: "["):
                i += 1
                skipBlanks()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return true }
                var index = 0
                while true {
                    guard value(path: path + "[\(index)]", depth: depth + 1, into: &numbers) else { return false }
                    index += 1
                    skipBlanks()
                    guard i < bytes.count else { return false }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return true }
                    guard bytes[i] == UInt8(ascii: ",") else { return false }
                    i += 1
                }
            case UInt8(ascii: "\""):
                return string() != nil
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = i
                while i < bytes.count, (bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9")) || [0x2d, 0x2b, 0x2e, 0x65, 0x45].contains(bytes[i]) {
                    i += 1
                }
                numbers.append((path.isEmpty ? "body" : path, start..<i))
                return true
            default:
                return false
            }
        }
    }
}
