import FFRTMPCore
import Glibc

/// Tells the collector when a job's limits may have changed, so a refresh re-reads the limit
/// files only then instead of every second for every job. A cgroup limit changes only by a
/// write(2) to its file, and every successful write raises an inotify IN_MODIFY on it (the
/// VFS does this for every filesystem, cgroupfs included), whoever writes and through
/// whichever mount. A job whose files cannot be watched is reported dirty every time, so
/// its limits are read every refresh as before: never a stale figure.
/// (Written here, not taken from a package: inotify is three syscalls and no Swift package we
/// use wraps it.)
final class LimitWatch {
    let fd: Int32
    var jobByWD: [Int32: JobID] = [:]
    var wdsByJob: [JobID: [Int32]] = [:]
    var unwatchable: Set<JobID> = []
    var dirty: Set<JobID> = []

    init() {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Starts watching `files` for job `id` (once); false when that is not possible.
    @discardableResult
    func watch(_ id: JobID, files: [String]) -> Bool {
        if wdsByJob[id] != nil { return true }
        if unwatchable.contains(id) { return false }
        guard fd >= 0, !files.isEmpty else { unwatchable.insert(id); return false }
        var wds: [Int32] = []
        for f in files {
            let wd = inotify_add_watch(fd, f, UInt32(IN_MODIFY))
            guard wd >= 0 else {
                for w in wds { inotify_rm_watch(fd, w); jobByWD[w] = nil }
                unwatchable.insert(id)
                return false
            }
            wds.append(wd)
            jobByWD[wd] = id
        }
        wdsByJob[id] = wds
        return true
    }

    /// Reads every pending event and marks the jobs whose limit files were written.
    func drain() {
        guard fd >= 0 else { return }
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            var off = 0
            let header = MemoryLayout<inotify_event>.size
            while off + header <= n {
                let (wd, mask, len) = buf.withUnsafeBytes { raw -> (Int32, UInt32, UInt32) in
                    let e = raw.loadUnaligned(fromByteOffset: off, as: inotify_event.self)
                    return (e.wd, e.mask, e.len)
                }
                if let id = jobByWD[wd] {
                    dirty.insert(id)
                    // IN_IGNORED: the file is gone (the cgroup was removed); watch again if it comes back.
                    if mask & UInt32(IN_IGNORED) != 0 { forget(id) }
                }
                off += header + Int(len)
            }
        }
    }

    /// Whether job `id`'s limits must be read now; clears the mark.
    func takeDirty(_ id: JobID) -> Bool {
        if unwatchable.contains(id) { return true }
        return dirty.remove(id) != nil
    }

    func forget(_ id: JobID) {
        for w in wdsByJob[id] ?? [] {
            inotify_rm_watch(fd, w)
            jobByWD[w] = nil
        }
        wdsByJob[id] = nil
        unwatchable.remove(id)
    }

    var watchedJobs: Int { wdsByJob.count }
}
