/// The wire bodies of API.md as schemas: valid values are the documented domain, invalid
/// values are outside it by type or by range.
enum WireSchemas {
    /// The JobID rule, written out independently of the product: 1-128 bytes of
    /// [A-Za-z0-9._-], not starting with '.'.
    static func isValidID(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 128, s.utf8.first != UInt8(ascii: ".") else { return false }
        return s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2e || b == 0x5f || b == 0x2d
        }
    }

    static func invalidIDString(_ r: inout RNG) -> String {
        while true {
            let s: String
            switch int(0...5, &r) {
            case 0: s = ""
            case 1: s = "." + Fragments.validID(&r)
            case 2: s = String(repeating: "a", count: int(129...300, &r))
            case 3: s = Fragments.validID(&r) + Fragments.hostileMix(&r)
            default: s = Fragments.anyString(&r)
            }
            if !isValidID(s) { return s }
        }
    }

    static func id(_ r: inout RNG) -> J { .str(Fragments.validID(&r)) }
    static func badID(_ r: inout RNG) -> J {
        chance(0.8, &r) ? .str(invalidIDString(&r)) : J.wrongType(excluding: [.string], &r)
    }

    static func bool(_ r: inout RNG) -> J { .bool(chance(0.5, &r)) }
    static func badBool(_ r: inout RNG) -> J {
        chance(0.3, &r) ? .str(["true", "false", "yes", "1", "on"].pick(&r)) : J.wrongType(excluding: [.bool], &r)
    }

    static func anyString(_ r: inout RNG) -> J { .str(Fragments.anyString(&r)) }
    static func badString(_ r: inout RNG) -> J { J.wrongType(excluding: [.string], &r) }

    static func anyJSON(_ r: inout RNG) -> J { J.random(&r) }
    /// A number no JSON value (a Double) can hold.
    static func badJSONValue(_ r: inout RNG) -> J { .num(["1e400", "-1e400", "1e309"].pick(&r)) }
    static func object(_ r: inout RNG) -> J { J.random(.object, &r) }
    static func badObject(_ r: inout RNG) -> J { J.wrongType(excluding: [.object], &r) }

    static func intJSON(in range: ClosedRange<Int>, _ r: inout RNG) -> J {
        .num(String(chance(0.3, &r) ? [range.lowerBound, range.upperBound].pick(&r) : Int.random(in: range, using: &r)))
    }

    /// A number (or not a number) that no Int field with `range` may accept.
    static func badInt(outside range: ClosedRange<Int>, _ r: inout RNG) -> J {
        switch int(0...6, &r) {
        case 0 where range.lowerBound > Int.min:
            return .num(String(Int.random(in: Int.min...(range.lowerBound - 1), using: &r)))
        case 1 where range.upperBound < Int.max:
            return .num(String(Int.random(in: (range.upperBound + 1)...Int.max, using: &r)))
        case 2: return .num(["99999999999999999999", "-99999999999999999999", "1e400", "-1e400", "9223372036854775808"].pick(&r))
        case 3: return .num(["1.5", "0.5", "-0.25", "\(range.lowerBound).5"].pick(&r))
        case 4: return .str(String(range.lowerBound))
        default: return J.wrongType(excluding: [.number], &r)
        }
    }

    static func oneOf(_ values: [String]) -> @Sendable (inout RNG) -> J { { r in .str(values.pick(&r)) } }
    static func notOneOf(_ values: [String]) -> @Sendable (inout RNG) -> J {
        { r in
            if chance(0.3, &r) { return J.wrongType(excluding: [.string], &r) }
            while true {
                let s = chance(0.5, &r) ? values.pick(&r).uppercased() + Fragments.alnumString(0...2, &r) : Fragments.anyString(&r)
                if !values.contains(s) { return .str(s) }
            }
        }
    }

    // MARK: constraints

    static func cpuMax(_ r: inout RNG) -> J {
        let sp = { (r: inout RNG) in String(repeating: " ", count: int(1...2, &r)) }
        switch int(0...3, &r) {
        case 0: return .str("max")
        case 1: return .str("max" + sp(&r) + String(int(1000...1_000_000, &r)))
        default:
            return .str(String(int(1000...1_024_000_000, &r)) + sp(&r) + String(int(1000...1_000_000, &r)))
        }
    }

    static func badCPUMax(_ r: inout RNG) -> J {
        let q = { (r: inout RNG) in int(1000...1_024_000_000, &r) }
        let p = { (r: inout RNG) in int(1000...1_000_000, &r) }
        switch int(0...8, &r) {
        case 0: return .str(["", " ", "  "].pick(&r))
        case 1: return .str(String(Int.random(in: Int.min...Int.max, using: &r)))  // a bare quota is ambiguous
        case 2: return .str("\([int(-5...999, &r), int(1_024_000_001...Int.max, &r)].pick(&r)) \(p(&r))")
        case 3: return .str("\(q(&r)) \([int(Int.min...999, &r), int(1_000_001...Int.max, &r)].pick(&r))")
        case 4: return .str("max \([int(-1...999, &r), 1_000_001, Int.max].pick(&r))")
        case 5: return .str("\(q(&r)) \(p(&r)) \(p(&r))")
        case 6: return .str("x" + Fragments.hostileMix(&r))
        case 7: return .str("\(Fragments.numberish.filter { Int($0) == nil }.pick(&r)) \(p(&r))")
        default: return J.wrongType(excluding: [.string], &r)
        }
    }

    /// WireConstraints as the master checks them (io_max devices are the worker's business,
    /// so any io_max string is valid here).
    static let constraints = Schema(fields: [
        Field("cpu_max", valid: cpuMax, invalid: badCPUMax),
        Field("cpu_weight", valid: { r in intJSON(in: 1...10_000, &r) }, invalid: { r in badInt(outside: 1...10_000, &r) }),
        Field("memory_max_mb", valid: { r in intJSON(in: 1...(1 << 30), &r) }, invalid: { r in badInt(outside: 1...(1 << 30), &r) }),
        Field("io_max", valid: anyString, invalid: badString),
        Field("pids_max", valid: { r in intJSON(in: 1...4_194_304, &r) }, invalid: { r in badInt(outside: 1...4_194_304, &r) }),
    ])

    static let newJob = Schema(fields: [
        Field("id", valid: id, invalid: badID),
        Field("engine", valid: oneOf(["auto", "ffmpeg", "gstreamer"]), invalid: notOneOf(["auto", "ffmpeg", "gstreamer"])),
        Field("parameters", valid: object, invalid: badObject),
        Field("wrapper_enabled", valid: bool, invalid: badBool),
        Field("wrapper_constraints", nested: constraints, valid: { r in .obj(constraints.validDocument(&r)) }, invalid: badObject),
    ])

    static func runningJobs(_ r: inout RNG) -> J { .arr((0..<int(0...5, &r)).map { _ in id(&r) }) }
    static func badRunningJobs(_ r: inout RNG) -> J {
        switch int(0...19, &r) {
        case 0...7: return J.wrongType(excluding: [.array], &r)
        case 8...16:
            var a = (0..<int(0...4, &r)).map { _ in id(&r) }
            a.insert(badID(&r), at: int(0...a.count, &r))
            return .arr(a)
        case 17...18: return .arr([.null])
        default: return .arr(Array(repeating: .str("j"), count: 10_001))  // over the 10000 limit
        }
    }

    /// A host name as the master takes it, written out: at most 253 bytes, no control characters.
    static func isValidHostname(_ s: String) -> Bool { s.utf8.count <= 253 && !s.utf8.contains { $0 < 0x20 || $0 == 0x7f } }
    static func hostname(_ r: inout RNG) -> J {
        while true {
            let s = Fragments.anyString(&r)
            if isValidHostname(s) { return .str(s) }
        }
    }
    static func badHostname(_ r: inout RNG) -> J {
        switch int(0...3, &r) {
        case 0: return .str(Fragments.alnumString(1...8, &r) + ["\n", "\u{0}", "\u{1b}[2J", "\t", "\u{7f}"].pick(&r))
        case 1: return .str(String(repeating: "h", count: int(254...400, &r)))
        default: return J.wrongType(excluding: [.string], &r)
        }
    }

    /// An agent instance id, written out: 8-128 of A-Z a-z 0-9 . _ -.
    static func instanceID(_ r: inout RNG) -> J {
        var s = ""
        let len = int(8...40, &r)
        while s.utf8.count < len { s.append(Fragments.idChars.pick(&r)) }
        return .str(s)
    }
    static func badInstanceID(_ r: inout RNG) -> J {
        switch int(0...3, &r) {
        case 0: return .str(Fragments.alnumString(0...7, &r))
        case 1: return .str(Fragments.alnumString(8...12, &r) + ["/", " ", "\n", "é", ":"].pick(&r))
        case 2: return .str(String(repeating: "i", count: int(129...300, &r)))
        default: return J.wrongType(excluding: [.string], &r)
        }
    }

    /// Below the property master's --node-lost-after (30 s); at or above it, or not positive, is refused.
    static func heartbeatInterval(_ r: inout RNG) -> J { .num(["0.1", "1", "10", "29.5"].pick(&r)) }
    static func badHeartbeatInterval(_ r: inout RNG) -> J {
        chance(0.7, &r) ? .num(["0", "-1", "30", "60", "3600", "1e300"].pick(&r)) : J.wrongType(excluding: [.number], &r)
    }

    static let nodeRegistration = Schema(fields: [
        Field("node_id", required: true, valid: id, invalid: badID),
        Field("hostname", valid: hostname, invalid: badHostname),
        Field("wrapper_enabled", valid: bool, invalid: badBool),
        Field("running_jobs", valid: runningJobs, invalid: badRunningJobs),
        Field("instance_id", valid: instanceID, invalid: badInstanceID),
        Field("heartbeat_interval_seconds", valid: heartbeatInterval, invalid: badHeartbeatInterval),
    ])

    /// `attempts`: job id → attempt (1...1000000).
    static func attempts(_ r: inout RNG) -> J {
        // Distinct keys ("j<i>." first): a duplicate key is not a valid object.
        .obj((0..<int(0...4, &r)).map { i in ("j\(i)." + Fragments.alnumString(0...20, &r), intJSON(in: 1...1_000_000, &r)) })
    }
    static func badAttempts(_ r: inout RNG) -> J {
        switch int(0...3, &r) {
        case 0: return .obj([(Fragments.validID(&r), badInt(outside: 1...1_000_000, &r))])
        case 1: return .obj([(invalidIDString(&r), intJSON(in: 1...1_000_000, &r))])
        default: return J.wrongType(excluding: [.object], &r)
        }
    }

    static let heartbeat = Schema(fields: [
        Field("running_jobs", required: true, valid: runningJobs, invalid: badRunningJobs),
        Field("instance_id", valid: instanceID, invalid: badInstanceID),
        Field("attempts", valid: attempts, invalid: badAttempts),
    ])

    /// A poll request id, written out: 1-64 of A-Z a-z 0-9 - _.
    static func requestID(_ r: inout RNG) -> J {
        let chars = Fragments.alnum + Array("-_")
        let len = int(1...64, &r)
        return .str(String((0..<len).map { _ in chars.pick(&r) }))
    }
    static func badRequestID(_ r: inout RNG) -> J {
        switch int(0...3, &r) {
        case 0: return .str("")
        case 1: return .str(Fragments.alnumString(1...8, &r) + [".", "/", " ", "\n", "é"].pick(&r))
        case 2: return .str(String(repeating: "r", count: int(65...200, &r)))
        default: return J.wrongType(excluding: [.string], &r)
        }
    }

    static let poll = Schema(fields: [
        Field("request_id", required: true, valid: requestID, invalid: badRequestID),
        Field("max", required: true, valid: { r in intJSON(in: 1...64, &r) }, invalid: { r in badInt(outside: 1...64, &r) }),
    ])

    static let release = Schema(fields: [
        Field("job_id", required: true, valid: id, invalid: badID),
        Field("attempt", required: true, valid: { r in intJSON(in: 1...1_000_000, &r) }, invalid: { r in badInt(outside: 1...1_000_000, &r) }),
        Field("reason", valid: { r in .str(Fragments.alnumString(0...40, &r)) }, invalid: badString),
    ])

    static let finalStatuses = ["completed", "failed", "timed_out", "canceled"]
    static let allStatuses = ["queued", "assigned", "running", "completed", "failed", "timed_out", "canceled", "retrying", "rejected", "unknown"]

    static let resultReport = Schema(fields: [
        Field("job_id", required: true, valid: id, invalid: badID),
        Field("attempt", required: true, valid: { r in intJSON(in: 1...1_000_000, &r) }, invalid: { r in badInt(outside: 1...1_000_000, &r) }),
        Field("node_id", required: true, valid: id, invalid: badID),
        Field("status", required: true, valid: oneOf(finalStatuses),
              invalid: { r in chance(0.5, &r) ? .str(["queued", "assigned", "running", "retrying", "rejected", "unknown"].pick(&r)) : notOneOf(allStatuses)(&r) }),
        Field("platform_sla", valid: bool, invalid: badBool),
        Field("platform_sla_reason", valid: anyString, invalid: badString),
        Field("failure_reason", valid: anyString, invalid: badString),
        Field("metrics", valid: anyJSON, invalid: badJSONValue),
        Field("analyzer_output", valid: anyJSON, invalid: badJSONValue),
        Field("result", valid: anyJSON, invalid: badJSONValue),
    ])

    /// What the agent decodes from GET /api/jobs/next: decoding checks types only (the agent
    /// validates the id, the attempt and the parameters itself before anything runs).
    static let rawConstraints = Schema(fields: [
        Field("cpu_max", valid: anyString, invalid: badString),
        Field("cpu_weight", valid: { r in intJSON(in: Int.min...Int.max, &r) }, invalid: { r in badInt(outside: Int.min...Int.max, &r) }),
        Field("memory_max_mb", valid: { r in intJSON(in: Int.min...Int.max, &r) }, invalid: { r in badInt(outside: Int.min...Int.max, &r) }),
        Field("io_max", valid: anyString, invalid: badString),
        Field("pids_max", valid: { r in intJSON(in: Int.min...Int.max, &r) }, invalid: { r in badInt(outside: Int.min...Int.max, &r) }),
    ])

    static let masterJob = Schema(fields: [
        Field("id", required: true, valid: anyString, invalid: badString),
        Field("engine", required: true, valid: oneOf(["auto", "ffmpeg", "gstreamer"]), invalid: notOneOf(["auto", "ffmpeg", "gstreamer"])),
        Field("parameters", required: true, valid: anyJSON, invalid: badJSONValue),
        Field("wrapper_enabled", valid: bool, invalid: badBool),
        Field("wrapper_constraints", nested: rawConstraints, valid: { r in .obj(rawConstraints.validDocument(&r)) }, invalid: badObject),
        Field("status", required: true, valid: oneOf(allStatuses), invalid: notOneOf(allStatuses)),
        Field("node_id", valid: anyString, invalid: badString),
        Field("attempt", required: true, valid: { r in intJSON(in: Int.min...Int.max, &r) }, invalid: { r in badInt(outside: Int.min...Int.max, &r) }),
        Field("cancel_requested", required: true, valid: bool, invalid: badBool),
        Field("created_at", required: true, valid: anyString, invalid: badString),
        Field("updated_at", required: true, valid: anyString, invalid: badString),
        Field("result", valid: anyJSON, invalid: badJSONValue),
        Field("platform_sla", valid: bool, invalid: badBool),
        Field("platform_sla_reason", valid: anyString, invalid: badString),
        Field("failure_reason", valid: anyString, invalid: badString),
    ])
}
