import FFRTMPCore
import Foundation
import XCTest

/// Drives the real console (`ffrtmp console`) in a private tmux server and reads the screen
/// with capture-pane: against a real standalone agent, and with the agent stopped.
final class ConsoleTests: IntegrationTestCase {
    var tmuxSocket = ""
    var tmuxPath = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        tmuxPath = ["/usr/bin/tmux", "/usr/local/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? ""
        try XCTSkipIf(tmuxPath.isEmpty, "skipped: tmux is not installed (scripts/install-deps.sh test installs it)")
        tmuxSocket = "ffrtmp-console-test-\(getpid())"
    }

    override func tearDown() {
        if !tmuxSocket.isEmpty { _ = try? tmux(["kill-server"]) }
        super.tearDown()
    }

    /// Runs tmux with posix_spawn and waitpid. (Foundation's Process waits on a descriptor that
    /// the tmux server, which new-session forks, inherits: it would never see the client exit.)
    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        let outPath = h.stateDir + "/tmux.out"
        var fa: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)
        let argv = [tmuxPath, "-L", tmuxSocket] + args
        var cargs = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, tmuxPath, &fa, nil, &cargs, environ)
        guard rc == 0 else { throw NSError(domain: "tmux", code: Int(rc)) }
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        return h.read(outPath) ?? ""
    }

    /// The console in a 120x40 pane; the pane stays after the console exits so its exit
    /// status and the restored screen can be read.
    func startConsole(_ extra: [String] = [], term: String = "tmux-256color", width: Int = 120, height: Int = 40, lang: String = "C.UTF-8") throws {
        try tmux(["-f", "/dev/null", "new-session", "-d", "-x", String(width), "-y", String(height), "-s", "c",
                  "/usr/bin/env", "TERM=" + term, "LANG=" + lang, "LC_ALL=" + lang, "USER=console-test", "FFRTMP_STATE_DIR=" + h.stateDir,
                  "FFRTMP_CGROUP_PARENT=" + h.parent, h.binDir + "/ffrtmp", "console"] + extra)
        try tmux(["set-option", "-t", "c", "remain-on-exit", "on"])
        consolePID = Int32((try tmux(["display-message", "-p", "-t", "c", "#{pane_pid}"])).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(consolePID, 0)
    }

    func screen() -> String { (try? tmux(["capture-pane", "-p", "-t", "c"])) ?? "" }

    func keys(_ k: String...) throws { try tmux(["send-keys", "-t", "c"] + k) }

    @discardableResult
    func waitScreen(_ what: String, timeout: Double = 20, _ cond: (String) -> Bool) -> String {
        var s = ""
        let ok = h.waitUntil(timeout, what) {
            s = screen()
            return cond(s)
        }
        if !ok { XCTFail("screen never showed: \(what)\n\(s)") }
        return s
    }

    /// The row of job `id`: long ids are shown by their distinguishing tail, so that is matched.
    func line(_ s: String, _ id: String) -> String {
        let tail = String(id.suffix(14))
        return s.split(separator: "\n").first { $0.contains(tail) }.map(String.init) ?? ""
    }

    var consolePID: Int32 = 0

    /// The console's exit status once it has exited: from tmux when it has reaped it, else
    /// from the zombie's /proc/PID/stat (its last field is the wait status).
    func consoleExit() -> Int32? {
        let out = (try? tmux(["display-message", "-p", "-t", "c", "#{pane_dead} #{pane_dead_status}"])) ?? ""
        let parts = out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        if parts.first == "1", parts.count > 1, let s = Int32(parts[1]) { return s }
        guard consolePID > 0, let st = h.read("/proc/\(consolePID)/stat"), let close = st.lastIndex(of: ")") else { return nil }
        let fields = st[st.index(after: close)...].split(separator: " ")
        guard fields.first == "Z", let raw = fields.last.flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else { return nil }
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
    }

    func waitForExit(_ what: String) -> Int32? {
        var code: Int32?
        _ = h.waitUntil(5, what) {
            code = self.consoleExit()
            return code != nil
        }
        return code
    }

    /// `ffrtmp console` on a pty of script(1) with TERM=`term`: its exit status and what it printed.
    func consoleOnPTY(term: String) throws -> (status: Int32, text: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-qec", h.binDir + "/ffrtmp console", "/dev/null"]
        var env = h.environment
        env["TERM"] = term
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    func auditActions() -> [String] {
        let text = h.read(h.stateDir + "/audit.log") ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .map { "\($0["action"] ?? "?"):\($0["outcome"] ?? "?"):\($0["user"] ?? "?")" }
    }

    func testConsoleWithARealAgent() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg"), "skipped: ffmpeg is not installed")
        let env = h.stateDir + "/worker.env"
        try "NODE_ID=console-node\nWRAPPER_ENABLED=false\nFFMPEG_PATH=/usr/bin/ffmpeg\n".write(toFile: env, atomically: true, encoding: .utf8)
        _ = try h.start(["agent", "--config", env])
        XCTAssertTrue(h.waitUntil(10, "agent socket") { FileManager.default.fileExists(atPath: self.h.stateDir + "/agent.sock") })
        try startConsole()
        var s = waitScreen("header with a standalone agent") { $0.contains("agent standalone (node console-node)") }
        XCTAssertTrue(s.contains("WRAPPER_ENABLED=off"), s)
        XCTAssertTrue(s.contains("governance full"), s)

        // 1-2. n opens the prefilled dialog; Enter launches; the job runs with its limits.
        try keys("n")
        waitScreen("launch dialog") { $0.contains("Launch a wrapped test transcode") }
        try keys("Enter")
        s = waitScreen("launched message") { $0.contains("launched test transcode job-") }
        let launched = try XCTUnwrap(s.components(separatedBy: "launched test transcode ").last?.split(separator: " ").first.map(String.init))
        s = waitScreen("job running with CPU and memory limits") { self.line($0, launched).contains("running") && self.line($0, launched).contains("%/50%") }
        let row = line(s, launched)
        XCTAssertTrue(row.contains(" run "), row)
        XCTAssertTrue(row.contains("M/256M"), row)
        let workload = try XCTUnwrap(h.workloadPID(launched))
        XCTAssertTrue(row.contains(String(workload)), row)

        // 3. w flips WRAPPER_ENABLED in the header at once, in the agent and in worker.env.
        try keys("w")
        waitScreen("w asks first, naming the current value") { $0.contains("WRAPPER_ENABLED is off now; switch it to on?") }
        try keys("y")
        waitScreen("header shows WRAPPER_ENABLED=on") { $0.contains("WRAPPER_ENABLED=on") }
        XCTAssertTrue(try String(contentsOfFile: env, encoding: .utf8).contains("WRAPPER_ENABLED=true\n"))
        XCTAssertTrue(try h.ffrtmp(["ctl", #"{"op":"get_wrapper"}"#]).stdout.contains(#""wrapper_enabled":true"#))

        // 4. An orphan (its shim killed with -9) is listed by a, and Enter adopts it.
        let shim = try XCTUnwrap(h.read(h.jobFile(launched, "shim.pid")).flatMap { WorkloadPID.parse($0)?.identity })
        kill(shim.pid, SIGKILL)
        waitScreen("job orphaned") { self.line($0, launched).contains("orphaned") }
        try keys("a")
        s = waitScreen("orphan dialog lists the job") { $0.contains("job \(launched) (shim gone)") }
        XCTAssertTrue(s.contains("pgid \(workload)"), s)
        XCTAssertTrue(s.contains("ffmpeg") && s.contains("testsrc"), "the command line is shown: \(s)")
        XCTAssertTrue(s.contains("adopting applies: the agent's WRAPPER_DEFAULT_* limits"), s)
        try keys("Enter")
        s = waitScreen("adopted") { $0.contains("adopted pgid \(workload) as job ") }
        let adopted = try XCTUnwrap(s.components(separatedBy: "as job ").last?.split(separator: " ").first.map(String.init))
        s = waitScreen("attach job running, orphan closed") { self.line($0, adopted).contains("attach") && self.line($0, adopted).contains("running") }
        XCTAssertTrue(line(s, launched).contains("lost") && line(s, launched).contains("✗"), line(s, launched))
        XCTAssertTrue(h.read(h.jobFile(launched, "exit.json"))?.contains(#""supervisor_lost":true"#) ?? false)
        XCTAssertTrue(h.alive(workload), "adoption did not interrupt the transcode")
        let attachCgroup = try XCTUnwrap(h.cgroupPath(workload, "memory"))
        XCTAssertTrue(attachCgroup.hasSuffix("/" + adopted), attachCgroup)

        // 5. x names the job; y kills it and everything in its cgroup.
        // Problems first: the lost orphan is on top; / finds the adopted job.
        try keys("/")
        try keys(adopted)
        try keys("Enter", "x")
        s = waitScreen("confirmation names the job") { $0.contains("Kill job \(adopted)?") }
        try keys("y")
        s = waitScreen("killed") { $0.contains("killed \(adopted): killed") }
        XCTAssertTrue(line(s, adopted).contains("killed"), line(s, adopted))
        XCTAssertTrue(h.waitUntil(5, "workload gone") { !self.h.alive(workload) })
        for dir in h.parentDirs { XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + adopted), "cgroup left: \(dir)/\(adopted)") }
        XCTAssertEqual(auditActions(), ["launch_test:ok:console-test", "set_wrapper:ok:console-test", "adopt:ok:console-test", "kill:ok:console-test"])

        // 6. q quits with status 0 and leaves the terminal as it was (alternate screen gone).
        try keys("?")
        waitScreen("help overlay") { $0.contains("Keys: main") && $0.contains("x F9") }
        try keys("Escape", "q")
        XCTAssertEqual(waitForExit("console exited on q"), 0)
        let after = screen()
        XCTAssertFalse(after.contains("ffrtmp ·") || after.contains("JOB"), after)
    }

    func testConsoleWithTheAgentDownListsAndKills() throws {
        let r = try h.ffrtmp(["run", "--detach", "--job-id", "down-1", "--memory-max-mb", "64", "--", h.testload, "sleep", "300"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try h.ffrtmp(["run", "--job-id", "done-1", "--", h.testload, "exit", "3"]).status, 3)
        let workload = try XCTUnwrap(h.workloadPID("down-1"))
        // A resize while idle is applied at once (SIGWINCH wakes the loop), down to 80x24.
        try startConsole(["--no-color", "--interval", "5"])
        var s = waitScreen("agent down, jobs listed") { $0.contains("agent down (no agent socket)") && $0.contains("down-1") }
        XCTAssertTrue(line(s, "down-1").contains("running") && line(s, "down-1").contains("M/64M"), line(s, "down-1"))
        XCTAssertTrue(line(s, "done-1").contains("exited") && line(s, "done-1").contains("exit 3") && line(s, "done-1").contains("✓"), line(s, "done-1"))
        XCTAssertTrue(s.contains("SLA uptime 100.0% of 1"), s)
        try tmux(["resize-window", "-t", "c", "-x", "80", "-y", "24"])
        s = waitScreen("narrow layout", timeout: 3) { !$0.contains("PROGRESS") && $0.contains("CPU%/LIM") && $0.contains("OUTCOME") }
        XCTAssertTrue(s.split(separator: "\n").allSatisfy { $0.count <= 80 })

        // Back to a wide terminal; Enter shows the detail pane with the cgroup paths and the pids.
        try tmux(["resize-window", "-t", "c", "-x", "200", "-y", "50"])
        waitScreen("wide layout", timeout: 3) { $0.contains("PROGRESS") }
        try keys("/", "down-1", "Enter", "Enter")
        s = waitScreen("detail pane") { $0.contains("Job down-1") && $0.contains("processes") }
        XCTAssertTrue(s.contains(h.parent + "/down-1"), s)
        XCTAssertTrue(s.contains(String(workload)), s)
        try keys("x")
        waitScreen("confirmation") { $0.contains("Kill job down-1?") }
        try keys("y")
        s = waitScreen("killed without the agent") { $0.contains("killed down-1: killed") }
        XCTAssertTrue(h.waitUntil(5, "workload gone") { !self.h.alive(workload) })
        XCTAssertEqual(auditActions(), ["kill:ok:console-test"])
        XCTAssertEqual(try h.psJob("down-1")?["state"] as? String, "killed")

        // Ctrl-C ends the console cleanly too.
        try keys("C-c")
        XCTAssertEqual(waitForExit("console exited on Ctrl-C"), 0)
        XCTAssertFalse(screen().contains("ffrtmp ·"))
    }

    func testReadonlyRefusesChangesAndBadFlagsAreNamed() throws {
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "ro-1", "--", h.testload, "sleep", "300"]).status, 0)
        try startConsole(["--readonly"])
        var s = waitScreen("read-only header") { $0.contains("READ-ONLY") && $0.contains("ro-1") }
        XCTAssertFalse(s.contains("x kill"), s)
        try keys("x")
        s = waitScreen("refused") { $0.contains("read-only: kill is disabled") }
        try keys("w")
        waitScreen("refused") { $0.contains("read-only: wrapper is disabled") }
        XCTAssertTrue(h.alive(try XCTUnwrap(h.workloadPID("ro-1"))))
        XCTAssertNil(h.read(h.stateDir + "/audit.log"), "nothing changed, nothing audited")
        try keys("q")
        XCTAssertEqual(waitForExit("console exited on q"), 0)

        let bad = try h.ffrtmp(["console", "--interval", "0"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("invalid --interval \"0\": expected seconds from 0.2 to 60"), bad.stderr)
        // An unknown terminal type is named, not a crash: on a pty from script(1).
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "skipped: script(1) is not installed")
        let unknown = try consoleOnPTY(term: "no-such-terminal")
        XCTAssertEqual(unknown.status, 2, unknown.text)
        XCTAssertTrue(unknown.text.contains("cannot use TERM=\"no-such-terminal\": unset or unknown to terminfo"), unknown.text)
        // TERM=dumb cannot address the cursor: refused with the reason, status 2.
        let dumb = try consoleOnPTY(term: "dumb")
        XCTAssertEqual(dumb.status, 2, dumb.text)
        XCTAssertTrue(dumb.text.contains("TERM=\"dumb\" cannot address the cursor"), dumb.text)
        let notty = try h.ffrtmp(["console"])
        XCTAssertEqual(notty.status, 2)
        XCTAssertTrue(notty.stderr.contains("needs a terminal"), notty.stderr)
    }

    /// At 80x24: an OOM kill, an exit 3 and a lost job each show their outcome in the row and
    /// are counted by kind; they sort first and p visits each. Limits changed in cgroupfs under
    /// a running job show at the next refresh; the detail view scrolls to the end of a 200-line
    /// stderr and l follows the lines the workload keeps writing. LANG=C draws ASCII borders.
    func testAt80x24OutcomesProblemsFirstLiveLimitsAndLogs() throws {
        XCTAssertNotEqual(try h.ffrtmp(["run", "--job-id", "oom-1", "--memory-max-mb", "32", "--", h.testload, "alloc", "300"]).status, 0)
        XCTAssertEqual(try h.ffrtmp(["run", "--job-id", "exit-3", "--", h.testload, "exit", "3"]).status, 3)
        let lost = try h.orphanedSleeper("lost-1", seconds: 300)
        kill(lost, SIGKILL)
        XCTAssertTrue(h.waitUntil(10, "lost workload gone") { !self.h.alive(lost) })
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "lim-1", "--cpu-max", "50000 100000", "--memory-max-mb", "64", "--",
                                     h.testload, "spin", "300"]).status, 0)
        XCTAssertEqual(try h.ffrtmp(["run", "--detach", "--job-id", "log-1", "--", h.testload, "drip", "200", "0.5"]).status, 0)
        defer { for id in ["lim-1", "log-1"] { _ = try? h.ffrtmp(["kill", id, "--grace", "1"]) } }
        try startConsole(width: 80, height: 24)
        var s = waitScreen("every job listed") { s in ["oom-1", "exit-3", "lost-1", "lim-1", "log-1"].allSatisfy { s.contains($0) } }
        XCTAssertTrue(line(s, "oom-1").contains("OOM"), line(s, "oom-1"))
        XCTAssertTrue(line(s, "exit-3").contains("exit 3"), line(s, "exit-3"))
        XCTAssertTrue(line(s, "lost-1").contains("lost"), line(s, "lost-1"))
        XCTAssertTrue(s.contains("2 running · 0 orphaned · 1 lost · 1 OOM · 1 exit≠0 · 1 SLA-fail"), s)
        XCTAssertTrue(s.split(separator: "\n").allSatisfy { $0.count <= 80 })
        let rows = s.split(separator: "\n").map(String.init)
        func rowIndex(_ id: String) -> Int { rows.firstIndex { $0.contains(id) } ?? -1 }
        XCTAssertLessThan(rowIndex("lost-1"), rowIndex("oom-1"))
        XCTAssertLessThan(rowIndex("oom-1"), rowIndex("exit-3"))
        XCTAssertLessThan(rowIndex("exit-3"), rowIndex("lim-1"), "problems before the healthy running jobs")
        XCTAssertTrue(rows.last?.trimmingCharacters(in: .whitespaces).hasSuffix("? help  q quit") ?? false, rows.last ?? "")
        for (n, id) in [(1, "lost-1"), (2, "oom-1"), (3, "exit-3"), (1, "lost-1")] {
            try keys("p")
            waitScreen("p reaches \(id)") { $0.contains("problem \(n) of 3: \(id)") }
        }

        // Limits changed under the running job: the cgroup's values, marked "!", at the next refresh.
        let cpuDir = try XCTUnwrap(h.cgroupPath(try XCTUnwrap(h.workloadPID("lim-1")), "cpu"))
        let memDir = try XCTUnwrap(h.cgroupPath(try XCTUnwrap(h.workloadPID("lim-1")), "memory"))
        let mounts = h.v1Mounts
        if let cpuMount = mounts.first(where: { $0.key.split(separator: ",").contains("cpu") })?.value,
           let memMount = mounts["memory"] {
            try "20000".write(toFile: cpuMount + cpuDir + "/cpu.cfs_quota_us", atomically: false, encoding: .utf8)
            try String(48 << 20).write(toFile: memMount + memDir + "/memory.limit_in_bytes", atomically: false, encoding: .utf8)
        } else {
            let v2 = try XCTUnwrap(CgroupLayout.detect().v2Mount)
            try "20000 100000".write(toFile: v2 + cpuDir + "/cpu.max", atomically: false, encoding: .utf8)
            try String(48 << 20).write(toFile: v2 + memDir + "/memory.max", atomically: false, encoding: .utf8)
        }
        // The refresh is every second: two refreshes at most.
        s = waitScreen("new limits shown", timeout: 2) { self.line($0, "lim-1").contains("/20%!") && self.line($0, "lim-1").contains("/48M!") }
        let ps = try XCTUnwrap(h.psJob("lim-1"))
        XCTAssertEqual((ps["usage"] as? [String: Any])?["memory_limit_bytes"] as? Int, 48 << 20, "ps agrees: \(ps)")

        // The detail view of log-1: End reaches the 200th stderr line; l follows new ones.
        try keys("/")
        try keys("log-1")
        try keys("Enter", "Enter")
        s = waitScreen("detail view") { $0.contains("Job log-1") && $0.contains("command:") }
        XCTAssertFalse(s.contains("err 200"), s)
        try keys("End")
        s = waitScreen("scrolled to the end of stderr") { $0.contains("err 200") }
        try keys("l")
        s = waitScreen("live log") { $0.contains("stderr.log of log-1") && $0.contains("following") }
        let newest = s.split(separator: "\n").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.max() ?? 0
        XCTAssertGreaterThanOrEqual(newest, 200, s)
        waitScreen("a newer line arrives", timeout: 5) { $0.contains("err \(newest + 2)") }
        try keys("Escape", "Escape")
        try keys("q")
        XCTAssertEqual(waitForExit("console exited on q"), 0)
        try tmux(["kill-server"])
        // A server of its own: a new session on a socket whose server is still exiting can fail.
        tmuxSocket += "-c"

        // LANG=C: ASCII borders, intact (every line of the dialog the same width).
        try startConsole(width: 80, height: 24, lang: "C")
        waitScreen("console up") { $0.contains("lim-1") }
        try keys("?")
        // The whole box, its footer line and bottom border included.
        s = waitScreen("help box") { s in
            s.contains("Keys: main") && s.contains("any key closes") && s.split(separator: "\n").filter { $0.contains("+") && $0.filter { $0 == "-" }.count > 20 }.count >= 2
        }
        XCTAssertFalse(s.unicodeScalars.contains { !$0.isASCII }, s)
        let lines = s.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
        let topRow = try XCTUnwrap(lines.firstIndex { $0.contains("+") && $0.filter { $0 == "-" }.count > 20 })
        let bottomRow = try XCTUnwrap(lines.lastIndex { $0.contains("+") && $0.filter { $0 == "-" }.count > 20 })
        let left = try XCTUnwrap(lines[topRow].firstIndex(of: "+")), right = try XCTUnwrap(lines[topRow].lastIndex(of: "+"))
        guard bottomRow - topRow > 10 else { return XCTFail("no whole box on screen:\n\(s)") }
        XCTAssertEqual(lines[bottomRow].firstIndex(of: "+"), left)
        XCTAssertEqual(lines[bottomRow].lastIndex(of: "+"), right)
        for y in (topRow + 1)..<bottomRow {
            XCTAssertEqual(lines[y].count > right ? lines[y][left] : nil, "|", "row \(y): \(String(lines[y]))")
            XCTAssertEqual(lines[y].count > right ? lines[y][right] : nil, "|", "row \(y): \(String(lines[y]))")
        }
        try keys("Escape", "q")
        XCTAssertEqual(waitForExit("console exited on q"), 0)
    }
}
