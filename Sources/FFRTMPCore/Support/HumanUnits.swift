/// Numbers as operators read them, shared by `ffrtmp ps` and the console.
public enum HumanUnits {
    /// "45%".
    public static func percent(_ v: Double) -> String { String(Int(v.rounded())) + "%" }

    /// "12.3" (one decimal, rounded).
    public static func oneDecimal(_ v: Double) -> String {
        let t = Int((v * 10).rounded())
        return "\(t / 10).\(t % 10)"
    }

    /// "300M", or "1.5G" from 1 GiB up.
    public static func bytes(_ b: UInt64) -> String {
        let mib = Double(b) / 1_048_576
        if mib >= 1024 { return oneDecimal(mib / 1024) + "G" }
        return String(Int(mib.rounded())) + "M"
    }

    /// "90s", "15m", "3h", "2d" for a duration in nanoseconds (negative counts as 0).
    public static func age(_ ns: Int64) -> String {
        let s = max(0, ns / 1_000_000_000)
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
