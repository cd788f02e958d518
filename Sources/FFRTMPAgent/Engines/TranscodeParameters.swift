import FFRTMPModel
import FFRTMPWire

/// The legacy `parameters.resource_limits`, as old workers understood them.
public struct LegacyLimits: Equatable, Sendable {
    public var maxCPUPercent: Int?
    public var maxMemoryMB: Int?
    public var maxDiskMB: Int?
    public var timeoutSec: Double?

    public init(maxCPUPercent: Int? = nil, maxMemoryMB: Int? = nil, maxDiskMB: Int? = nil, timeoutSec: Double? = nil) {
        self.maxCPUPercent = maxCPUPercent
        self.maxMemoryMB = maxMemoryMB
        self.maxDiskMB = maxDiskMB
        self.timeoutSec = timeoutSec
    }
}

/// A job's `parameters`, validated. Every error names the field (`parameters.fps`, ...), and
/// nothing that could be read as an option or as shell or pipeline syntax gets through.
public struct TranscodeParameters: Equatable, Sendable {
    public var input: String
    public var output: String?
    public var codec: String?
    public var bitrate: String?
    public var preset: String?
    public var width: Int?
    public var height: Int?
    public var fps: Int?
    public var durationSeconds: Double?
    public var realtime = false
    public var resourceLimits: LegacyLimits?

    public static let presets: Set<String> = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
    public static let codecs: Set<String> = ["h264", "h265", "hevc", "copy"]
    /// duration_seconds, for jobs and for the control socket's launch_test alike.
    public static let durationRange: ClosedRange<Double> = 0.1...(7 * 86400)

    public var inputIsTestSource: Bool { input == "testsrc" }
    public var outputIsRTMP: Bool { output.map { $0.hasPrefix("rtmp://") || $0.hasPrefix("rtmps://") } ?? false }

    public init(input: String) { self.input = input }

    public init(_ json: JSONValue) throws {
        guard case .object(let o) = json else { throw WireError.invalidField(field: "parameters", reason: "must be a JSON object") }
        func str(_ k: String) throws -> String? {
            switch o[k] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw WireError.invalidField(field: "parameters.\(k)", reason: "must be a string")
            }
        }
        func number(_ k: String, _ range: ClosedRange<Double>) throws -> Double? {
            switch o[k] {
            case nil, .null?: return nil
            case .number(let n)? where range.contains(n): return n
            default: throw WireError.invalidField(field: "parameters.\(k)", reason: "must be a number from \(range.lowerBound) to \(range.upperBound)")
            }
        }
        guard let input = try str("input") else { throw WireError.invalidField(field: "parameters.input", reason: "missing; a file path, an rtmp/srt/http(s) URL, or \"testsrc\"") }
        self.input = try Self.checkSource(input, field: "parameters.input", schemes: ["rtmp://", "rtmps://", "srt://", "http://", "https://"])
        output = try str("output").map { try Self.checkSource($0, field: "parameters.output", schemes: ["rtmp://", "rtmps://"]) }
        if output == "testsrc" { throw WireError.invalidField(field: "parameters.output", reason: "testsrc is an input") }
        if let c = try str("codec") {
            guard Self.codecs.contains(c) else { throw WireError.invalidField(field: "parameters.codec", reason: "one of \(Self.codecs.sorted().joined(separator: ", "))") }
            codec = c
        }
        if let b = try str("bitrate") {
            let digits = b.last.map { "kKmM".contains($0) } == true ? b.dropLast() : Substring(b)
            guard !digits.isEmpty, digits.count <= 7, digits.first != "0", digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else {
                throw WireError.invalidField(field: "parameters.bitrate", reason: "digits with an optional k or M suffix, e.g. 2500k")
            }
            bitrate = b
        }
        if let p = try str("preset") {
            guard Self.presets.contains(p) else { throw WireError.invalidField(field: "parameters.preset", reason: "one of \(Self.presets.sorted().joined(separator: ", "))") }
            preset = p
        }
        if let r = try str("resolution") {
            // Digits only on both sides of one 'x': Int() alone would also take "+640", and
            // split() would read "640xx360" or "x640x360" as 640x360.
            let parts = r.split(separator: "x", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ (1...4).contains($0.count) && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
                  let w = Int(parts[0]), let h = Int(parts[1]), (16...7680).contains(w), (16...4320).contains(h) else {
                throw WireError.invalidField(field: "parameters.resolution", reason: "WIDTHxHEIGHT, e.g. 1280x720")
            }
            width = w
            height = h
        }
        fps = try number("fps", 1...240).map { Int($0) }
        durationSeconds = try number("duration_seconds", Self.durationRange)
        switch o["realtime"] {
        case nil, .null?: realtime = false
        case .bool(let b)?: realtime = b
        default: throw WireError.invalidField(field: "parameters.realtime", reason: "must be true or false")
        }
        if let rl = o["resource_limits"], rl != .null {
            guard case .object(let l) = rl else { throw WireError.invalidField(field: "parameters.resource_limits", reason: "must be an object") }
            func lim(_ k: String, _ range: ClosedRange<Double>) throws -> Double? {
                switch l[k] {
                case nil, .null?: return nil
                case .number(let n)? where range.contains(n): return n
                default: throw WireError.invalidField(field: "parameters.resource_limits.\(k)", reason: "must be a number from \(range.lowerBound) to \(range.upperBound)")
                }
            }
            resourceLimits = LegacyLimits(maxCPUPercent: try lim("max_cpu_percent", 1...102_400).map { Int($0) },
                                          maxMemoryMB: try lim("max_memory_mb", 1...1_073_741_824).map { Int($0) },
                                          maxDiskMB: try lim("max_disk_mb", 1...1_099_511_627_776).map { Int($0) },
                                          timeoutSec: try lim("timeout_sec", 0.001...(30 * 86400)))
        }
    }

    /// A source or sink: "testsrc", an allowed URL, or a path. Never an option (leading '-'),
    /// never whitespace or control characters, never shell or gst-launch pipeline syntax.
    static func checkSource(_ s: String, field: String, schemes: [String]) throws -> String {
        if s == "testsrc" { return s }
        guard !s.isEmpty, s.count <= 4096, !s.hasPrefix("-") else {
            throw WireError.invalidField(field: field, reason: "must not be empty or start with '-' (it would be read as an option)")
        }
        let forbidden: Set<Character> = ["!", ";", "|", "&", "$", "`", "\"", "'", "\\", "<", ">", "(", ")", "{", "}", "*", "?", "~"]
        if let bad = s.first(where: { forbidden.contains($0) || $0.isWhitespace || ($0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false) }) {
            throw WireError.invalidField(field: field, reason: "contains \(bad.isWhitespace ? "whitespace" : "'\(bad)'"), which is not allowed")
        }
        if s.contains("://") {
            guard schemes.contains(where: { s.hasPrefix($0) }) else {
                throw WireError.invalidField(field: field, reason: "URL scheme must be one of \(schemes.joined(separator: " "))")
            }
        } else if s.contains(":") {
            // ffmpeg reads "proto:..." as a protocol (concat:, subfile:, pipe:): paths only.
            throw WireError.invalidField(field: field, reason: "a path must not contain ':' (ffmpeg would take it as a protocol)")
        }
        return s
    }
}
