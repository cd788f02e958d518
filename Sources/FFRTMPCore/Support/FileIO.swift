import Glibc

/// Small, allocation-light file helpers. /proc and cgroupfs files report size 0,
/// so everything reads until EOF instead of trusting stat().
public enum FileIO {
    /// `noFollow`: refuse a symlink as the last component (ELOOP); the journal's files are
    /// never symlinks, so one found there was planted.
    public static func read(_ path: String, limit: Int = 1 << 20, noFollow: Bool = false) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0))
        if fd < 0 { throw FFRTMPError.io(path: path, operation: "read", errno: errno) }
        defer { close(fd) }
        // Most files here (procfs, cgroupfs, journal records) fit in one 4 KiB read into a
        // stack buffer; only longer ones go to the heap.
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { chunk -> String in
            var bytes: [UInt8] = []
            while bytes.count < limit {
                let n = Glibc.read(fd, chunk.baseAddress, 4096)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FFRTMPError.io(path: path, operation: "read", errno: errno)
                }
                if n == 0 { break }
                if bytes.isEmpty && n < 4096 {
                    // A short first read: EOF is next for regular files, but procfs and
                    // cgroupfs files may still have more; keep reading until 0.
                    bytes.reserveCapacity(n)
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<n]))
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    public static func readIfExists(_ path: String, noFollow: Bool = false) -> String? {
        try? read(path, noFollow: noFollow)
    }

    /// A cgroupfs attribute file in one read(2): kernfs builds such a file's whole text in one
    /// show() call and the first read returns all of it that fits, so a read shorter than the
    /// buffer is the whole file and the read that would return 0 is saved (the console reads
    /// a few of these per job per second). A full buffer falls back to reading until EOF.
    public static func readAttribute(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return OpenAttributes.pread0(fd) ?? readIfExists(path)
    }

    /// A small regular file's text, or nil: opened O_NONBLOCK (a FIFO never blocks the caller)
    /// and checked to be a regular file before anything is read.
    public static func readRegularFile(_ path: String, limit: Int = 1 << 16) -> String? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return try? read("/proc/self/fd/\(fd)", limit: limit)
    }

    /// True when `path` is a directory itself, not a symlink to one.
    public static func isRealDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// One write(2) of the whole value: cgroupfs parses each write separately,
    /// so a value must never be split across calls.
    public static func writeCgroup(_ path: String, _ value: String, createForFixture: Bool = false) throws {
        // Real cgroupfs files always exist; only a fixture tree (tests) needs O_CREAT.
        let fd = createForFixture ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) : open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 { throw FFRTMPError.cgroupWrite(path: path, value: value, errno: errno) }
        defer { close(fd) }
        let n = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        if n < 0 { throw FFRTMPError.cgroupWrite(path: path, value: value, errno: errno) }
    }

    /// Writes `contents` to a new temp file beside `path` (a per-writer name: two writers of one
    /// file must never share, and tear, a temp file), fsynced when `sync`. Returns the temp path.
    static func writeTemp(for path: String, _ contents: String, sync: Bool, unique: Bool, mode: mode_t = 0o640) throws -> String {
        let tmp = unique ? "\(path).\(getpid()).\(Clock.monotonicNanoseconds()).tmp" : "\(path).\(getpid()).tmp"
        // O_NOFOLLOW: a temp name planted as a symlink must not redirect the write.
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        if fd < 0 { throw FFRTMPError.io(path: tmp, operation: "create", errno: errno) }
        var err: Int32 = 0
        contents.utf8CString.withUnsafeBufferPointer { buf in
            var off = 0
            let total = buf.count - 1
            while off < total {
                let n = Glibc.write(fd, buf.baseAddress! + off, total - off)
                if n < 0 { if errno == EINTR { continue }; err = errno; return }
                off += n
            }
        }
        if err == 0 && sync && fsync(fd) != 0 { err = errno }
        // Keep an existing file's mode and owner (a 0600 worker.env holding a key stays 0600).
        var st = stat()
        if err == 0, stat(path, &st) == 0 {
            fchmod(fd, st.st_mode & 0o7777)
            fchown(fd, st.st_uid, st.st_gid)
        }
        close(fd)
        if err != 0 {
            unlink(tmp)
            throw FFRTMPError.io(path: path, operation: "write", errno: err)
        }
        return tmp
    }

    /// Write to a temp file, fsync, rename: readers see the old file or the new one, never half.
    public static func writeAtomically(_ path: String, _ contents: String, sync: Bool = true) throws {
        let tmp = try writeTemp(for: path, contents, sync: sync, unique: false)
        if rename(tmp, path) != 0 {
            let e = errno
            unlink(tmp)
            throw FFRTMPError.io(path: path, operation: "rename into place", errno: e)
        }
        if sync { syncDirectory(of: path) }
    }

    /// Writes a whole file under a unique temp name, fsyncs it, and links it into place only
    /// if `path` does not exist (link(2) fails with EEXIST), then fsyncs the directory.
    /// Readers never see a partial file, and an existing file is never replaced.
    public static func createAtomically(_ path: String, _ contents: String) throws -> Bool {
        let tmp = try writeTemp(for: path, contents, sync: true, unique: true)
        defer { unlink(tmp) }
        if link(tmp, path) != 0 {
            if errno == EEXIST { return false }
            throw FFRTMPError.io(path: path, operation: "link into place", errno: errno)
        }
        syncDirectory(of: path)
        return true
    }

    /// fsync of the parent directory makes a rename or link durable.
    public static func syncDirectory(of path: String) {
        let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    public static func mkdirs(_ path: String, mode: mode_t = 0o755) throws {
        if isDirectory(path) { return }
        var prefix = ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + part
            if mkdir(prefix, mode) != 0 && errno != EEXIST {
                throw FFRTMPError.io(path: prefix, operation: "create directory", errno: errno)
            }
        }
    }

    public static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Appends one line with O_APPEND, so concurrent writers never interleave within a line.
    public static func appendLine(_ path: String, _ line: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o640)
        if fd < 0 { throw FFRTMPError.io(path: path, operation: "append to", errno: errno) }
        defer { close(fd) }
        let text = line.hasSuffix("\n") ? line : line + "\n"
        let n = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        if n < 0 { throw FFRTMPError.io(path: path, operation: "append to", errno: errno) }
    }
}
