import FFRTMPCore
import Glibc

extension WorkerConfig {
    /// The job's user, looked up. Not found is an error naming the user and how to create it.
    public func resolvedJobUser() throws -> JobUser {
        let u = try JobUser.lookup(jobUser, key: "JOB_USER")
        // Group root can write what TrustedPath lets group root write... and far more: a job
        // user in it is no unprivileged user (only JOB_USER=root itself may have gid 0).
        if u.gid == 0 && !u.isRoot {
            throw FFRTMPError.invalidField(field: "JOB_USER", value: u.name, expected: "a user whose primary group is not root (gid 0)")
        }
        return u
    }

    /// The job side of this configuration: the user, the media roots, the host policy.
    public func jobMedia() throws -> JobMedia {
        JobMedia(roots: try MediaRoots(mediaRoots), network: network, user: try resolvedJobUser())
    }

    /// Everything the agent trusts must be changeable by root alone (TrustedPath), or a local
    /// user could turn the agent's root against the box: rewrite worker.env (FFMPEG_PATH=their
    /// script), swap the engines, or plant symlinks in the state dir. `shimPath`: the per-job
    /// supervisor, which runs as root. Run at start and before a reload is applied. (The key
    /// file is checked where it is read, in `load`, before it is read.)
    public func checkTrusted(configFile: String?, stateDir: String, shimPath: String?) throws {
        if let f = configFile { try TrustedPath.check(f, what: "worker.env") }
        try TrustedPath.check(stateDir, what: "the state dir")
        try TrustedPath.check(ffmpegPath, what: "FFMPEG_PATH")
        try TrustedPath.check(gstLaunchPath, what: "GST_LAUNCH_PATH")
        if let s = shimPath { try TrustedPath.check(s, what: "ffrtmp-shim") }
        // A CA others can replace lets them be the master; a client key others can read lets
        // them be this node.
        if let f = masterCAFile { try TrustedPath.check(f, what: "MASTER_CA_FILE") }
        if let f = masterClientCert { try TrustedPath.check(f, what: "MASTER_CLIENT_CERT") }
        if let f = masterClientKey {
            try TrustedPath.check(f, what: "MASTER_CLIENT_KEY")
            try TrustedPath.checkPrivate(f, what: "MASTER_CLIENT_KEY")
        }
        // A media root that holds the journal or the configuration would let a job write there;
        // one inside the journal's jobs/ or outbox/ likewise (stateDir/media, the default, is fine).
        let protected = [stateDir] + [configFile, apiKeyFile, ffmpegPath, gstLaunchPath, masterCAFile, masterClientCert, masterClientKey].compactMap { $0 }
        let roots = try MediaRoots(mediaRoots)
        if let (root, path) = roots.overlap(containing: protected, inside: [stateDir + "/jobs", stateDir + "/outbox"]) {
            throw FFRTMPError.invalidField(field: "MEDIA_ROOTS", value: root,
                                           expected: "directories apart from the agent's own files (\(path) and \(root) overlap)")
        }
    }
}
