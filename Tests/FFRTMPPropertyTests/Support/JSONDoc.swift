/// JSON as the generators write it: numbers keep their exact text ("1e400",
/// "99999999999999999999"), which Foundation's own types cannot represent.
indirect enum J: Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case num(String)
    case str(String)
    case arr([J])
    case obj([(String, J)])

    var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .num(let n): return n
        case .str(let s): return J.quote(s)
        case .arr(let a): return "[" + a.map(\.text).joined(separator: ",") + "]"
        case .obj(let o): return "{" + o.map { J.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    var description: String { text.count > 300 ? String(text.prefix(300)) + "…(\(text.utf8.count) bytes)" : text }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// The JSON type's name, used to pick a value of a different type.
    var kind: Kind {
        switch self {
        case .null: return .null
        case .bool: return .bool
        case .num: return .number
        case .str: return .string
        case .arr: return .array
        case .obj: return .object
        }
    }

    enum Kind: CaseIterable, Sendable { case null, bool, number, string, array, object }

    /// A random value of the given JSON type (shallow; bounded depth).
    static func random(_ kind: Kind, _ r: inout RNG, depth: Int = 2) -> J {
        switch kind {
        case .null: return .null
        case .bool: return .bool(chance(0.5, &r))
        case .number: return .num(Fragments.numberText(&r))
        case .string: return .str(Fragments.anyString(&r))
        case .array: return .arr(depth <= 0 ? [] : (0..<int(0...3, &r)).map { _ in random(&r, depth: depth - 1) })
        case .object:
            return .obj(depth <= 0 ? [] : (0..<int(0...3, &r)).map { _ in (Fragments.alnumString(1...8, &r), random(&r, depth: depth - 1)) })
        }
    }

    /// Any JSON value whose numbers all fit a Double (what a valid free-form field holds).
    static func random(_ r: inout RNG, depth: Int = 2) -> J {
        let k = Kind.allCases.pick(&r)
        if k == .number {
            return .num(chance(0.5, &r) ? String(int(-1_000_000...1_000_000, &r)) : String(Double.random(in: -1e9...1e9, using: &r)))
        }
        if k == .string { return .str(chance(0.5, &r) ? Fragments.alnumString(0...10, &r) : Fragments.unicodeString(0...10, &r)) }
        if k == .array { return .arr(depth <= 0 ? [] : (0..<int(0...3, &r)).map { _ in random(&r, depth: depth - 1) }) }
        if k == .object {
            return .obj(depth <= 0 ? [] : (0..<int(0...3, &r)).map { _ in (Fragments.alnumString(1...8, &r), random(&r, depth: depth - 1)) })
        }
        return random(k, &r, depth: depth)
    }

    /// A value of any type except `kinds` (and never null, which means "absent" for optionals).
    static func wrongType(excluding kinds: Set<Kind>, _ r: inout RNG) -> J {
        let choices = Kind.allCases.filter { !kinds.contains($0) && $0 != .null }
        return random(choices.pick(&r), &r)
    }
}
