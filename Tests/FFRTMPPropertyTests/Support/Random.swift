import PropertyBased

typealias RNG = any SeededRandomNumberGenerator

/// A generator from a plain closure over the property runner's seeded RNG (so every failure
/// prints a seed that reproduces it with `.fixedSeed(...)`).
func gen<T>(_ run: @escaping @Sendable (inout RNG) -> T) -> Generator<T, Shrink.None<T>> {
    Generator(run: { rng in run(&rng) })
}

extension Array {
    func pick(_ r: inout RNG) -> Element { self[Int.random(in: 0..<count, using: &r)] }
}

func chance(_ p: Double, _ r: inout RNG) -> Bool { Double.random(in: 0..<1, using: &r) < p }

func int(_ range: ClosedRange<Int>, _ r: inout RNG) -> Int { Int.random(in: range, using: &r) }

/// Calls one of the closures, each equally likely.
func oneOf<T>(_ r: inout RNG, _ options: [(inout RNG) -> T]) -> T {
    let f = options.pick(&r)
    return f(&r)
}

enum Fragments {
    static let alnum = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    static let idChars = alnum + Array("._-")

    static func alnumString(_ len: ClosedRange<Int>, _ r: inout RNG) -> String {
        String((0..<int(len, &r)).map { _ in alnum.pick(&r) })
    }

    /// 1-128 of [A-Za-z0-9._-], not starting with '.': what JobID accepts.
    static func validID(_ r: inout RNG) -> String {
        let len = chance(0.1, &r) ? int(100...128, &r) : int(1...24, &r)
        var s = String(alnum.pick(&r))
        if chance(0.2, &r) { s = String(["_", "-"].pick(&r)) }
        while s.count < len { s.append(idChars.pick(&r)) }
        return s
    }

    /// Text that could turn into an option for ffmpeg or gst-launch.
    static let options = ["-f", "-i", "-filter_complex", "-y", "-map", "-vf", "-af", "--", "-", "-f lavfi", "-i /etc/shadow",
                          "-dump_attachment:t", "-progress", "-attach", "--help", "-report", "-protocol_whitelist"]
    /// Shell syntax (nothing should ever reach a shell; it is refused anyway).
    static let shell = [";", "|", "&", "&&", "||", "$", "`", "$(id)", "${HOME}", "`id`", "'", "\"", "\n", "\r", "\r\n", "\\",
                        "<", ">", ">>", "2>&1", "*", "?", "~", "!", "(", ")", "{", "}", "\t", " ", "$IFS", ";rm -rf /"]
    /// Ways out of the directory the operator expects.
    static let traversal = ["..", "../", "../../", "/..", "a/../b", "./../", "../../../../etc/passwd", "x/..", "/tmp/../etc/passwd"]
    /// Places jobs must never read or write (AGENT.md), including spellings that mean the same path.
    static let guardedPaths = ["/etc/passwd", "/etc/shadow", "/proc/self/environ", "/sys/kernel/notes", "/dev/sda", "/boot/vmlinuz",
                               "/usr/bin/ffmpeg", "/bin/sh", "/sbin/init", "/lib/x", "//etc/passwd", "/./etc/passwd", "/etc//passwd",
                               "///proc/1/mem", "/./././dev/mem", "//usr/lib/x", "/etc/", "/etc", "/etc/.", "/./etc"]
    /// ffmpeg's protocol prefixes and schemes the engines must not be handed.
    static let protocols = ["concat:", "subfile:", "pipe:", "pipe:0", "file:", "file:///etc/passwd", "data:", "tcp://", "udp://",
                            "ftp://", "gopher://", "unix:", "crypto:", "hls+http://", "async:", "cache:", "tee:", "fd:", "sftp://",
                            "tls://", "rtp://", "smb://", "amqp://", "zmq:", "lavfi:", "ffrtmp:", "C:", "http:/x", "rtmp:x"]
    static let controlAndUnicode = ["\u{0}", "\u{7f}", "\u{1b}[2J", "\u{85}", "\u{a0}", "\u{2028}", "\u{2029}", "\u{3000}", "\u{202e}",
                                    "\u{feff}", "é", "𝕏", "－", "‐", "−", "\u{301}", "🙂"]
    /// Numbers that break naive parsers: overflow, sign, NaN-likes, other digit systems.
    static let numberish = ["NaN", "nan", "-nan", "inf", "-inf", "Infinity", "1e309", "-1e309", "1e400", "-0", "0", "00", "0x10",
                            "99999999999999999999", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
                            "-9223372036854775809", "18446744073709551616", "+5", " 5", "5 ", "1_000", "١٢٣", "５", "1.5", "1e3",
                            "-1", "2147483648", "4294967296", "", " ", "1,000", "0.0000001", "1e-400"]

    static let hostilePools = [options, shell, traversal, guardedPaths, protocols, controlAndUnicode, numberish]

    /// A string built from hostile fragments and safe text, in any order.
    static func hostileMix(_ r: inout RNG) -> String {
        var s = ""
        for _ in 0..<int(1...4, &r) {
            if chance(0.6, &r) { s += hostilePools.pick(&r).pick(&r) } else { s += alnumString(0...6, &r) }
        }
        return s
    }

    /// Arbitrary Unicode scalars, biased towards ASCII and the troublesome ranges.
    static func unicodeString(_ len: ClosedRange<Int>, _ r: inout RNG) -> String {
        var s = String.UnicodeScalarView()
        for _ in 0..<int(len, &r) {
            let v: UInt32
            switch int(0...9, &r) {
            case 0...5: v = UInt32(int(0...0x7f, &r))
            case 6: v = UInt32(int(0x80...0x7ff, &r))
            case 7: v = UInt32(int(0x800...0xd7ff, &r))
            case 8: v = UInt32(int(0xe000...0xffff, &r))
            default: v = UInt32(int(0x10000...0x10ffff, &r))
            }
            if let u = Unicode.Scalar(v) { s.append(u) }
        }
        return String(s)
    }

    /// Any string at all: safe, hostile, random Unicode, or empty.
    static func anyString(_ r: inout RNG) -> String {
        switch int(0...5, &r) {
        case 0: return alnumString(0...12, &r)
        case 1: return validID(&r)
        case 2, 3: return hostileMix(&r)
        case 4: return unicodeString(0...24, &r)
        default: return hostilePools.pick(&r).pick(&r)
        }
    }

    /// Text of a number, valid or not, small or out of every range.
    static func numberText(_ r: inout RNG) -> String {
        switch int(0...4, &r) {
        case 0: return String(int(-5...5, &r))
        case 1: return String(Int.random(in: Int.min...Int.max, using: &r))
        case 2: return String(Double.random(in: -1e6...1e6, using: &r))
        case 3: return ["1e309", "-1e309", "1e400", "99999999999999999999", "-99999999999999999999", "9223372036854775808", "1.5",
                        "-0", "0.0", "1e-400", "2147483648", "4294967296", "1E2", "-1e-7"].pick(&r)
        default: return String(int(0...2_000_000, &r))
        }
    }
}

func randomBytes(_ len: ClosedRange<Int>, _ r: inout RNG) -> [UInt8] {
    var out: [UInt8] = []
    for _ in 0..<int(len, &r) { out.append(UInt8(truncatingIfNeeded: r.next())) }
    return out
}
