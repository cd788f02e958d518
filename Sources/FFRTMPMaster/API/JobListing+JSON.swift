import FFRTMPWire

extension JobListing {
    /// The body of `GET /api/jobs`: `[{…},…]` with the keys, key order and omissions that
    /// JSONEncoder gives `[MasterJob]` (snake_case; a nil optional is left out, as
    /// `encodeIfPresent` does), so every client that decodes `[MasterJob]` reads it unchanged.
    ///
    /// Why by hand: the old route decoded every row's `parameters` and `result` into JSONValue
    /// only to encode them again, which was most of the listing's cost (docs/BENCHMARKS.md,
    /// "Listing jobs"). Those columns are written only by `JobRules.encode` (JSONEncoder), so
    /// they are valid JSON already and are spliced in byte for byte; only the scalar fields are
    /// written (and escaped) here.
    public static func json(_ rows: [JobListing]) -> [UInt8] {
        var w = JSONBytes()
        w.out.reserveCapacity(rows.reduce(2) { $0 + 320 + $1.row.parameters.utf8.count + ($1.row.result?.utf8.count ?? 0)
            + ($1.row.wrapperConstraints?.utf8.count ?? 0) })
        w.out.append(UInt8(ascii: "["))
        for (i, listing) in rows.enumerated() {
            if i > 0 { w.out.append(UInt8(ascii: ",")) }
            listing.write(to: &w)
        }
        w.out.append(UInt8(ascii: "]"))
        return w.out
    }

    /// One object, in MasterJob's CodingKeys order. Engine and status go through their enums
    /// as `JobRules.job` does, so an unknown stored value shows as it did (auto, unknown).
    func write(to w: inout JSONBytes) {
        let r = row
        w.beginObject()
        w.string("id", r.id)
        w.string("engine", (Engine(rawValue: r.engine) ?? .auto).rawValue)
        w.raw("parameters", r.parameters)
        if let v = r.wrapperEnabled { w.bool("wrapper_enabled", v) }
        if let v = r.wrapperConstraints { w.raw("wrapper_constraints", v) }
        w.string("status", (MasterJobStatus(rawValue: r.status) ?? .unknown).rawValue)
        if let v = r.nodeID { w.string("node_id", v) }
        w.int("attempt", r.attempt)
        w.bool("cancel_requested", r.cancelRequested)
        w.string("created_at", JobRules.iso(r.createdMs))
        w.string("updated_at", JobRules.iso(r.updatedMs))
        if let v = r.result { w.raw("result", v) }
        if let v = r.platformSLA { w.bool("platform_sla", v) }
        if let v = r.platformSLAReason { w.string("platform_sla_reason", v) }
        if let v = r.failureReason { w.string("failure_reason", v) }
        w.endObject()
    }
}

/// JSON objects written into one byte array: keys are our own ASCII names, strings are escaped
/// as RFC 8259 requires, raw members are spliced as given.
struct JSONBytes {
    var out: [UInt8] = []
    var first = true

    mutating func beginObject() {
        out.append(UInt8(ascii: "{"))
        first = true
    }

    mutating func endObject() { out.append(UInt8(ascii: "}")) }

    mutating func key(_ k: StaticString) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    mutating func raw(_ k: StaticString, _ json: String) {
        key(k)
        out.append(contentsOf: json.utf8)
    }

    mutating func bool(_ k: StaticString, _ v: Bool) { raw(k, v ? "true" : "false") }

    mutating func int(_ k: StaticString, _ v: Int) { raw(k, String(v)) }

    mutating func string(_ k: StaticString, _ s: String) {
        key(k)
        Self.appendString(s, to: &out)
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string: `"` and `\` escaped, control characters as \n, \t, … or \u00XX; every
    /// other byte (UTF-8 included) as it is.
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                out.append(b)
                continue
            }
            out.append(UInt8(ascii: "\\"))
            switch b {
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0..<0x20:
                for c in [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigits[Int(b >> 4)], hexDigits[Int(b & 0xf)]] { out.append(c) }
            default: out.append(b)  // `"` or `\`
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
