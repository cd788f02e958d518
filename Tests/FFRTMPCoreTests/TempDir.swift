import Foundation

/// A private temp directory removed when the test ends.
final class TempDir {
    let path: String
    init() throws {
        var template = Array((NSTemporaryDirectory() + "ffrtmp-unit-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { throw NSError(domain: "mkdtemp", code: Int(errno)) }
        path = String(cString: p)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ rel: String, _ contents: String) {
        let full = path + "/" + rel
        try? FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: full, contents: Data(contents.utf8))
    }

    func read(_ rel: String) -> String? {
        try? String(contentsOfFile: path + "/" + rel, encoding: .utf8)
    }
}
