import Glibc
import Synchronization

/// Cgroup attribute files (and /proc/PID/stat) kept open, for a caller that reads the same
/// files of every live job every second (the console): each later read is one pread(2) at offset 0, which makes
/// kernfs build the text afresh, instead of an open (a path walk through kernfs, most of the
/// console's CPU in `perf`), a read and a close. A file of a removed cgroup reads as an error
/// (ENODEV): it is closed and opened again by path, so a cgroup made again under the same
/// path is read from its new file. At most `limit` files are kept; beyond that files are
/// read by path as before. Opt-in (`CgroupFS.openAttributes`): the agent and the CLI do not
/// keep files open.
/// (Written here: a few lines over pread; no package we use offers it.)
public final class OpenAttributes: Sendable {
    let fds = Mutex<[String: Int32]>([:])
    public let limit: Int

    public init(limit: Int) { self.limit = max(0, limit) }

    deinit { fds.withLock { for fd in $0.values { close(fd) } } }

    /// The whole text of `path`, or nil when it cannot be opened or read.
    public func read(_ path: String) -> String? {
        if let fd = fds.withLock({ $0[path] }) {
            if let t = Self.pread0(fd) { return t }
            fds.withLock { _ = $0.removeValue(forKey: path) }
            close(fd)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard let text = Self.pread0(fd) else { close(fd); return nil }
        let kept = fds.withLock { m -> Bool in
            guard m.count < limit, m[path] == nil else { return false }
            m[path] = fd
            return true
        }
        if !kept { close(fd) }
        return text
    }

    /// Closes the kept files under `dir` (a job's cgroup directory, once the job has ended).
    public func forget(under dir: String) {
        let prefix = dir.hasSuffix("/") ? dir : dir + "/"
        let closing = fds.withLock { m -> [Int32] in
            let keys = m.keys.filter { $0.hasPrefix(prefix) }
            return keys.compactMap { m.removeValue(forKey: $0) }
        }
        for fd in closing { close(fd) }
    }

    public var count: Int { fds.withLock { $0.count } }

    /// One pread at offset 0 into 4 KiB: kernfs returns the whole text of an attribute file at
    /// once. A file that fills the buffer is not one of these: nil, and the caller reads by path.
    static func pread0(_ fd: Int32) -> String? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { chunk -> String? in
            var n = Glibc.pread(fd, chunk.baseAddress, 4096, 0)
            while n < 0 && errno == EINTR { n = Glibc.pread(fd, chunk.baseAddress, 4096, 0) }
            guard n >= 0, n < 4096 else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: chunk[0..<n]), as: UTF8.self)
        }
    }
}
