import FFRTMPConsole
import FFRTMPCore
import Foundation
import XCTest

/// The console's adoption never moves a group that is not the one listed, nor one that holds
/// programs adoption is not for; both refusals are audited and nothing is changed.
final class ConsoleOperationsTests: IntegrationTestCase {
    func testAdoptionRefusesAStaleOrForeignGroup() throws {
        let null = open("/dev/null", O_WRONLY)
        defer { close(null) }
        // A process group of its own (posix_spawn with SETPGROUP): /bin/sleep is not ffmpeg.
        let pid = try Sys.spawnLogged(path: "/bin/sleep", argv: ["sleep", "60"], stdout: null, stderr: null)
        h.track(pid)
        defer { kill(pid, SIGKILL); var st: Int32 = 0; waitpid(pid, &st, 0) }
        let start = try XCTUnwrap(ProcFS.stat(pid)).startTime
        let before = ProcFS.cgroups(pid)
        let ops = ConsoleOperations(inspector: try JobInspector(journal: JobJournal(stateDir: h.stateDir),
                                                                 driver: CgroupDriverFactory.make(environment: h.environment, parentFlag: nil)),
                                    environment: ["USER": "tester"], configFile: nil)
        let down = AgentMonitor.State(link: .down(reason: "no agent socket"), wrapperEnabled: nil, configFile: nil, confirmedDown: true)

        let stale = OrphanItem(kind: .group, jobID: nil, pgid: pid, command: "ffmpeg", pids: [pid], startTimes: [start &+ 1])
        let r1 = ops.perform(.adopt(stale), agent: down)
        XCTAssertFalse(r1.ok)
        XCTAssertTrue(r1.message.contains("the group listed a moment ago"), r1.message)

        let foreign = OrphanItem(kind: .group, jobID: nil, pgid: pid, command: "sleep", pids: [pid], startTimes: [start])
        let r2 = ops.perform(.adopt(foreign), agent: down)
        XCTAssertFalse(r2.ok)
        XCTAssertTrue(r2.message.contains("it also holds sleep[\(pid)]"), r2.message)

        XCTAssertEqual(ProcFS.cgroups(pid), before, "the process was not moved")
        XCTAssertEqual(JobJournal(stateDir: h.stateDir).listedJobIDs(), [], "no job was created")
        let audit = try AuditLog(stateDir: h.stateDir).entries()
        XCTAssertEqual(audit.map(\.action), ["adopt", "adopt"])
        XCTAssertEqual(audit.map(\.outcome), ["failed", "failed"])
        XCTAssertEqual(audit.first?.user, "tester")
    }
}
