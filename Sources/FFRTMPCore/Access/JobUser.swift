import Glibc

/// The unprivileged user a workload runs as: JOB_USER for the agent's jobs, `--user` for
/// `ffrtmp run`. The shim (or the legacy spawn) switches to uid and gid with no supplementary
/// groups and PR_SET_NO_NEW_PRIVS after the workload has joined its cgroups, before execve.
public struct JobUser: Codable, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32

    public init(name: String, uid: UInt32, gid: UInt32) {
        self.name = name
        self.uid = uid
        self.gid = gid
    }

    public var isRoot: Bool { uid == 0 }
    public var description: String { "\(name) (uid \(uid), gid \(gid))" }
    /// The shim's `--user` value: numeric, because the static shim has no NSS to resolve names.
    public var shimArgument: String { "\(uid):\(gid)" }

    /// Looks `name` up in the user database (NSS). `key` names the setting it came from, for
    /// the error: a missing user is never silently replaced by root.
    public static func lookup(_ name: String, key: String = "JOB_USER") throws -> JobUser {
        guard !name.isEmpty, name.utf8.count <= 32, !name.contains("\0") else {
            throw FFRTMPError.invalidField(field: key, value: name, expected: "a user name (1-32 bytes)")
        }
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buf = [CChar](repeating: 0, count: 16384)
        let rc = getpwnam_r(name, &pw, &buf, buf.count, &result)
        guard rc == 0, result != nil else { throw FFRTMPError.jobUserMissing(name: name, key: key) }
        return JobUser(name: name, uid: pw.pw_uid, gid: pw.pw_gid)
    }
}
