import CFFRTMPSys
import Glibc

/// The one guard between a job's file names and the filesystem (CONVENTIONS: one resolver).
///
/// A job's local input or output must lie beneath one of MEDIA_ROOTS. The path is first
/// checked as text (absolute, no `..`, inside a root), then resolved component by component
/// under the root's directory fd: `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` where the
/// kernel has it (Linux 5.6+), which follows relative symlinks only while they stay beneath the
/// root; otherwise an `O_NOFOLLOW` walk that refuses every symlink. What comes back is a file
/// descriptor, not a name: the workload is handed `/proc/self/fd/N`, so a component swapped for
/// a symlink after the check changes nothing (docs/SECURITY.md, "Job files").
///
/// Nothing here reads or writes a file's contents as root. An input is opened `O_PATH`; the
/// workload reopens it through /proc with its own (JOB_USER's) permissions, so a file the job's
/// user may not read stays unread even if it was hard-linked into a root.
public struct MediaRoots: Sendable, Equatable {
    public let roots: [String]
    /// Tests set this to exercise the fallback walk on a kernel that has openat2.
    public var walkOnly = false

    public static let defaultRoots = ["/var/lib/ffrtmp/media"]

    /// `entries`: absolute directories (MEDIA_ROOTS, colon-separated in worker.env).
    public init(_ entries: [String], walkOnly: Bool = false) throws {
        var out: [String] = []
        for e in entries {
            guard e.hasPrefix("/"), !e.contains("\0") else {
                throw FFRTMPError.invalidField(field: "MEDIA_ROOTS", value: e, expected: "absolute directories separated by ':'")
            }
            let parts = e.split(separator: "/").filter { $0 != "." }
            guard !parts.contains("..") else {
                throw FFRTMPError.invalidField(field: "MEDIA_ROOTS", value: e, expected: "absolute directories without '..'")
            }
            out.append("/" + parts.joined(separator: "/"))
        }
        guard !out.isEmpty else {
            throw FFRTMPError.invalidField(field: "MEDIA_ROOTS", value: "", expected: "at least one absolute directory")
        }
        roots = out
        self.walkOnly = walkOnly
    }

    public var listed: String { roots.joined(separator: ":") }

    /// The first root that contains one of `containing` or lies inside one of `inside` (both
    /// as written and as resolved): "/" as a root, or one that holds the state dir, is caught.
    public func overlap(containing: [String], inside: [String]) -> (root: String, path: String)? {
        func forms(_ p: String) -> [String] {
            let parts = p.split(separator: "/").filter { $0 != "." }
            var out = ["/" + parts.joined(separator: "/")]
            if let r = realpath(p, nil) { out.append(String(cString: r)); free(r) }
            return out
        }
        func within(_ a: String, _ b: String) -> Bool { a == b || b == "/" || a.hasPrefix(b + "/") }
        for root in roots {
            for p in containing { for r in forms(root) { for q in forms(p) where within(q, r) { return (root, p) } } }
            for p in inside { for r in forms(root) { for q in forms(p) where within(r, q) { return (root, p) } } }
        }
        return nil
    }

    /// A resolved file, open. `fd` is O_PATH for inputs and existing outputs (the workload
    /// reopens it), O_WRONLY for an output created here, and an O_PATH directory for an image
    /// pattern's directory (the workload creates the numbered files in it).
    public struct Opened: Sendable {
        public let fd: Int32
        public let root: String
        /// Set for a pattern output: the file name (with its %d) inside the directory `fd`.
        public let patternName: String?
        /// The output did not exist and was created here (empty), owned by the job's user.
        public let created: Bool
        let dev: UInt64, ino: UInt64

        public func close() { _ = Glibc.close(fd) }
    }

    // MARK: where a path lies

    /// The root a path lies in and the path's components below it. Refuses relative paths,
    /// `..`, the root itself, and anything outside every root; `//` and `/./` are read as `/`.
    public func locate(_ path: String, field: String) throws -> (root: String, components: [String]) {
        guard path.hasPrefix("/") else { throw refused(field, path, "a local path must be absolute (under MEDIA_ROOTS=\(listed))") }
        let parts = path.split(separator: "/").filter { $0 != "." }.map(String.init)
        guard !parts.contains("..") else { throw refused(field, path, "must not contain '..'") }
        if parts.last.map({ $0.allSatisfy { $0 == "." } }) == true { throw refused(field, path, "names no file") }
        let normal = "/" + parts.joined(separator: "/")
        for root in roots {
            let rootParts = root.split(separator: "/").count
            if normal == root { throw refused(field, path, "is the media root itself, not a file in it") }
            if root == "/" || normal.hasPrefix(root + "/") { return (root, Array(parts[rootParts...])) }
        }
        throw refused(field, path, "is outside MEDIA_ROOTS (\(listed))")
    }

    // MARK: opening

    /// Runs `body` with this thread's filesystem identity switched to `user` (fsuid, fsgid, no
    /// groups): every directory on the way is searched, and a new file created, with the job
    /// user's rights, not root's. A directory the job user may not enter (another user's 0700
    /// upload dir inside a root) stays closed, as it would to the workload itself.
    func asJobUser<T>(_ user: JobUser?, _ body: () throws -> T) throws -> T {
        guard let u = user, !u.isRoot, geteuid() == 0 else { return try body() }
        var saved = [gid_t](repeating: 0, count: 256)
        var n: Int32 = 0
        if ffrtmp_fs_enter(u.uid, u.gid, &saved, Int32(saved.count), &n) != 0 {
            let e = errno
            _ = ffrtmp_fs_leave(&saved, n)
            throw FFRTMPError.io(path: "filesystem identity", operation: "switch to \(u.name)", errno: e)
        }
        let result = Result { try body() }
        if ffrtmp_fs_leave(&saved, n) != 0 {
            throw FFRTMPError.io(path: "filesystem identity", operation: "switch back from \(u.name)", errno: errno)
        }
        return try result.get()
    }

    // The root itself is opened as the agent: its path is the operator's (worker.env) and may
    // pass directories the job user cannot enter. Everything beneath it is the job user's.
    public func openInput(_ path: String, field: String, user: JobUser?) throws -> Opened {
        let (root, comps) = try locate(path, field: field)
        let rootFD = try openRoot(root)
        defer { Glibc.close(rootFD) }
        return try asJobUser(user) { try openInput(rootFD, root, comps, path: path, field: field, user: user) }
    }

    public func openOutput(_ path: String, field: String, user: JobUser?, pattern: Bool) throws -> Opened {
        let (root, comps) = try locate(path, field: field)
        let rootFD = try openRoot(root)
        defer { Glibc.close(rootFD) }
        return try asJobUser(user) { try openOutput(rootFD, root, comps, path: path, field: field, user: user, pattern: pattern) }
    }

    func openInput(_ rootFD: Int32, _ root: String, _ comps: [String], path: String, field: String, user: JobUser?) throws -> Opened {
        let fd: Int32
        if let viaOpenat2 = try beneath(rootFD, comps.joined(separator: "/"), flags: O_PATH, field: field, path: path, root: root) {
            fd = viaOpenat2
        } else {
            let dir = try walk(rootFD, Array(comps.dropLast()), field: field, path: path, root: root)
            defer { Glibc.close(dir) }
            fd = openat(dir, comps.last!, O_PATH | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 { throw missing(field, path, errno) }
        }
        do {
            let st = try fileStat(fd, path)
            if (st.st_mode & S_IFMT) == S_IFLNK { throw refused(field, path, "is a symlink (this kernel has no openat2, so no symlink is followed)") }
            try requireRegular(st, field: field, path: path)
            try requireOwnLinks(st, user: user, field: field, path: path)
            return Opened(fd: fd, root: root, patternName: nil, created: false, dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// `pattern`: the name is an image sequence (`%d`), written as many files in its directory.
    func openOutput(_ rootFD: Int32, _ root: String, _ comps: [String], path: String, field: String, user: JobUser?,
                    pattern: Bool) throws -> Opened {
        let name = comps.last!
        let dir = try parentDirectory(rootFD, root, comps, field: field, path: path)
        var keepDir = false
        defer { if !keepDir { Glibc.close(dir) } }
        if pattern {
            // The workload creates these files by name, so nobody but root and the job's user
            // may be able to plant a symlink among them.
            let st = try fileStat(dir, path)
            let allowed: Set<UInt32> = [0, user?.uid ?? 0]
            guard allowed.contains(st.st_uid), st.st_mode & 0o022 == 0 else {
                throw refused(field, path, "an image-sequence output needs a directory only root and \(user?.name ?? "root") can write (this one: owner uid \(st.st_uid), mode \(String(st.st_mode & 0o7777, radix: 8)))")
            }
            keepDir = true
            return Opened(fd: dir, root: root, patternName: name, created: false, dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        }
        let existing = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
        if existing >= 0 {
            do {
                let st = try fileStat(existing, path)
                if (st.st_mode & S_IFMT) == S_IFLNK { throw refused(field, path, "is a symlink; outputs are never written through one") }
                try requireRegular(st, field: field, path: path)
                try requireOwnLinks(st, user: user, field: field, path: path)
                if let u = user, !u.isRoot, !Self.writable(st, by: u) {
                    throw refused(field, path, "exists and \(u.name) may not write it (owner uid \(st.st_uid), mode \(String(st.st_mode & 0o7777, radix: 8)))")
                }
                return Opened(fd: existing, root: root, patternName: nil, created: false, dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
            } catch {
                Glibc.close(existing)
                throw error
            }
        }
        guard errno == ENOENT else { throw missing(field, path, errno) }
        // O_EXCL: never follows a symlink and never opens a file someone created meanwhile.
        let fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        if fd < 0 {
            if errno == EEXIST { throw refused(field, path, "appeared while it was being created; try again") }
            throw missing(field, path, errno)
        }
        // Created under the job user's filesystem identity (asJobUser), so it is already theirs;
        // fchown only matters when the agent is not root (then it is the agent's own).
        if let u = user, geteuid() != 0, fchown(fd, u.uid, u.gid) != 0 {
            let e = errno
            unlinkat(dir, name, 0)
            Glibc.close(fd)
            throw FFRTMPError.io(path: path, operation: "hand to \(u.name)", errno: e)
        }
        let st = try fileStat(fd, path)
        return Opened(fd: fd, root: root, patternName: nil, created: true, dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
    }

    /// Removes an output this resolver created for a job that then never started, if it is
    /// still the same, empty file.
    public func discard(_ o: Opened, path: String, field: String) {
        guard o.created, let (root, comps) = try? locate(path, field: field), root == o.root else { return }
        var st = stat()
        guard fstat(o.fd, &st) == 0, st.st_size == 0, st.st_nlink == 1 else { return }
        guard let rootFD = try? openRoot(root) else { return }
        defer { Glibc.close(rootFD) }
        guard let dir = try? parentDirectory(rootFD, root, comps, field: field, path: path) else { return }
        defer { Glibc.close(dir) }
        var now = stat()
        if fstatat(dir, comps.last!, &now, AT_SYMLINK_NOFOLLOW) == 0, UInt64(now.st_dev) == o.dev, UInt64(now.st_ino) == o.ino {
            unlinkat(dir, comps.last!, 0)
        }
    }

    // MARK: steps

    func openRoot(_ root: String) throws -> Int32 {
        // The root itself is the operator's (worker.env is root's): a symlink there is followed.
        let fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw FFRTMPError.io(path: root, operation: "open media root (MEDIA_ROOTS)", errno: errno) }
        return fd
    }

    /// The directory that holds the last component, resolved beneath the root like any path
    /// (openat2, or the walk): the one way outputs and their clean-up reach their directory.
    func parentDirectory(_ rootFD: Int32, _ root: String, _ comps: [String], field: String, path: String) throws -> Int32 {
        let parent = Array(comps.dropLast())
        if parent.isEmpty {
            let dir = fcntl(rootFD, F_DUPFD_CLOEXEC, 0)
            if dir < 0 { throw FFRTMPError.io(path: root, operation: "dup", errno: errno) }
            return dir
        }
        if let d = try beneath(rootFD, parent.joined(separator: "/"), flags: O_PATH | O_DIRECTORY, field: field, path: path, root: root) { return d }
        return try walk(rootFD, parent, field: field, path: path, root: root)
    }

    /// openat2 under the root; nil when this kernel has no openat2 (or `walkOnly`).
    func beneath(_ rootFD: Int32, _ rel: String, flags: Int32, field: String, path: String, root: String) throws -> Int32? {
        if walkOnly { return nil }
        let fd = ffrtmp_openat2_beneath(rootFD, rel, flags | O_CLOEXEC, 0)
        if fd >= 0 { return fd }
        switch -fd {
        case ENOSYS: return nil
        case EXDEV: throw refused(field, path, "a symlink in it leads out of the media root \(root)")
        case ELOOP: throw refused(field, path, "it goes through a /proc magic link or too many symlinks")
        default: throw missing(field, path, -fd)
        }
    }

    /// The O_NOFOLLOW walk: every directory component opened relative to the last, and any
    /// symlink refused (without openat2 there is no safe way to follow one).
    func walk(_ rootFD: Int32, _ comps: [String], field: String, path: String, root: String) throws -> Int32 {
        var cur = fcntl(rootFD, F_DUPFD_CLOEXEC, 0)
        if cur < 0 { throw FFRTMPError.io(path: root, operation: "dup", errno: errno) }
        var walked = root
        for c in comps {
            walked += "/" + c
            let next = openat(cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC)
            let err = errno
            Glibc.close(cur)
            if next < 0 { throw missing(field, path, err) }
            var st = stat()
            guard fstat(next, &st) == 0 else { Glibc.close(next); throw missing(field, path, errno) }
            if (st.st_mode & S_IFMT) == S_IFLNK {
                Glibc.close(next)
                throw refused(field, path, "\(walked) is a symlink (this kernel has no openat2, so no symlink is followed)")
            }
            if (st.st_mode & S_IFMT) != S_IFDIR { Glibc.close(next); throw refused(field, path, "\(walked) is not a directory") }
            cur = next
        }
        return cur
    }

    func fileStat(_ fd: Int32, _ path: String) throws -> stat {
        var st = stat()
        if fstat(fd, &st) != 0 { throw FFRTMPError.io(path: path, operation: "stat", errno: errno) }
        return st
    }

    func requireRegular(_ st: stat, field: String, path: String) throws {
        switch st.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFIFO: throw refused(field, path, "is a FIFO; media files must be regular files")
        case S_IFCHR, S_IFBLK: throw refused(field, path, "is a device node; media files must be regular files")
        case S_IFSOCK: throw refused(field, path, "is a socket; media files must be regular files")
        case S_IFDIR: throw refused(field, path, "is a directory")
        default: throw refused(field, path, "is not a regular file")
        }
    }

    /// A hard link is a second name for a file that may live outside the roots (/etc/shadow
    /// linked into the drop directory): only the job user's own files may have more than one.
    func requireOwnLinks(_ st: stat, user: JobUser?, field: String, path: String) throws {
        // For a root job user every file would count as its own: then no hard link passes.
        guard st.st_nlink > 1, user?.isRoot == true || user == nil || st.st_uid != user!.uid else { return }
        throw refused(field, path, "has \(st.st_nlink) hard links and belongs to uid \(st.st_uid), not \(user?.name ?? "root"): a hard link can name a file outside the media roots")
    }

    static func writable(_ st: stat, by u: JobUser) -> Bool {
        if st.st_uid == u.uid { return st.st_mode & 0o200 != 0 }
        if st.st_gid == u.gid { return st.st_mode & 0o020 != 0 }
        return st.st_mode & 0o002 != 0
    }

    func refused(_ field: String, _ path: String, _ reason: String) -> FFRTMPError {
        .pathRefused(field: field, path: path, reason: reason)
    }

    func missing(_ field: String, _ path: String, _ err: Int32) -> FFRTMPError {
        switch err {
        case ENOENT: return refused(field, path, "does not exist")
        case ENOTDIR: return refused(field, path, "a component on the way is not a directory")
        case EACCES: return refused(field, path, "permission denied")
        default: return .io(path: path, operation: "open under its media root", errno: err)
        }
    }
}
