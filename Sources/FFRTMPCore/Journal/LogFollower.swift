import Glibc

/// Copies what a job's log files gained since the last call to our own stdout/stderr,
/// like `tail -f`, so a foreground run prints the job's output as it is produced,
/// although the job itself only ever writes to files.
public final class LogFollower {
    struct Stream {
        var path: String
        var fd: Int32 = -1
        var out: Int32
        var broken = false
    }
    var streams: [Stream]
    var buffer = [UInt8](repeating: 0, count: 65536)

    public init(pairs: [(path: String, out: Int32)]) {
        streams = pairs.map { Stream(path: $0.path, out: $0.out) }
    }

    deinit { for s in streams where s.fd >= 0 { close(s.fd) } }

    /// Copies everything available now. Returns the number of bytes copied.
    @discardableResult
    public func pump() -> Int {
        var total = 0
        for i in streams.indices {
            if streams[i].fd < 0 {
                streams[i].fd = open(streams[i].path, O_RDONLY | O_CLOEXEC)
                if streams[i].fd < 0 { continue }
            }
            while true {
                let n = buffer.withUnsafeMutableBytes { read(streams[i].fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                total += n
                // A reader that went away (EPIPE) must not stop us: the job and its record matter more.
                if !streams[i].broken && !writeAll(streams[i].out, n) { streams[i].broken = true }
            }
        }
        return total
    }

    func writeAll(_ fd: Int32, _ n: Int) -> Bool {
        var off = 0
        while off < n {
            let w = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + off, n - off) }
            if w < 0 { if errno == EINTR { continue }; return false }
            off += w
        }
        return true
    }
}
