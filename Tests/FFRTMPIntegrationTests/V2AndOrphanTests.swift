import FFRTMPCore
import Foundation
import XCTest

final class V2AndOrphanTests: IntegrationTestCase {
    var v2env: [String: String] { ["FFRTMP_CGROUP_DRIVER": "v2"] }

    func requireV2Mount() throws -> String {
        let m = try XCTUnwrap(CgroupLayout.detect().v2Mount, "skipped: no cgroup2 mount")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: m + "/cgroup.procs"), "skipped: no cgroup2 mount")
        return m
    }

    func testV2MembershipOnTheRealUnifiedMount() throws {
        _ = try requireV2Mount()
        let out = try h.ffrtmp(["run", "--job-id", "v2cat", "--", "cat", "/proc/self/cgroup"], env: v2env)
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertEqual(ProcFS.parseCgroupFile(out.stdout)[""], h.parent + "/v2cat", out.stdout)
        // Born there: clone3(CLONE_INTO_CGROUP) on the job cgroup's fd, no migration (Linux >= 5.7).
        let log = h.read(h.jobFile("v2cat", "shim.log")) ?? ""
        XCTAssertTrue(log.contains("exec succeeded (born in its cgroup by clone3 CLONE_INTO_CGROUP)"), log)
    }

    func testV2KillUsesCgroupKillAndTakesEscapedChildren() throws {
        let mount = try requireV2Mount()
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "v2esc", "--", h.testload, "escape", "60"], env: v2env).status, 0)
        var pids: [Int32] = []
        h.waitUntil(10, "both processes reported") {
            pids = (h.read(h.jobFile("v2esc", "stdout.log")) ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").last.flatMap { Int32($0) } }
            return pids.count == 2
        }
        let out = try h.ffrtmp(["kill", "v2esc", "--grace", "0.5"], env: v2env)
        XCTAssertEqual(out.status, 0, out.stderr)
        for p in pids { XCTAssertFalse(h.alive(p), "pid \(p) survived the v2 kill") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: mount + h.parent + "/v2esc"))
    }

    func testOrphansListsShimlessJobsAndAttachAdoptsThem() throws {
        let workload = try h.orphanedSleeper("orph", seconds: 60)
        let out = try h.ffrtmp(["orphans", "--json"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let jobs = try XCTUnwrap(report["jobs"] as? [[String: Any]])
        let orphan = try XCTUnwrap(jobs.first { $0["job_id"] as? String == "orph" }, out.stdout)
        XCTAssertEqual(orphan["pgid"] as? Int, Int(workload))
        // Adopt it again under a new job, then kill that job cgroup-wide.
        let attach = try h.start(["attach", "--pgid", String(workload), "--job-id", "readopt", "--cpu-percent", "20"])
        h.waitUntil(10, "re-adopted") { h.cgroupPath(workload, "cpu") == h.parent + "/readopt" }
        XCTAssertEqual(try h.ffrtmp(["kill", "readopt", "--grace", "1"]).status, 0)
        _ = try h.finish(attach)
        XCTAssertFalse(h.alive(workload))
    }

    func testOrphansListsAnUngovernedFFmpegGroup() throws {
        guard let ffmpeg = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("skipped: ffmpeg is not installed (scripts/test.sh installs it)")
        }
        let p = try h.startPlain(ffmpeg, ["-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "30", "-f", "null", "-"])
        h.waitUntil(10, "ffmpeg running") { ProcFS.stat(p.processIdentifier)?.comm == "ffmpeg" }
        let out = try h.ffrtmp(["orphans", "--json"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let groups = try XCTUnwrap(report["groups"] as? [[String: Any]])
        let g = try XCTUnwrap(groups.first { ($0["processes"] as? [[String: Any]])?.contains { $0["pid"] as? Int == Int(p.processIdentifier) } ?? false }, out.stdout)
        XCTAssertEqual(g["command"] as? String, "ffmpeg")
        // Once governed it is no longer an orphan.
        let attach = try h.start(["attach", "--pgid", String(g["pgid"] as! Int), "--job-id", "ff", "--cpu-percent", "50"])
        h.waitUntil(10, "adopted") { h.cgroupPath(p.processIdentifier, "cpu") == h.parent + "/ff" }
        let after = try h.ffrtmp(["orphans", "--json"])
        XCTAssertFalse(after.stdout.contains("\"pid\":\(p.processIdentifier),"), after.stdout)
        kill(attach.pid, SIGTERM)
        XCTAssertEqual(try h.finish(attach).status, 0)
        XCTAssertTrue(h.alive(p.processIdentifier), "detach must not stop the stream")
    }
}
