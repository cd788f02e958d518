import FFRTMPAgent
import FFRTMPConsole
import FFRTMPCore
import Foundation
import XCTest

/// The console's adoption never moves a group that is not the one listed, nor one that holds
/// programs adoption is not for; both refusals are audited and nothing is changed.
final class ConsoleOperationsTests: IntegrationTestCase {
    /// Processes a test spawned itself (not through the harness): killed by pid and reaped here.
    var spawned: [Int32] = []

    override func tearDown() {
        for pid in spawned {
            kill(pid, SIGKILL)
            var st: Int32 = 0
            waitpid(pid, &st, 0)
        }
        spawned = []
        super.tearDown()
    }

    /// With the agent down, the console adopts through NodeOperations, as the agent does: a
    /// group whose members are not all AUTO_ATTACH_TARGETS commands is refused at the adoption
    /// itself, naming AUTO_ATTACH_TARGETS, and nothing moves. The same group is adopted once
    /// its command is a target, so it is that check, not the group, that refused it.
    func testAgentDownAdoptionRefusesAGroupOutsideAutoAttachTargets() throws {
        let env = h.stateDir + "/worker.env"
        let defaults = "WRAPPER_DEFAULT_CPU_MAX=20000 100000\nWRAPPER_DEFAULT_MEMORY_MAX_MB=300\n"
        try ("NODE_ID=console-down\nAUTO_ATTACH_TARGETS=ffmpeg\n" + defaults).write(toFile: env, atomically: true, encoding: .utf8)
        let null = open("/dev/null", O_WRONLY)
        defer { close(null) }
        // spawnLogged calls setsid in the child: /bin/sleep leads a session and group of its own.
        let pid = try Sys.spawnLogged(path: "/bin/sleep", argv: ["sleep", "60"], stdout: null, stderr: null)
        spawned.append(pid)
        let st = try XCTUnwrap(ProcFS.stat(pid))
        XCTAssertEqual(st.pgrp, pid)
        XCTAssertEqual(st.session, pid)
        let before = ProcFS.cgroups(pid)
        let ops = ConsoleOperations(inspector: try JobInspector(journal: JobJournal(stateDir: h.stateDir),
                                                                 driver: CgroupDriverFactory.make(environment: h.environment, parentFlag: nil)),
                                    environment: ["USER": "tester"], configFile: nil)
        let down = AgentMonitor.State(link: .down(reason: "no agent socket"), wrapperEnabled: nil, configFile: nil, confirmedDown: true)
        // No --config and no agent: STATE_DIR/worker.env is the one found, and its defaults are shown.
        XCTAssertEqual(ops.adoptLimits(down), AdoptLimits(summary: "cpu.max=20000 100000 memory=300MB", hasLimits: true, source: "worker.env " + env))
        // Listed as it is (pid and start time): only the target check can refuse it.
        let item = OrphanItem(kind: .group, jobID: nil, pgid: pid, command: "sleep", pids: [pid], startTimes: [st.startTime])

        let refused = ops.perform(.adopt(item, allowUnlimited: false), agent: down)
        XCTAssertFalse(refused.ok)
        XCTAssertTrue(refused.message.contains("AUTO_ATTACH_TARGETS") && refused.message.contains("process groups of ffmpeg")
                      && refused.message.contains("it also holds sleep[\(pid)]"), refused.message)
        XCTAssertEqual(ProcFS.cgroups(pid), before, "the process was not moved")
        XCTAssertEqual(JobJournal(stateDir: h.stateDir).listedJobIDs(), [], "no job was created")
        let audit = try AuditLog(stateDir: h.stateDir).entries()
        XCTAssertEqual(audit.map(\.action), ["adopt"])
        XCTAssertEqual(audit.map(\.outcome), ["failed"])
        chmod(env, 0o644)

        // The control: with sleep among the targets, the same group is adopted (and watched)...
        try ("NODE_ID=console-down\nAUTO_ATTACH_TARGETS=ffmpeg,sleep\n" + defaults).write(toFile: env, atomically: true, encoding: .utf8)
        // ...but not while others may write the file that says so: the widened targets are not trusted.
        chmod(env, 0o666)
        let untrusted = ops.perform(.adopt(item, allowUnlimited: false), agent: down)
        XCTAssertFalse(untrusted.ok)
        XCTAssertTrue(untrusted.message.contains("worker.env \(env) is not safe"), untrusted.message)
        XCTAssertEqual(ProcFS.cgroups(pid), before, "the process was not moved")
        chmod(env, 0o644)
        let adopted = ops.perform(.adopt(item, allowUnlimited: false), agent: down)
        XCTAssertTrue(adopted.ok, adopted.message)
        XCTAssertTrue(adopted.message.contains("adopted pgid \(pid) as job "), adopted.message)
        XCTAssertNotEqual(ProcFS.cgroups(pid), before, "adopted into a job cgroup")
        XCTAssertEqual(JobJournal(stateDir: h.stateDir).listedJobIDs().count, 1)
        XCTAssertEqual(ops.watchedCount, 1, "the console watches what it adopted with the agent down")
        // worker.env's defaults are what cgroupfs enforces now.
        let journal = JobJournal(stateDir: h.stateDir)
        let cg = try XCTUnwrap(try journal.spec(XCTUnwrap(journal.listedJobIDs().first)).cgroup)
        if let mem = cg.dir("memory"), FileManager.default.fileExists(atPath: mem + "/memory.limit_in_bytes") {
            XCTAssertEqual(try String(contentsOfFile: mem + "/memory.limit_in_bytes", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), "\(300 << 20)")
            XCTAssertEqual(try String(contentsOfFile: cg.dir("cpu")! + "/cpu.cfs_quota_us", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), "20000")
        } else {
            let d = try XCTUnwrap(cg.dir("memory") ?? cg.uniqueDirs.first)
            XCTAssertEqual(try String(contentsOfFile: d + "/memory.max", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), "\(300 << 20)")
            XCTAssertEqual(try String(contentsOfFile: d + "/cpu.max", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), "20000 100000")
        }
        // It ends: the console's tick closes the attach job and removes its cgroup.
        kill(pid, SIGKILL)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        spawned.removeAll { $0 == pid }
        XCTAssertEqual(ops.tick(), [])
    }

    /// With the agent up, the console's actions go through its control socket and read its typed
    /// answers: the wrapper switch (applied and persisted), and an adoption the agent refuses
    /// with the same AUTO_ATTACH_TARGETS check, in its words.
    func testAgentUpWrapperSwitchAndAdoptionRefusalComeFromTheAgent() throws {
        let env = h.stateDir + "/worker.env"
        try "NODE_ID=console-up\nWRAPPER_ENABLED=false\nFFMPEG_PATH=/usr/bin/ffmpeg\nAUTO_ATTACH_TARGETS=ffmpeg\n".write(toFile: env, atomically: true, encoding: .utf8)
        chmod(env, 0o644)
        let agent = try h.start(["agent", "--config", env])
        defer { kill(agent.pid, SIGTERM); _ = try? h.finish(agent) }
        var up = AgentMonitor.query(h.stateDir)
        XCTAssertTrue(h.waitUntil(10, "the agent answers") {
            up = AgentMonitor.query(self.h.stateDir)
            if case .connected = up.link { return true }
            return false
        })
        guard case let .connected(node, master, _, _) = up.link else { return }
        XCTAssertEqual(node, "console-up")
        XCTAssertNil(master)
        XCTAssertEqual(up.wrapperEnabled, false)
        XCTAssertEqual(up.configFile, env)
        let ops = ConsoleOperations(inspector: try JobInspector(journal: JobJournal(stateDir: h.stateDir),
                                                                 driver: CgroupDriverFactory.make(environment: h.environment, parentFlag: nil)),
                                    environment: ["USER": "tester"], configFile: nil)

        let set = ops.perform(.setWrapper(true), agent: up)
        XCTAssertTrue(set.ok, set.message)
        XCTAssertTrue(set.message.contains("applied to the agent and saved to worker.env"), set.message)
        XCTAssertEqual(set.wrapperEnabled, true)
        XCTAssertTrue(try String(contentsOfFile: env, encoding: .utf8).contains("WRAPPER_ENABLED=true\n"))
        XCTAssertEqual(AgentMonitor.query(h.stateDir).wrapperEnabled, true)

        let null = open("/dev/null", O_WRONLY)
        defer { close(null) }
        let pid = try Sys.spawnLogged(path: "/bin/sleep", argv: ["sleep", "60"], stdout: null, stderr: null)
        spawned.append(pid)
        let st = try XCTUnwrap(ProcFS.stat(pid))
        let before = ProcFS.cgroups(pid)
        let item = OrphanItem(kind: .group, jobID: nil, pgid: pid, command: "sleep", pids: [pid], startTimes: [st.startTime])
        let refused = ops.perform(.adopt(item, allowUnlimited: false), agent: up)
        XCTAssertFalse(refused.ok)
        XCTAssertTrue(refused.message.contains("the agent said: attach pgid \(pid): attach is limited to process groups of ffmpeg (AUTO_ATTACH_TARGETS); it also holds sleep[\(pid)]"),
                      refused.message)
        XCTAssertEqual(ProcFS.cgroups(pid), before, "the process was not moved")
        XCTAssertEqual(JobJournal(stateDir: h.stateDir).listedJobIDs(), [], "no job was created")
        XCTAssertEqual(try AuditLog(stateDir: h.stateDir).entries().map(\.action), ["set_wrapper", "adopt"])
    }

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
        let r1 = ops.perform(.adopt(stale, allowUnlimited: true), agent: down)
        XCTAssertFalse(r1.ok)
        XCTAssertTrue(r1.message.contains("the group listed a moment ago"), r1.message)

        let foreign = OrphanItem(kind: .group, jobID: nil, pgid: pid, command: "sleep", pids: [pid], startTimes: [start])
        let r2 = ops.perform(.adopt(foreign, allowUnlimited: true), agent: down)
        XCTAssertFalse(r2.ok)
        XCTAssertTrue(r2.message.contains("it also holds sleep[\(pid)]"), r2.message)

        XCTAssertEqual(ProcFS.cgroups(pid), before, "the process was not moved")
        XCTAssertEqual(JobJournal(stateDir: h.stateDir).listedJobIDs(), [], "no job was created")
        let audit = try AuditLog(stateDir: h.stateDir).entries()
        XCTAssertEqual(audit.map(\.action), ["adopt", "adopt"])
        XCTAssertEqual(audit.map(\.outcome), ["failed", "failed"])
        XCTAssertEqual(audit.first?.user, "tester")
    }

    /// With the agent down, the console's test transcode follows the agent's rules: it runs as
    /// JOB_USER from worker.env, and a worker.env others can write is refused, naming it.
    func testAgentDownLaunchRunsAsTheJobUserAndRefusesAnUnsafeConfig() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg"), "skipped: ffmpeg is not installed")
        let env = h.stateDir + "/worker.env"
        try "NODE_ID=console-down\nFFMPEG_PATH=/usr/bin/ffmpeg\nJOB_USER=nobody\n".write(toFile: env, atomically: true, encoding: .utf8)
        chmod(env, 0o644)
        let ops = ConsoleOperations(inspector: try JobInspector(journal: JobJournal(stateDir: h.stateDir),
                                                                 driver: CgroupDriverFactory.make(environment: h.environment, parentFlag: nil)),
                                    environment: h.environment.merging(["USER": "tester"]) { $1 }, configFile: env)
        let down = AgentMonitor.State(link: .down(reason: "no agent socket"), wrapperEnabled: nil, configFile: nil, confirmedDown: true)
        let r = ops.perform(.launch(TestLaunch(durationSeconds: 3, cpuPercent: 50, memoryMaxMB: nil)), agent: down)
        XCTAssertTrue(r.ok, r.message)
        let id = try XCTUnwrap(r.message.components(separatedBy: "launched test transcode ").last?.split(separator: " ").first.map(String.init))
        var pid: Int32?
        XCTAssertTrue(h.waitUntil(10, "the test transcode runs") { pid = self.h.workloadPID(id); return pid != nil })
        let status = try String(contentsOfFile: "/proc/\(try XCTUnwrap(pid))/status", encoding: .utf8)
        let nobody = try JobUser.lookup("nobody")
        XCTAssertTrue(status.contains("\nUid:\t\(nobody.uid)\t\(nobody.uid)\t\(nobody.uid)\t\(nobody.uid)\n"), status)
        let groups = status.split(separator: "\n").first { $0.hasPrefix("Groups:") }.map { $0.dropFirst(7).trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(groups, "", "no supplementary groups: \(status)")
        XCTAssertTrue(status.contains("\nNoNewPrivs:\t1\n"), status)
        _ = ops.perform(.kill(jobIDs: [id]), agent: down)

        chmod(env, 0o666)
        let refused = ops.perform(.launch(TestLaunch(durationSeconds: 3, cpuPercent: nil, memoryMaxMB: nil)), agent: down)
        XCTAssertFalse(refused.ok)
        XCTAssertTrue(refused.message.contains("worker.env \(env) is not safe") && refused.message.contains("mode 666"), refused.message)
    }

    /// The collector re-reads a running job's limits only after a write to their files: the
    /// job is watched (so its limits are carried over between refreshes), and a limit written
    /// in cgroupfs still shows at the next snapshot, with the asked-for value kept beside it.
    func testLimitsWrittenInCgroupfsReachTheNextSnapshotThroughTheWatch() throws {
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "lw-1", "--cpu-max", "50000 100000", "--memory-max-mb", "64", "--",
                                     h.testload, "sleep", "300"]).status, 0)
        let driver = try CgroupDriverFactory.make(environment: h.environment, parentFlag: nil)
        let inspector = JobInspector(journal: JobJournal(stateDir: h.stateDir), driver: driver)
        let c = ConsoleCollector(inspector: inspector, governance: GovernanceProbe.probe(driver, v2Root: nil), host: "box")
        func job() -> ConsoleJob? { c.snapshot(agent: .down(reason: "x"), wrapperEnabled: nil, detailFor: nil).jobs.first { $0.id == "lw-1" } }
        XCTAssertEqual(job()?.memoryLimitBytes, 64 << 20)
        XCTAssertEqual(job()?.cpuLimitPercent, 50)
        XCTAssertEqual(c.limitWatchedJobs, 1, "the job's limit files are watched")
        let cg = try XCTUnwrap(try inspector.journal.spec(JobID("lw-1")).cgroup)
        let files = driver.limitFiles(cg)
        XCTAssertFalse(files.isEmpty)
        if let mem = files.first(where: { $0.hasSuffix("/memory.limit_in_bytes") }), let quota = files.first(where: { $0.hasSuffix("/cpu.cfs_quota_us") }) {
            try String(48 << 20).write(toFile: mem, atomically: false, encoding: .utf8)
            try "20000".write(toFile: quota, atomically: false, encoding: .utf8)
        } else {
            throw XCTSkip("skipped: not a v1 driver (the v2 driver reads its limits every refresh)")
        }
        let j = try XCTUnwrap(job())
        XCTAssertEqual(j.memoryLimitBytes, 48 << 20)
        XCTAssertEqual(j.memoryLimitAskedBytes, 64 << 20)
        XCTAssertEqual(j.cpuLimitPercent, 20)
        XCTAssertEqual(j.cpuLimitAskedPercent, 50)
        // Nothing written since: the carried values stay (no stale reset to the spec's).
        XCTAssertEqual(job()?.memoryLimitBytes, 48 << 20)
        _ = try h.ffrtmp(["kill", "lw-1", "--grace", "1"])
        _ = job()
        XCTAssertEqual(c.limitWatchedJobs, 0, "an ended job is no longer watched")
    }

    /// A kept-open cgroup file read again at offset 0 shows the value as it is now (kernfs builds
    /// it afresh), and once the cgroup is removed it reads as gone, not as the last value.
    func testOpenAttributeFilesReadFreshValuesAndNothingOnceTheCgroupIsGone() throws {
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "oa-1", "--memory-max-mb", "64", "--", h.testload, "sleep", "300"]).status, 0)
        let driver = try CgroupDriverFactory.make(environment: h.environment, parentFlag: nil)
        let cg = try XCTUnwrap(try JobJournal(stateDir: h.stateDir).spec(JobID("oa-1")).cgroup)
        guard let file = driver.limitFiles(cg).first(where: { $0.hasSuffix("/memory.limit_in_bytes") }) else {
            throw XCTSkip("skipped: not a v1 driver")
        }
        let cache = OpenAttributes(limit: 8)
        XCTAssertEqual(cache.read(file)?.trimmingCharacters(in: .whitespacesAndNewlines), "\(64 << 20)")
        XCTAssertEqual(cache.count, 1, "kept open")
        try String(40 << 20).write(toFile: file, atomically: false, encoding: .utf8)
        XCTAssertEqual(cache.read(file)?.trimmingCharacters(in: .whitespacesAndNewlines), "\(40 << 20)", "a fresh value through the same fd")
        XCTAssertEqual(cache.count, 1)
        XCTAssertEqual(try h.ffrtmp(["kill", "oa-1", "--grace", "1"]).status, 0)
        XCTAssertTrue(h.waitUntil(10, "cgroup removed") { !FileManager.default.fileExists(atPath: file) })
        XCTAssertNil(cache.read(file), "a removed cgroup's file reads as gone")
        XCTAssertEqual(cache.count, 0)
        // /proc/PID/stat kept open: a reaped process reads as gone, never as its last state.
        let null = open("/dev/null", O_WRONLY)
        defer { close(null) }
        let pid = try Sys.spawnLogged(path: "/bin/sleep", argv: ["sleep", "60"], stdout: null, stderr: null)
        XCTAssertNotNil(cache.read("/proc/\(pid)/stat"))
        XCTAssertEqual(cache.count, 1)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        XCTAssertNil(cache.read("/proc/\(pid)/stat"))
        XCTAssertEqual(cache.count, 0)
        // The limit is kept: past it files are read by path and not kept.
        let small = OpenAttributes(limit: 0)
        XCTAssertNotNil(small.read("/proc/self/stat"))
        XCTAssertEqual(small.count, 0)
    }

    /// The AUTO_ATTACH_TARGETS check is skipped only for a group whose every member is in the
    /// journal orphan's own cgroup: one process from outside (here: every member, against a
    /// set that does not hold it) and the group gets the full check and is refused, unmoved.
    func testTargetCheckIsSkippedOnlyWhenEveryMemberIsTheOrphansOwn() throws {
        let null = open("/dev/null", O_WRONLY)
        defer { close(null) }
        let pid = try Sys.spawnLogged(path: "/bin/sleep", argv: ["sleep", "60"], stdout: null, stderr: null)
        spawned.append(pid)
        let before = ProcFS.cgroups(pid)
        let journal = JobJournal(stateDir: h.stateDir)
        let driver = try CgroupDriverFactory.make(environment: h.environment, parentFlag: nil)
        let node = NodeOperations(config: try WorkerConfig.load(file: "AUTO_ATTACH_TARGETS=ffmpeg\n", environment: [:]), configFile: nil,
                                  journal: journal, driver: driver)
        XCTAssertThrowsError(try node.adopt(pgid: pid, ownedBy: [pid &+ 1])) { e in
            XCTAssertTrue("\(e)".contains("AUTO_ATTACH_TARGETS") && "\(e)".contains("sleep[\(pid)]"), "\(e)")
        }
        XCTAssertThrowsError(try node.adopt(pgid: pid), "no owner set: the full check")
        XCTAssertEqual(ProcFS.cgroups(pid), before, "refused: not moved")
        let spec = try node.adopt(pgid: pid, ownedBy: [pid])
        XCTAssertNotEqual(ProcFS.cgroups(pid), before, "every member is the orphan's own: adopted")
        kill(pid, SIGKILL)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        spawned.removeAll { $0 == pid }
        XCTAssertNotNil(try Attacher(journal: journal, driver: driver).finishIfEnded(spec), "the attach job is closed and its cgroup removed")
    }
}
