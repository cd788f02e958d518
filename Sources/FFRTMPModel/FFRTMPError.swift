import Glibc

/// Every error the governance core raises. Each case names what was wrong
/// (the field, the path, the value) so an operator can act on the message alone.
public enum FFRTMPError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A user-supplied value was rejected; `field` is the flag or JSON field name.
    case invalidField(field: String, value: String, expected: String)
    /// A cgroup file could not be written (path, value, errno).
    case cgroupWrite(path: String, value: String, errno: Int32)
    /// A cgroup directory could not be created or removed.
    case cgroupDirectory(path: String, operation: String, errno: Int32)
    /// A controller the constraints need is not mounted or not enabled.
    case controllerMissing(controller: String, needed: String)
    /// Cgroups cannot be used at all (not root, no delegation, forced off).
    case governanceUnavailable(reason: String)
    /// A file in the state dir or procfs could not be read or written.
    case io(path: String, operation: String, errno: Int32)
    /// A journal file exists but does not parse.
    case corruptJournal(path: String, detail: String)
    case jobNotFound(id: String)
    case jobAlreadyExists(id: String)
    case processNotFound(pid: Int32)
    /// The pid exists but is a different process than the one we know (pid reuse).
    case identityMismatch(pid: Int32, expectedStartTime: UInt64, actualStartTime: UInt64)
    case spawnFailed(stage: String, errno: Int32)
    case shimNotFound(searched: [String])
    /// Another process (an agent) holds the state dir's lock.
    case stateDirBusy(path: String, holder: String)
    /// A companion program (e.g. ffrtmp-console) is not installed beside ffrtmp.
    case programNotFound(program: String, searched: [String])
    /// A job's file was refused by the media-root resolver: `field` is the job field, `reason`
    /// says why (outside every root, a symlink leading out, a FIFO...). The job's fault.
    case pathRefused(field: String, path: String, reason: String)
    /// The user jobs run as (JOB_USER or --user) does not exist on this box.
    case jobUserMissing(name: String, key: String)
    /// A file or directory the agent trusts (its configuration, key, state dir, engines) can be
    /// changed by someone other than root: `culprit` is the path that is too open.
    case untrustedPath(what: String, path: String, culprit: String, owner: UInt32, mode: UInt32, why: String)

    public var description: String {
        switch self {
        case let .invalidField(field, value, expected):
            return "invalid \(field) \(quote(value)): expected \(expected)"
        case let .cgroupWrite(path, value, err):
            var hint = ""
            // EBUSY on a memory limit: usage is already above the new limit (kernel keeps it).
            if err == EBUSY && path.hasSuffix("limit_in_bytes") { hint = " (current usage is above the new limit)" }
            if err == ENOENT { hint = " (controller file not present: controller not enabled for this cgroup?)" }
            return "cannot write \(quote(value)) to \(path): \(errnoText(err))\(hint)"
        case let .cgroupDirectory(path, op, err):
            return "cannot \(op) cgroup \(path): \(errnoText(err))"
        case let .controllerMissing(controller, needed):
            return "cgroup controller \(controller) is not available, but \(needed) needs it"
        case let .governanceUnavailable(reason):
            return "cgroup governance unavailable: \(reason)"
        case let .io(path, op, err):
            return "cannot \(op) \(path): \(errnoText(err))"
        case let .corruptJournal(path, detail):
            return "journal file \(path) is corrupt: \(detail)"
        case let .jobNotFound(id):
            return "no job \(quote(id)) in the journal"
        case let .jobAlreadyExists(id):
            return "job id \(quote(id)) already exists in the journal; pick another --job-id"
        case let .processNotFound(pid):
            return "no running process with pid \(pid)"
        case let .identityMismatch(pid, expected, actual):
            return "pid \(pid) now belongs to a different process (start time \(actual), expected \(expected)): refusing to touch it"
        case let .spawnFailed(stage, err):
            return "could not start the job (\(stage)): \(errnoText(err))"
        case let .shimNotFound(searched):
            return "ffrtmp-shim not found (looked in \(searched.joined(separator: ", "))); set FFRTMP_SHIM to its path"
        case let .stateDirBusy(path, holder):
            return "another ffrtmp agent (\(holder)) is running on this state dir (it holds \(path)); one agent per state dir"
        case let .programNotFound(program, searched):
            return "\(program) not found (looked in \(searched.joined(separator: ", "))); is ffrtmp fully installed?"
        case let .pathRefused(field, path, reason):
            return "\(field) \(quote(path)) refused: \(reason)"
        case let .jobUserMissing(name, key):
            return "\(key)=\(name): no such user on this box; create it (useradd --system --no-create-home --shell /usr/sbin/nologin \(name), as install-edge.sh does) or set \(key) to an existing unprivileged user"
        case let .untrustedPath(what, path, culprit, owner, mode, why):
            let at = culprit == path ? "" : " (at \(culprit))"
            return "\(what) \(path) is not safe\(at): owner uid \(owner), mode \(String(mode & 0o7777, radix: 8)): \(why); only root may be able to change it (chown root and chmod go-w)"
        }
    }
}

func quote(_ s: String) -> String {
    let clipped = s.count > 80 ? String(s.prefix(80)) + "…" : s
    var out = "\""
    for u in clipped.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where u.value < 0x20 || u.value == 0x7f: out += "\\u{\(String(u.value, radix: 16))}"
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

public func errnoText(_ err: Int32) -> String {
    String(cString: strerror(err))
}
