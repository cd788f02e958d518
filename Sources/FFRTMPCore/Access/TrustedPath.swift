import CFFRTMPSys
import Glibc

/// "Only root can change this": the check the agent runs on what it trusts before it starts
/// and on every reload: worker.env, the API key file, the state dir, the engines it execs as
/// the job's user, and the shim it runs as root. Modelled on sshd's StrictModes.
///
/// A path passes when the file (if it exists) and every directory above it are owned by root
/// (or by the agent's own user) and writable by no one else: no write bit for group or others,
/// and no POSIX ACL (an ACL can grant any user write access the mode bits do not show; `ls`
/// shows it only as a "+"). A sticky directory (/tmp) is the exception for an
/// entry whose owner passes, since nobody else can rename or remove that entry. Symlinks are
/// checked on both sides: the directories that hold them, and everything on the way to
/// their target (realpath).
public enum TrustedPath {
    static var allowedOwners: Set<UInt32> { [0, geteuid()] }

    public static func check(_ path: String, what: String) throws {
        guard path.hasPrefix("/") else {
            throw FFRTMPError.invalidField(field: what, value: path, expected: "an absolute path")
        }
        try checkChain(path, what: what, original: path)
        if let real = resolved(path), real != path { try checkChain(real, what: what, original: path) }
    }

    /// A secret (a private key): besides `check`, readable by its owner alone, like ssh's
    /// private keys (chmod 600). A missing file is left to whoever reads it.
    public static func checkPrivate(_ path: String, what: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        if st.st_mode & 0o077 != 0 {
            throw FFRTMPError.invalidField(field: what, value: path,
                                           expected: "a key readable by its owner alone (mode is \(String(st.st_mode & 0o7777, radix: 8)); chmod 600 it)")
        }
    }

    /// realpath of the path, or of its nearest existing parent plus the rest.
    static func resolved(_ path: String) -> String? {
        if let r = realpath(path, nil) {
            defer { free(r) }
            return String(cString: r)
        }
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return nil }
        let parent = String(path[..<slash])
        return resolved(parent).map { $0 + path[slash...] }
    }

    static func checkChain(_ path: String, what: String, original: String) throws {
        let parts = path.split(separator: "/").map(String.init)
        var prefixes = ["/"]
        for p in parts { prefixes.append((prefixes.last == "/" ? "" : prefixes.last!) + "/" + p) }
        for (i, p) in prefixes.enumerated() {
            var st = stat()
            if lstat(p, &st) != 0 {
                if errno == ENOENT { return }  // nothing further down exists; what does is checked
                throw FFRTMPError.io(path: p, operation: "check ownership of", errno: errno)
            }
            // A symlink's own mode means nothing; what it points to is checked by the realpath pass.
            if (st.st_mode & S_IFMT) == S_IFLNK { continue }
            let isLast = i == prefixes.count - 1
            guard allowedOwners.contains(st.st_uid) else {
                throw FFRTMPError.untrustedPath(what: what, path: original, culprit: p, owner: st.st_uid, mode: st.st_mode,
                                                why: "owned by uid \(st.st_uid), not root (or the agent's own user)")
            }
            if ffrtmp_acl_size(p) > 0 {
                throw FFRTMPError.untrustedPath(what: what, path: original, culprit: p, owner: st.st_uid, mode: st.st_mode,
                                                why: "it has a POSIX ACL (getfacl shows who else may write it; setfacl -b removes it)")
            }
            let othersWrite = st.st_mode & 0o022 != 0
            guard othersWrite else { continue }
            if !isLast, (st.st_mode & S_IFMT) == S_IFDIR, st.st_mode & UInt32(S_ISVTX) != 0 {
                var child = stat()
                if lstat(prefixes[i + 1], &child) == 0, allowedOwners.contains(child.st_uid) { continue }
            }
            throw FFRTMPError.untrustedPath(what: what, path: original, culprit: p, owner: st.st_uid, mode: st.st_mode,
                                            why: st.st_mode & 0o002 != 0 ? "writable by every user" : "writable by group \(st.st_gid)")
        }
    }
}
