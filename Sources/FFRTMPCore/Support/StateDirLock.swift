import Glibc

/// One agent per state dir: an exclusive flock on `STATE_DIR/agent.lock`, held for the
/// agent's life and released by the kernel when it exits, however it exits (kill -9 too).
/// A second agent on the same journal would supervise and report the same jobs twice and
/// take over the control socket; it is refused instead, naming the holder.
public final class StateDirLock: @unchecked Sendable {
    public let path: String
    let fd: Int32

    public init(stateDir: String, name: String = "agent.lock") throws {
        try FileIO.mkdirs(stateDir, mode: 0o750)
        path = stateDir + "/" + name
        guard FileIO.isRealDirectory(stateDir) || FileIO.isDirectory(stateDir) else {
            throw FFRTMPError.io(path: stateDir, operation: "use as the state dir (not a directory)", errno: ENOTDIR)
        }
        // O_CLOEXEC: shims and legacy children must never inherit (and so keep) the lock.
        // O_NOFOLLOW: a planted agent.lock -> /etc/x must not be truncated by us.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else { throw FFRTMPError.io(path: path, operation: "open", errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let err = errno
            let holder = FileIO.readIfExists(path)?.trimmingCharacters(in: "\n") ?? ""
            close(fd)
            if err == EWOULDBLOCK {
                throw FFRTMPError.stateDirBusy(path: path, holder: holder.isEmpty ? "unknown" : "pid " + holder)
            }
            throw FFRTMPError.io(path: path, operation: "lock", errno: err)
        }
        // Who holds it, for the message a second agent prints.
        _ = ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        self.fd = fd
    }

    deinit { close(fd) }
}
