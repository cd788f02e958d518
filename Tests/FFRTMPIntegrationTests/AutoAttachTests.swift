import FFRTMPAgent
import FFRTMPCore
import Foundation
import XCTest

/// Auto-attach's verdicts on a real process group, condition by condition, and the checks that
/// guard its move (the end-to-end run against an agent is scripts/test_auto_attach.sh).
final class AutoAttachTests: IntegrationTestCase {
    /// A testload leading a process group of its own (Foundation's Process starts each child in
    /// a session of its own; checked below), with comm "ffrtmp-testload", or `as` when it is run
    /// through a symlink of that name (comm is the name it was exec'ed by).
    private func group(as name: String = "ffrtmp-testload") throws -> (pgid: Int32, start: UInt64) {
        var path = h.testload
        if name != "ffrtmp-testload" {
            path = h.stateDir + "/" + name
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: h.testload)
        }
        let p = try h.startPlain(path, ["sleep", "60"])
        let pid = p.processIdentifier
        var st: ProcStat?
        XCTAssertTrue(h.waitUntil(10, "the testload runs, leading its own process group") {
            st = ProcFS.stat(pid)
            return st?.comm == name && st?.pgrp == pid
        })
        return (pid, try XCTUnwrap(st).startTime)
    }

    private func policy(from: [String], users: [UInt32]? = nil, minAge: Double = 0) -> AutoAttachPolicy {
        AutoAttachPolicy(targets: ["ffrtmp-testload"], minAgeSeconds: minAge, intervalSeconds: 1, from: from, users: users, dryRun: false)
    }

    /// Every cgroup path the group's leader is in: an AUTO_ATTACH_FROM that allows exactly it.
    private func ownPaths(_ pid: Int32) throws -> [String] { Array(Set(try XCTUnwrap(ProcFS.cgroups(pid)).values)) }

    func testEachConditionRefusesARealGroupWithItsReasonAndTheRestTakeIt() throws {
        let driver = try CgroupDriverFactory.make(environment: h.environment, parentFlag: nil)
        let g = try group()
        let from = try ownPaths(g.pgid)
        func verdict(_ p: AutoAttachPolicy, agent: Int32? = nil, journal: [Int32: JobID] = [:]) throws -> AutoAttachVerdict {
            let c = AutoAttachScan(policy: p, driver: driver, agentPID: agent, journalGroups: journal).candidates().first { $0.identity.pgid == g.pgid }
            return try XCTUnwrap(c, "the group is a candidate").verdict
        }
        // All conditions hold: taken, its identity the leader's start time.
        XCTAssertEqual(try verdict(policy(from: from)).kind, .take)
        let c = try XCTUnwrap(AutoAttachScan(policy: policy(from: from), driver: driver, agentPID: nil, journalGroups: [:]).candidates()
            .first { $0.identity.pgid == g.pgid })
        XCTAssertEqual(c.identity, GroupIdentity(pgid: g.pgid, leaderStartTime: g.start))
        XCTAssertEqual(c.identity.jobID.value, "auto-\(g.pgid)-\(g.start)")
        // One condition fails at a time, and the reason names it.
        let desc = try verdict(policy(from: from), agent: getpid())
        XCTAssertEqual(desc.kind, .refuse)
        XCTAssertTrue(desc.reason.contains("descendant of the agent (pid \(getpid()))"), desc.reason)
        let job = try verdict(policy(from: from), journal: [g.pgid: try JobID("legacy-x.a1")])
        XCTAssertTrue(job.kind == .refuse && job.reason.contains("workload of journal job legacy-x.a1"), job.reason)
        let outside = try verdict(policy(from: ["/user.slice"]))
        XCTAssertTrue(outside.kind == .refuse && outside.reason.contains("which AUTO_ATTACH_FROM (/user.slice) does not allow"), outside.reason)
        let user = try verdict(policy(from: from, users: [4_000_000]))
        XCTAssertTrue(user.kind == .refuse && user.reason.contains("runs as uid \(getuid()), not one of AUTO_ATTACH_USERS (4000000)"), user.reason)
        XCTAssertEqual(try verdict(policy(from: from, users: [getuid()])).kind, .take)
        let young = try verdict(policy(from: from, minAge: 3600))
        XCTAssertTrue(young.kind == .wait && young.reason.contains("younger than AUTO_ATTACH_MIN_AGE"), young.reason)
        // Not a target: not a candidate at all.
        var other = policy(from: from)
        other.targets = ["ffmpeg"]
        XCTAssertNil(AutoAttachScan(policy: other, driver: driver, agentPID: nil, journalGroups: [:]).candidates().first { $0.identity.pgid == g.pgid })
        // Nothing of this moved anything.
        XCTAssertEqual(Set(try XCTUnwrap(ProcFS.cgroups(g.pgid)).values), Set(from))
    }

    /// The move re-checks the leader it was judged by: a pgid whose leader is another process
    /// now (a reused pid) is refused, and nothing is created or moved.
    func testAdoptionRefusesAGroupWhoseLeaderIsNotTheOneJudged() throws {
        let driver = try CgroupDriverFactory.make(environment: h.environment, parentFlag: nil)
        let g = try group()
        let before = ProcFS.cgroups(g.pgid)
        let journal = JobJournal(stateDir: h.stateDir)
        let id = GroupIdentity(pgid: g.pgid, leaderStartTime: g.start + 5).jobID
        XCTAssertThrowsError(try Attacher(journal: journal, driver: driver).adopt(
            .pgid(g.pgid), jobID: id, constraints: Constraints(), requireGovernance: false,
            expectedLeader: ProcessIdentity(pid: g.pgid, startTime: g.start + 5))) { e in
            guard case FFRTMPError.identityMismatch = e else { return XCTFail("not an identity mismatch: \(e)") }
        }
        XCTAssertEqual(ProcFS.cgroups(g.pgid), before, "the group was moved")
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.stateDir + "/jobs/" + id.value), "a journal job was left")
        // The right leader is adopted.
        let spec = try Attacher(journal: journal, driver: driver).adopt(
            .pgid(g.pgid), jobID: GroupIdentity(pgid: g.pgid, leaderStartTime: g.start).jobID, constraints: Constraints(),
            requireGovernance: false, expectedLeader: ProcessIdentity(pid: g.pgid, startTime: g.start))
        XCTAssertTrue(driver.isGoverned(try XCTUnwrap(ProcFS.cgroups(g.pgid))))
        _ = try h.ffrtmp(["kill", spec.jobID.value, "--grace", "1"])
    }

    /// A group that ends between the scan and the move: nothing is created, and the refusal the
    /// agent records says it exited during the move (it is not tried again).
    func testAGroupThatExitsBeforeTheMoveIsRefusedAsExitedAndNothingIsLeft() throws {
        let driver = try CgroupDriverFactory.make(environment: h.environment, parentFlag: nil)
        let g = try group()
        let c = try XCTUnwrap(AutoAttachScan(policy: policy(from: try ownPaths(g.pgid)), driver: driver, agentPID: nil, journalGroups: [:])
            .candidates().first { $0.identity.pgid == g.pgid })
        XCTAssertEqual(c.verdict.kind, .take)
        kill(g.pgid, SIGKILL)
        XCTAssertTrue(h.waitUntil(10, "the group is gone") { ProcessIdentity(pid: g.pgid, startTime: g.start).liveness != .alive })
        XCTAssertThrowsError(try Attacher(journal: JobJournal(stateDir: h.stateDir), driver: driver).adopt(
            .pgid(g.pgid), jobID: c.identity.jobID, constraints: Constraints(), requireGovernance: false,
            expectedLeader: ProcessIdentity(pid: g.pgid, startTime: g.start))) { e in
            XCTAssertTrue(Agent.attemptFailure(e).hasPrefix("the group exited (or its leader was replaced) during the move"), Agent.attemptFailure(e))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.stateDir + "/jobs/" + c.identity.jobID.value))
    }

    /// A state file that is not one is reported, naming it, and `ffrtmp orphans` still lists
    /// the groups (without verdicts) instead of failing.
    func testACorruptStateFileIsNamedAndOrphansStillLists() throws {
        let g = try group(as: "ffmpeg")
        try FileManager.default.createDirectory(atPath: h.stateDir, withIntermediateDirectories: true)
        try "{\"enabled\": tru".write(toFile: AutoAttachState.path(stateDir: h.stateDir), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AutoAttachState.load(stateDir: h.stateDir)) { e in
            XCTAssertTrue("\(e)".contains("auto-attach.json"), "\(e)")
        }
        let out = try h.ffrtmp(["orphans", "--json"])
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertTrue(out.stderr.contains("auto-attach.json"), out.stderr)
        let groups = try XCTUnwrap(try h.json(out.stdout)["groups"] as? [[String: Any]])
        let mine = try XCTUnwrap(groups.first { ($0["pgid"] as? Int).map(Int32.init) == g.pgid }, "the group is listed")
        XCTAssertNil(mine["auto_attach"], "a verdict was shown without a readable state")
    }

    /// AUTO_ATTACH_FROM matches whole components; "/" is the root cgroup only.
    func testPrefixesMatchWholeComponentsAndSlashIsTheRootOnly() {
        XCTAssertTrue(AutoAttachPolicy.allows("/user.slice", "/user.slice"))
        XCTAssertTrue(AutoAttachPolicy.allows("/user.slice", "/user.slice/user-1000.slice/session-3.scope"))
        XCTAssertFalse(AutoAttachPolicy.allows("/user.slice", "/user.slicex"))
        XCTAssertFalse(AutoAttachPolicy.allows("/user.slice", "/system.slice/user.slice"))
        XCTAssertTrue(AutoAttachPolicy.allows("/", "/"))
        XCTAssertFalse(AutoAttachPolicy.allows("/", "/system.slice/sshd.service"))
        XCTAssertEqual(AutoAttachPolicy.defaultFrom(.v2), ["/user.slice"])
        XCTAssertEqual(AutoAttachPolicy.defaultFrom(.v1), ["/user.slice", "/"])
    }

    /// Each hostile auto-attach setting is refused naming its key and what is expected.
    func testHostileSettingsAreRefusedNamingTheKey() throws {
        let cases: [(String, String)] = [
            ("AUTO_ATTACH_FROM=user.slice", "AUTO_ATTACH_FROM"), ("AUTO_ATTACH_FROM=/a/../b", "AUTO_ATTACH_FROM"),
            ("AUTO_ATTACH_FROM=/a//b", "AUTO_ATTACH_FROM"), ("AUTO_ATTACH_FROM=,", "AUTO_ATTACH_FROM"),
            ("AUTO_ATTACH_TARGETS=/usr/bin/ffmpeg", "AUTO_ATTACH_TARGETS"), ("AUTO_ATTACH_TARGETS=ffmpeg,sixteen-letters!", "AUTO_ATTACH_TARGETS"),
            ("AUTO_ATTACH_USERS=no-such-user-ffrtmp", "AUTO_ATTACH_USERS"), ("AUTO_ATTACH_INTERVAL=0", "AUTO_ATTACH_INTERVAL"),
            ("AUTO_ATTACH_MAX_JOBS=0", "AUTO_ATTACH_MAX_JOBS"), ("AUTO_ATTACH_DRY_RUN=perhaps", "AUTO_ATTACH_DRY_RUN"),
        ]
        for (line, key) in cases {
            XCTAssertThrowsError(try WorkerConfig.load(file: "NODE_ID=n1\n" + line, environment: [:]), line) { e in
                XCTAssertEqual((e as? WorkerConfig.Invalid)?.key, key, "\(line): \(e)")
            }
        }
        let c = try WorkerConfig.load(file: "NODE_ID=n1\nAUTO_ATTACH_FROM=/user.slice/,/system.slice/enc.service\nAUTO_ATTACH_USERS=root,65534\nAUTO_ATTACH_TARGETS=ffmpeg, gst-launch-1.0", environment: [:])
        XCTAssertEqual(c.autoAttachFrom, ["/user.slice", "/system.slice/enc.service"])
        XCTAssertEqual(c.autoAttachUsers, [0, 65534])
        XCTAssertEqual(c.autoAttachTargets, ["ffmpeg", "gst-launch-1.0"])
        XCTAssertEqual(c.autoAttachPolicy(.v2).from, ["/user.slice", "/system.slice/enc.service"])
        XCTAssertEqual(try WorkerConfig.load(file: "NODE_ID=n1", environment: [:]).autoAttachPolicy(.v1).from, ["/user.slice", "/"])
    }
}
