/// A wire body described field by field: how to make a valid value and a value that is
/// certainly invalid for that field (by type, or by the documented domain). Mutating a
/// valid document field by field tells the property which field an error has to name.
struct Field: Sendable {
    let name: String
    let required: Bool
    let valid: @Sendable (inout RNG) -> J
    let invalid: @Sendable (inout RNG) -> J
    /// For object-valued fields: the inner fields, so a mutation can go one level down.
    let nested: Schema?

    init(_ name: String, required: Bool = false, nested: Schema? = nil, valid: @escaping @Sendable (inout RNG) -> J,
         invalid: @escaping @Sendable (inout RNG) -> J) {
        self.name = name
        self.required = required
        self.valid = valid
        self.invalid = invalid
        self.nested = nested
    }
}

struct Schema: Sendable {
    let fields: [Field]

    /// Every required field, about half of the optional ones (some as explicit null), and
    /// sometimes fields the receiver does not know (they must be ignored).
    func validDocument(_ r: inout RNG) -> [(String, J)] {
        var doc: [(String, J)] = []
        for f in fields {
            if f.required {
                doc.append((f.name, f.valid(&r)))
            } else if chance(0.5, &r) {
                doc.append((f.name, chance(0.1, &r) ? .null : f.valid(&r)))
            }
        }
        if chance(0.2, &r) { doc.append(("x_" + Fragments.alnumString(1...8, &r), J.random(&r))) }
        return doc.shuffled(using: &r)
    }
}

/// Where an error must point: a top-level field, and maybe the field inside it.
struct FieldPath: Hashable, Sendable, CustomStringConvertible {
    var top: String
    var leaf: String?
    var description: String { leaf.map { "\(top).\($0)" } ?? top }

    /// The master's messages read "invalid FIELD: reason" (WireError.invalidField); a nested
    /// field may be rendered "invalid top.leaf: ..." or "invalid top: invalid leaf ...".
    func isNamed(in message: String) -> Bool {
        guard message.contains("invalid \(top)") else { return false }
        return leaf.map { message.contains($0) } ?? true
    }
}

enum Expectation: Sendable, CustomStringConvertible {
    /// Every field is valid: decoding and validation must succeed.
    case valid
    /// These fields were made invalid: the error must name one of them.
    case invalid(Set<FieldPath>)
    /// The text is not JSON any more (truncated): the error must say so.
    case notJSON
    /// The document is JSON but not an object: the error must name the body.
    case notAnObject
    /// Random damage: anything but a crash, a 5xx or an unexplained error.
    case unknown

    var description: String {
        switch self {
        case .valid: return "valid"
        case .invalid(let p): return "invalid(\(p.map(\.description).sorted().joined(separator: ",")))"
        case .notJSON: return "notJSON"
        case .notAnObject: return "notAnObject"
        case .unknown: return "unknown"
        }
    }

    var tally: String {
        switch self {
        case .valid: return "valid"
        case .invalid: return "invalid-field"
        case .notJSON: return "not-json"
        case .notAnObject: return "not-object"
        case .unknown: return "random-damage"
        }
    }
}

struct WireCase: Sendable, CustomStringConvertible {
    var body: String
    var expect: Expectation
    var description: String {
        let b = body.count > 400 ? String(body.prefix(400)) + "…(\(body.utf8.count) bytes)" : body
        return "\(expect): \(b)"
    }
}

extension Schema {
    /// Valid documents, documents with one or two fields made invalid (or required ones
    /// removed), and documents damaged as text.
    func wireCase(_ r: inout RNG) -> WireCase {
        var doc = validDocument(&r)
        switch int(0...19, &r) {
        case 0...4:
            return WireCase(body: J.obj(doc).text, expect: .valid)
        case 5...13:
            var named: Set<FieldPath> = []
            for _ in 0..<int(1...2, &r) {
                let f = fields.pick(&r)
                doc.removeAll { $0.0 == f.name }
                if let inner = f.nested, chance(0.6, &r) {
                    var innerDoc = inner.validDocument(&r)
                    let g = inner.fields.pick(&r)
                    innerDoc.removeAll { $0.0 == g.name }
                    if g.required && chance(0.3, &r) {
                        named.insert(FieldPath(top: f.name, leaf: g.name))
                    } else {
                        innerDoc.append((g.name, g.invalid(&r)))
                        named.insert(FieldPath(top: f.name, leaf: g.name))
                    }
                    doc.append((f.name, .obj(innerDoc.shuffled(using: &r))))
                } else if f.required && chance(0.3, &r) {
                    named.insert(FieldPath(top: f.name))  // removed: "required field missing"
                } else {
                    doc.append((f.name, f.invalid(&r)))
                    named.insert(FieldPath(top: f.name))
                }
            }
            return WireCase(body: J.obj(doc.shuffled(using: &r)).text, expect: .invalid(named))
        case 14...15:
            let text = J.obj(doc).text
            let cut = int(0...(text.unicodeScalars.count - 1), &r)
            return WireCase(body: String(String.UnicodeScalarView(text.unicodeScalars.prefix(cut))), expect: .notJSON)
        case 16:
            let root: J = [J.arr([.obj(doc)]), .str(Fragments.anyString(&r)), .num(String(int(-9...9, &r))), .bool(true)].pick(&r)
            return WireCase(body: root.text, expect: .notAnObject)
        default:
            return WireCase(body: Self.damage(J.obj(doc).text, &r), expect: .unknown)
        }
    }

    /// Inserts, deletes or replaces a few characters, or replaces the whole text.
    static func damage(_ text: String, _ r: inout RNG) -> String {
        if chance(0.1, &r) { return Fragments.unicodeString(0...64, &r) }
        var s = Array(text.unicodeScalars)
        let junk: [Unicode.Scalar] = Array("{}[]\",:\\0123456789eE+-.ntfu \u{0}\n".unicodeScalars) + ["\u{d7ff}", "\u{feff}", "é"]
        for _ in 0..<int(1...4, &r) {
            let i = int(0...s.count, &r)
            switch int(0...2, &r) {
            case 0: s.insert(junk.pick(&r), at: i)
            case 1: if i < s.count { s.remove(at: i) }
            default: if i < s.count { s[i] = junk.pick(&r) }
            }
        }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s)
        return String(v)
    }
}
