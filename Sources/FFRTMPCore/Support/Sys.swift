import CFFRTMPSys
import Glibc

// Swift-facing names for the C shims, so the rest of the core imports only this file's view.
func ffrtmpPidfdOpen(_ pid: Int32) -> Int32 { ffrtmp_pidfd_open(pid) }
func ffrtmpPidfdSendSignal(_ fd: Int32, _ sig: Int32) -> Int32 { ffrtmp_pidfd_send_signal(fd, sig) }

public enum Sys {
    /// gethostname(2), or "" when it fails.
    public static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, 255) == 0 else { return "" }
        return String(cString: buf)
    }

    /// Bytes an unprivileged writer may still use on the filesystem holding `path` (statvfs
    /// f_bavail), or nil when it cannot be asked.
    public static func freeBytes(_ path: String) -> UInt64? {
        var v = statvfs()
        guard statvfs(path, &v) == 0 else { return nil }
        return UInt64(v.f_bavail) * UInt64(v.f_frsize)
    }

    /// Waits for a pidfd to become readable (process exited). true = exited.
    public static func pidfdWait(_ fd: Int32, timeoutMs: Int32) -> Bool { ffrtmp_pidfd_wait(fd, timeoutMs) == 1 }
    public static func pidfdOpen(_ pid: Int32) -> Int32 { ffrtmp_pidfd_open(pid) }

    /// Blocks INT/TERM/HUP/QUIT process-wide; call before any thread is started.
    public static func blockControlSignals() { _ = ffrtmp_block_control_signals() }

    /// Blocks INT/TERM/HUP/QUIT and returns a signalfd that reports them.
    public static func controlSignalFD() -> Int32 { ffrtmp_signalfd_for_control_signals() }
    public static func readSignal(_ fd: Int32) -> Int32 { ffrtmp_signalfd_read(fd) }

    /// poll(2) for readability on up to 8 fds; returns which are ready.
    public static func pollReadable(_ fds: [Int32], timeoutMs: Int32) -> [Bool] {
        var ready = [Int32](repeating: 0, count: fds.count)
        _ = fds.withUnsafeBufferPointer { f in
            ready.withUnsafeMutableBufferPointer { r in
                ffrtmp_poll_readable(f.baseAddress, Int32(fds.count), r.baseAddress, timeoutMs)
            }
        }
        return ready.map { $0 != 0 }
    }

    /// The peer of a connected Unix socket (SO_PEERCRED).
    public static func peerCredentials(_ fd: Int32) -> (pid: Int32, uid: UInt32, gid: UInt32)? {
        var pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0
        return ffrtmp_peer_cred(fd, &pid, &uid, &gid) == 0 ? (pid, uid, gid) : nil
    }

    /// The peer's supplementary groups as the kernel recorded them at connect time.
    public static func peerGroups(_ fd: Int32) -> [UInt32] {
        var gids = [gid_t](repeating: 0, count: 256)
        let n = ffrtmp_peer_groups(fd, &gids, 256)
        return n > 0 ? Array(gids[0..<Int(n)]) : []
    }

    /// accept(2) with SOCK_CLOEXEC: no connection is ever inherited by a job spawned meanwhile.
    public static func acceptCloexec(_ fd: Int32) -> Int32 { ffrtmp_accept_cloexec(fd) }

    public static func pipeCloexec() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        if ffrtmp_pipe_cloexec(&fds) != 0 { throw FFRTMPError.io(path: "pipe", operation: "create", errno: errno) }
        return (fds[0], fds[1])
    }

    /// Copies of `files`' sources at fd 100 and up (CLOEXEC), so no source can be clobbered by
    /// another file's dup2 onto a low target number in the child. The caller closes them.
    static func lifted(_ files: [PassedFD]) throws -> [PassedFD] {
        var out: [PassedFD] = []
        for f in files {
            let high = fcntl(f.source, F_DUPFD_CLOEXEC, 100)
            if high < 0 {
                let e = errno
                for o in out { close(o.source) }
                throw FFRTMPError.io(path: "fd \(f.source)", operation: "duplicate for the workload", errno: e)
            }
            out.append(PassedFD(source: high, target: f.target))
        }
        return out
    }

    /// Spawns `path` as our child in its own process group, output to the given fds; as `user`
    /// (no supplementary groups, no new privileges) when set, with `files` at their targets and
    /// RLIMIT_FSIZE at `maxFileBytes`. Forks (posix_spawn cannot change the user).
    public static func spawnLogged(path: String, argv: [String], stdout: Int32, stderr: Int32, user: JobUser? = nil,
                                   files: [PassedFD] = [], maxFileBytes: UInt64? = nil) throws -> Int32 {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        let high = try lifted(files)
        defer { for f in high { close(f.source) } }
        // The program is opened before the fork, as us: the job's user needs no search right on
        // its directories, and the file checked at start is the one that runs.
        let execFD = user == nil ? -1 : open(path, O_PATH | O_CLOEXEC)
        defer { if execFD >= 0 { close(execFD) } }
        let src = high.map(\.source), dst = high.map(\.target)
        var stage: UnsafePointer<CChar>?
        let pid = src.withUnsafeBufferPointer { s in
            dst.withUnsafeBufferPointer { d in
                var plan = ffrtmp_workload_plan(as_user: user == nil ? 0 : 1, uid: user?.uid ?? 0, gid: user?.gid ?? 0,
                                                max_file_bytes: maxFileBytes ?? 0, src_fds: s.baseAddress, dst_fds: d.baseAddress,
                                                n_fds: Int32(high.count), exec_fd: execFD)
                return ffrtmp_spawn_logged(path, &cArgs, environ, stdout, stderr, &plan, &stage)
            }
        }
        if pid < 0 { throw FFRTMPError.spawnFailed(stage: stage.map { String(cString: $0) } ?? "exec", errno: -pid) }
        return pid
    }

    /// Spawns argv[0] (an absolute path) detached in a new session with stdio on /dev/null,
    /// the sync fd at 3 and `files` at their targets.
    public static func spawnDetached(path: String, argv: [String], syncFD: Int32, files: [PassedFD] = []) throws -> Int32 {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        let high = try lifted(files)
        defer { for f in high { close(f.source) } }
        let src = high.map(\.source), dst = high.map(\.target)
        let pid = src.withUnsafeBufferPointer { s in
            dst.withUnsafeBufferPointer { d in
                ffrtmp_spawn_detached(path, &cArgs, environ, syncFD, s.baseAddress, d.baseAddress, Int32(high.count))
            }
        }
        if pid < 0 { throw FFRTMPError.spawnFailed(stage: "spawn ffrtmp-shim", errno: -pid) }
        return pid
    }
}

/// open(2)'s O_PATH (a handle to a file that reads and writes nothing); Glibc's Swift module
/// does not export it without _GNU_SOURCE. The same value on every Linux architecture.
public let O_PATH: Int32 = 0o10000000
