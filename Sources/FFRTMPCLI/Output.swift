import FFRTMPCore
import FoundationEssentials
import Glibc

public enum Output {
    public static func out(_ s: String) { write(1, s + "\n") }
    public static func err(_ s: String) { write(2, s + "\n") }

    /// Direct write(2): a closed terminal (EIO) or pipe (EPIPE) must never kill a command that has a job to report.
    public static func write(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }

    public static func json<T: Encodable>(_ v: T) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? enc.encode(v) else { return "{\"error\":\"encoding failed\"}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Left-aligned columns sized to their widest cell.
    public static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
