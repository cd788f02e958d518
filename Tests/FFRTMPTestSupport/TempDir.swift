import Foundation

/// A private temp directory (mkdtemp, 0700), removed when the value is released. One copy for
/// every test target.
public final class TempDir: @unchecked Sendable {
    public let path: String

    public init(_ prefix: String = "ffrtmp-test") throws {
        var template = Array((NSTemporaryDirectory() + "\(prefix)-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        path = String(cString: p)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `contents` to `rel` below the directory, creating the directories on the way.
    public func write(_ rel: String, _ contents: String) {
        let full = path + "/" + rel
        try? FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: full, contents: Data(contents.utf8))
    }

    public func read(_ rel: String) -> String? {
        try? String(contentsOfFile: path + "/" + rel, encoding: .utf8)
    }
}
