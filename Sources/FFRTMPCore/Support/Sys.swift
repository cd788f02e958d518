import CFFRTMPSys
import Glibc

// Swift-facing names for the C shims, so the rest of the core imports only this file's view.
func ffrtmpPidfdOpen(_ pid: Int32) -> Int32 { ffrtmp_pidfd_open(pid) }
func ffrtmpPidfdSendSignal(_ fd: Int32, _ sig: Int32) -> Int32 { ffrtmp_pidfd_send_signal(fd, sig) }

public enum Sys {
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

    public static func pipeCloexec() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        if ffrtmp_pipe_cloexec(&fds) != 0 { throw FFRTMPError.io(path: "pipe", operation: "create", errno: errno) }
        return (fds[0], fds[1])
    }

    /// Spawns `path` as our child in its own process group, output to the given fds.
    public static func spawnLogged(path: String, argv: [String], stdout: Int32, stderr: Int32) throws -> Int32 {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        let pid = ffrtmp_spawn_logged(path, &cArgs, environ, stdout, stderr)
        if pid < 0 { throw FFRTMPError.spawnFailed(stage: "exec", errno: -pid) }
        return pid
    }

    /// Spawns argv[0] (an absolute path) detached in a new session with stdio on /dev/null.
    public static func spawnDetached(path: String, argv: [String], syncFD: Int32) throws -> Int32 {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        let pid = ffrtmp_spawn_detached(path, &cArgs, environ, syncFD)
        if pid < 0 { throw FFRTMPError.spawnFailed(stage: "spawn ffrtmp-shim", errno: -pid) }
        return pid
    }
}
