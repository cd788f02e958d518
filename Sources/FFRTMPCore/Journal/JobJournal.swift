import FoundationEssentials
import Glibc

/// The job journal in the state dir: one directory per job holding its spec, the
/// supervisor's and workload's identities, logs, and the exit record. The journal,
/// not any process's memory, is the source of truth, so every front end can die.
public struct JobJournal: Sendable {
    public let stateDir: String
    public var jobsDir: String { stateDir + "/jobs" }

    public init(stateDir: String) {
        self.stateDir = stateDir
    }

    /// Flag > FFRTMP_STATE_DIR > /var/lib/ffrtmp (root) > $XDG_STATE_HOME/ffrtmp > ~/.local/state/ffrtmp.
    public static func defaultStateDir(flag: String?, environment: [String: String]) -> String {
        if let f = flag, !f.isEmpty { return f }
        if let e = environment["FFRTMP_STATE_DIR"], !e.isEmpty { return e }
        if geteuid() == 0 { return "/var/lib/ffrtmp" }
        if let x = environment["XDG_STATE_HOME"], !x.isEmpty { return x + "/ffrtmp" }
        return (environment["HOME"] ?? "/tmp") + "/.local/state/ffrtmp"
    }

    public func dir(_ id: JobID) -> String { jobsDir + "/" + id.value }
    public func file(_ id: JobID, _ name: String) -> String { dir(id) + "/" + name }

    /// Creates jobs/<id>/ and its spec. Fails if the id is taken: ids are never reused,
    /// so an exit record can never be attributed to the wrong job.
    public func create(_ spec: JobSpec) throws {
        try claim(spec.jobID)
        do { try writeSpec(spec) } catch {
            abandon(spec.jobID)
            throw error
        }
    }

    /// Takes the id: mkdir of jobs/<id>/ succeeds for exactly one caller.
    public func claim(_ id: JobID) throws {
        try FileIO.mkdirs(jobsDir, mode: 0o750)
        // A jobs/ that is a symlink would put every job's files wherever it points.
        guard FileIO.isRealDirectory(jobsDir) else {
            throw FFRTMPError.corruptJournal(path: jobsDir, detail: "is not a directory (a symlink?); refusing to write jobs through it")
        }
        if mkdir(dir(id), 0o750) != 0 {
            if errno == EEXIST { throw FFRTMPError.jobAlreadyExists(id: id.value) }
            throw FFRTMPError.io(path: dir(id), operation: "create directory", errno: errno)
        }
    }

    /// Removes a job directory that never got a workload (a launch or an adoption that failed
    /// before anything ran), so it does not linger as a `lost` job.
    public func abandon(_ id: JobID) {
        for f in FileIO.listDirectory(dir(id)) { unlink(file(id, f)) }
        rmdir(dir(id))
    }

    /// Creates a new, empty file in the job's dir (never through a symlink, never an existing
    /// one) and returns it open for appending.
    public func createJobFile(_ id: JobID, _ name: String) throws -> Int32 {
        let fd = open(file(id, name), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o640)
        if fd < 0 { throw FFRTMPError.io(path: file(id, name), operation: "create", errno: errno) }
        return fd
    }

    public func writeSpec(_ spec: JobSpec) throws {
        try FileIO.writeAtomically(file(spec.jobID, "spec.json"), try Self.encode(spec), sync: false)
    }

    public func spec(_ id: JobID) throws -> JobSpec {
        let path = file(id, "spec.json")
        guard FileIO.exists(dir(id)) else { throw FFRTMPError.jobNotFound(id: id.value) }
        guard FileIO.isRealDirectory(dir(id)), FileIO.isRealDirectory(jobsDir) else {
            throw FFRTMPError.corruptJournal(path: dir(id), detail: "is a symlink, not a job directory; refused")
        }
        return try Self.decode(JobSpec.self, try FileIO.read(path, noFollow: true), path: path)
    }

    /// nil while the job has not ended (or its supervisor died without writing one).
    public func exitRecord(_ id: JobID) throws -> ExitRecord? {
        let path = file(id, "exit.json")
        guard let text = FileIO.readIfExists(path, noFollow: true) else { return nil }
        let rec = try Self.decode(ExitRecord.self, text, path: path)
        // A newer format may mean something this build would misread: refuse rather than guess.
        guard rec.version >= 1 && rec.version <= ExitRecord.currentVersion else {
            throw FFRTMPError.corruptJournal(path: path, detail: "exit record version \(rec.version); this ffrtmp reads version \(ExitRecord.currentVersion)")
        }
        return rec
    }

    /// Writes the exit record unless one exists: the first writer (the shim, the attach watcher,
    /// or `kill` for a supervisor-less job) wins, and a record is never replaced. Returns false
    /// when another writer got there first.
    @discardableResult
    public func writeExitRecord(_ id: JobID, _ record: ExitRecord) throws -> Bool {
        try FileIO.createAtomically(file(id, "exit.json"), try Self.encode(record) + "\n")
    }

    /// The supervisor: ffrtmp-shim (run) or the attach watcher. "PID STARTTIME".
    public func supervisor(_ id: JobID) -> ProcessIdentity? {
        guard let t = FileIO.readIfExists(file(id, "shim.pid"), noFollow: true), let w = WorkloadPID.parse(t) else { return nil }
        return w.identity
    }

    public func workload(_ id: JobID) -> WorkloadPID? {
        FileIO.readIfExists(file(id, "workload.pid"), noFollow: true).flatMap(WorkloadPID.parse)
    }

    public func writeSupervisor(_ id: JobID, _ p: ProcessIdentity) throws {
        try FileIO.writeAtomically(file(id, "shim.pid"), "\(p.pid) \(p.startTime)\n", sync: false)
    }

    public func writeWorkload(_ id: JobID, _ w: WorkloadPID) throws {
        try FileIO.writeAtomically(file(id, "workload.pid"), "\(w.identity.pid) \(w.identity.startTime) \(w.pgid)\n", sync: false)
    }

    /// Written before any signal, so the exit record can say who killed the job.
    public func writeKillRequest(_ id: JobID, by who: String) throws {
        try FileIO.writeAtomically(file(id, "kill-request"), who + "\n", sync: true)
    }

    /// Seconds since the kill request was written (its mtime): a kill's grace period is
    /// counted from there, across agent restarts.
    public func killRequestAge(_ id: JobID) -> Double? {
        var st = stat()
        guard lstat(file(id, "kill-request"), &st) == 0 else { return nil }
        let written = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        return max(0, Double(Clock.realtimeNanoseconds()) / 1e9 - written)
    }

    public func killRequest(_ id: JobID) -> String? {
        FileIO.readIfExists(file(id, "kill-request"), noFollow: true).map { $0.trimmingCharacters(in: "\n") }
    }

    /// Every job id in the journal, oldest first. Directories that are not valid ids are skipped.
    /// The order costs a read of every spec.json: callers that poll use `listedJobIDs`.
    public func jobIDs() -> [JobID] {
        let ids = listedJobIDs()
        let created = Dictionary(uniqueKeysWithValues: ids.map { ($0, (try? spec($0).createdAtUnixNs) ?? 0) })
        return ids.sorted { (created[$0]!, $0.value) < (created[$1]!, $1.value) }
    }

    /// Every job id in the journal, in directory order: one readdir, no file read.
    public func listedJobIDs() -> [JobID] {
        FileIO.listDirectory(jobsDir).compactMap { try? JobID($0) }
    }

    static func encode<T: Encodable>(_ v: T) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(v), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ t: T.Type, _ text: String, path: String) throws -> T {
        do {
            return try JSONDecoder().decode(t, from: Data(text.utf8))
        } catch {
            let detail = text.isEmpty ? "empty file" : "\(error)".prefix(200)
            throw FFRTMPError.corruptJournal(path: path, detail: String(detail))
        }
    }
}
