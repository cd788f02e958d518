import Glibc

/// Looks at every job in the journal, cheaply enough for loops that do it every second (the
/// agent's survey, the console): a job is read in full once, then refreshed (only what can
/// change, `JobInspector.refresh`), and once it has a readable exit record it is final and
/// not read again. A directory whose spec.json is not written yet and that is younger than the
/// start grace is a job being launched, not an unreadable one: it is left out until it is.
public final class JournalWatch: @unchecked Sendable {
    public let inspector: JobInspector
    var final: [JobID: JobStatus] = [:]
    var live: [JobID: JobStatus] = [:]

    public init(inspector: JobInspector) {
        self.inspector = inspector
    }

    public struct Seen: Sendable {
        public var id: JobID
        public var status: Result<JobStatus, FFRTMPError>
        /// Read in this poll; false for a final status kept from an earlier one.
        public var fresh: Bool
    }

    public func poll() -> [Seen] {
        let journal = inspector.journal
        let now = Clock.realtimeNanoseconds()
        var out: [Seen] = []
        var present = Set<JobID>()
        for id in journal.listedJobIDs() {
            present.insert(id)
            if let st = final[id] {
                out.append(Seen(id: id, status: .success(st), fresh: false))
                continue
            }
            let st: JobStatus
            if let prev = live[id] {
                st = inspector.refresh(prev, withUsage: false)
            } else {
                do {
                    st = try inspector.status(id, withUsage: false)
                } catch {
                    if !FileIO.exists(journal.file(id, "spec.json")), Self.ageNs(journal.dir(id), now: now) < inspector.startGraceNs { continue }
                    let e = error as? FFRTMPError ?? .corruptJournal(path: journal.dir(id), detail: "\(error)")
                    out.append(Seen(id: id, status: .failure(e), fresh: true))
                    continue
                }
            }
            if st.exit != nil && st.journalError == nil {
                final[id] = st
                live[id] = nil
            } else {
                live[id] = st
            }
            out.append(Seen(id: id, status: .success(st), fresh: true))
        }
        // Job directories removed by the operator leave the caches too.
        if final.count + live.count > present.count {
            final = final.filter { present.contains($0.key) }
            live = live.filter { present.contains($0.key) }
        }
        return out
    }

    static func ageNs(_ dir: String, now: Int64) -> Int64 {
        var st = stat()
        guard stat(dir, &st) == 0 else { return .max }
        return now &- (Int64(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(st.st_mtim.tv_nsec))
    }
}
