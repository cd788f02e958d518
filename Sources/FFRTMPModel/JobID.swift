/// A job id becomes a directory name and a cgroup name, so it is validated
/// before it touches any path: `[A-Za-z0-9._-]`, 1...128 characters, no leading dot.
public struct JobID: Hashable, Sendable, CustomStringConvertible, Codable {
    public let value: String
    public static let maxLength = 128

    public init(_ raw: String) throws {
        let expected = "1-\(JobID.maxLength) characters of A-Z a-z 0-9 . _ -, not starting with a dot"
        guard !raw.isEmpty, raw.utf8.count <= JobID.maxLength else {
            throw FFRTMPError.invalidField(field: "job id", value: raw, expected: expected)
        }
        guard raw.utf8.first != UInt8(ascii: ".") else {
            throw FFRTMPError.invalidField(field: "job id", value: raw, expected: expected)
        }
        for b in raw.utf8 {
            let ok = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
            if !ok { throw FFRTMPError.invalidField(field: "job id", value: raw, expected: expected) }
        }
        value = raw
    }

    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }

    public var description: String { value }

    /// A fresh id: time plus random bits, sortable by creation.
    public static func generate(now: Int64 = Clock.realtimeNanoseconds()) -> JobID {
        let secs = now / 1_000_000_000
        let rand = UInt32.random(in: 0...UInt32.max)
        let hex = String(rand, radix: 16)
        let padded = String(repeating: "0", count: 8 - hex.count) + hex
        // Safe by construction: digits, letters and '-'.
        return try! JobID("job-\(secs)-\(padded)")
    }
}
