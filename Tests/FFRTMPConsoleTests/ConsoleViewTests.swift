import FFRTMPConsole
import FFRTMPCore
import Foundation
import XCTest

/// The console's view-model without a terminal: rows, sorting, filtering, column dropping,
/// header states, dialogs and the key table.
final class ConsoleViewTests: XCTestCase {
    let now: Int64 = 1_800_000_000_000_000_000

    func job(_ id: String, state: String, mode: String = "run", ageSeconds: Int64 = 10, cpu: Double? = nil, cpuLimit: Double? = nil,
             mem: UInt64? = nil, memLimit: UInt64? = nil, sla: Bool? = nil) -> ConsoleJob {
        var j = ConsoleJob(id: id, mode: mode, state: state, live: ["running", "starting", "orphaned"].contains(state),
                           createdAtUnixNs: now - ageSeconds * 1_000_000_000)
        j.pid = 4242
        j.cpuPercent = cpu
        j.cpuLimitPercent = cpuLimit
        j.memoryBytes = mem
        j.memoryLimitBytes = memLimit
        j.sla = sla
        if !j.live {
            j.outcome = state == "lost" ? JobOutcome(.lost, "lost") : state == "failed" ? JobOutcome(.exitNonZero, "failed")
                : state == "never_started" ? JobOutcome(.neverStarted, "never started") : JobOutcome(.ok, "ok")
        }
        if state == "orphaned" { j.outcome = JobOutcome(.orphaned, "orphaned") }
        return j
    }

    func snapshot(_ jobs: [ConsoleJob], agent: AgentLink = .connected(node: "edge-1", master: "http://10.0.0.1:8080", registered: true, outboxDepth: 0),
                  governance: GovernanceMode = .full, reason: String? = nil, wrapper: Bool? = true, uptime: Double? = 0.995, finished: Int = 200) -> ConsoleSnapshot {
        ConsoleSnapshot(header: ConsoleHeader(host: "edge-1", cgroupVersion: "v1", governance: governance, governanceReason: reason,
                                              wrapperEnabled: wrapper, agent: agent, slaUptime: uptime, slaFinished: finished),
                        jobs: jobs, nowUnixNs: now)
    }

    func render(_ s: ConsoleSnapshot, _ ui: ConsoleUIState = ConsoleUIState(), width: Int = 120, height: Int = 30, glyphs: Glyphs = .utf8) -> Frame {
        ConsoleView.render(s, ui, width: width, height: height, glyphs: glyphs)
    }

    func row(_ f: Frame, containing id: String) -> String? {
        f.lines.map(\.text).first { $0.contains(id) }
    }

    // MARK: frame geometry

    func testFrameIsExactlyTheTerminalSize() {
        let s = snapshot((0..<50).map { job("job-\($0)", state: "running", cpu: 10, cpuLimit: 50) })
        for (w, h) in [(80, 24), (120, 40), (200, 60), (40, 10)] {
            let f = render(s, width: w, height: h)
            XCTAssertEqual(f.lines.count, h, "\(w)x\(h)")
            for l in f.lines { XCTAssertEqual(l.text.count, w, "\(w)x\(h): \(l.text)") }
        }
    }

    func testTooSmallTerminalSaysSo() {
        let f = render(snapshot([]), width: 30, height: 8)
        XCTAssertTrue(f.lines[0].text.hasPrefix("terminal too small (30x8)"))
        // The message wraps instead of running off a narrow screen.
        XCTAssertEqual(f.lines[0].text.count, 30)
        XCTAssertTrue(f.text.contains("40x10"), f.text)
    }

    // MARK: rows

    func testRowShowsUsageAgainstLimitsWithBars() {
        let s = snapshot([job("cam1", state: "running", cpu: 45, cpuLimit: 50, mem: 256 << 20, memLimit: 512 << 20)])
        let r = row(render(s), containing: "cam1")!
        XCTAssertTrue(r.contains("45%/50%"), r)
        XCTAssertTrue(r.contains("256M/512M"), r)
        // 45/50 = 0.9 of 4 cells -> 4 full; 256/512 -> 2 of 4.
        XCTAssertTrue(r.contains("████"), r)
        XCTAssertTrue(r.contains("██░░"), r)
        XCTAssertTrue(r.contains("4242"), r)
        XCTAssertTrue(r.contains(" run "), r)
    }

    func testSLAGlyphsAndASCIIFallback() {
        let s = snapshot([job("ok1", state: "exited", sla: true), job("bad1", state: "lost", sla: false), job("run1", state: "running")])
        let u = render(s)
        XCTAssertTrue(row(u, containing: "ok1")!.contains("✓"))
        XCTAssertTrue(row(u, containing: "bad1")!.contains("✗"))
        let a = render(s, glyphs: .ascii)
        XCTAssertTrue(row(a, containing: "ok1")!.contains(" ok "))
        XCTAssertTrue(row(a, containing: "bad1")!.contains(" X "))
        for l in a.lines { XCTAssertTrue(l.text.unicodeScalars.allSatisfy { $0.isASCII }, "non-ASCII in: \(l.text)") }
    }

    func testNoLimitShowsMaxAndNoBar() {
        let r = row(render(snapshot([job("free", state: "running", cpu: 150, mem: 10 << 20)])), containing: "free")!
        XCTAssertTrue(r.contains("150%/max"), r)
        XCTAssertTrue(r.contains("10M/max"), r)
        XCTAssertFalse(r.contains("█"), r)
    }

    func testLongJobIDsKeepTheirDistinguishingTail() {
        let id = "job-1795767504-037f4d00"
        let f = render(snapshot([job(id, state: "running")]), width: 80, height: 24)
        XCTAssertTrue(f.text.contains("037f4d00"), f.text)
    }

    func testControlCharactersFromDataNeverReachTheTerminal() {
        var j = job("esc", state: "exited")
        j.outcome = JobOutcome(.exitNonZero, "exit 1\u{1b}[2J")
        let f = render(snapshot([j]), width: 160)
        XCTAssertFalse(f.text.contains("\u{1b}"))
    }

    // MARK: sorting and filtering

    func testDefaultSortPutsProblemsFirst() {
        var oom = job("oom1", state: "exited", ageSeconds: 30)
        oom.outcome = JobOutcome(.oom, "OOM")
        var exit3 = job("exit3", state: "exited", ageSeconds: 40)
        exit3.outcome = JobOutcome(.exitNonZero, "exit 3")
        var near = job("near", state: "running", ageSeconds: 60, mem: 95 << 20, memLimit: 100 << 20)
        near.outcome = JobOutcome(.healthy, "")
        let s = snapshot([job("done-old", state: "exited", ageSeconds: 100), job("lost1", state: "lost", ageSeconds: 50),
                          job("run-old", state: "running", ageSeconds: 300), job("orph", state: "orphaned"), exit3, oom, near,
                          job("run-new", state: "running", ageSeconds: 5), job("never", state: "never_started")])
        XCTAssertEqual(ConsoleView.visibleJobs(s, ConsoleUIState()).map(\.id),
                       ["lost1", "orph", "never", "near", "oom1", "exit3", "run-new", "run-old", "done-old"])
        var ui = ConsoleUIState()
        ui.reverse = true
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).first?.id, "done-old")
        ui.reverse = false
        ui.hideEnded = true
        XCTAssertFalse(ConsoleView.visibleJobs(s, ui).contains { $0.id == "done-old" }, "an ended job that went well is hidden")
        XCTAssertTrue(ConsoleView.visibleJobs(s, ui).contains { $0.id == "exit3" }, "an ended job in trouble stays")
    }

    func testNextProblemKeyVisitsEachProblemInTurn() {
        var jobs = (0..<200).map { job(String(format: "run-%03d", $0), state: "running", ageSeconds: Int64($0)) }
        jobs.append(job("lost1", state: "lost", ageSeconds: 500))
        jobs.append(job("orph", state: "orphaned", ageSeconds: 600))
        var oom = job("oom1", state: "exited", ageSeconds: 700)
        oom.outcome = JobOutcome(.oom, "OOM")
        jobs.append(oom)
        let s = snapshot(jobs)
        var ui = ConsoleUIState()
        ui.sort = .id
        var visited: [String] = []
        for _ in 0..<4 {
            _ = ConsoleController.handle(.char("p"), &ui, s, pageSize: 10)
            visited.append(ui.selectedID ?? "")
        }
        // By id: lost1, oom1, orph; then it wraps round.
        XCTAssertEqual(visited, ["lost1", "oom1", "orph", "lost1"], "the first press goes to the first problem, then on, round")
        XCTAssertTrue(ui.message?.text.hasPrefix("problem 1 of 3: lost1 lost") ?? false, "\(String(describing: ui.message))")
        let f = render(s, ui, width: 80, height: 24)
        XCTAssertNotNil(row(f, containing: "lost1"), "the selected problem is scrolled into view")
    }

    func testSortCyclesThroughEveryKeyBothWays() {
        let s = snapshot([job("b", state: "running", ageSeconds: 5, cpu: 10, mem: 300), job("a", state: "running", ageSeconds: 50, cpu: 90, mem: 100),
                          job("c", state: "exited", ageSeconds: 20)])
        var ui = ConsoleUIState()
        XCTAssertEqual(ui.sort, .problems)
        _ = ConsoleController.handle(.char(">"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.sort, .cpu)
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["a", "b", "c"])
        _ = ConsoleController.handle(.f(6), &ui, s, pageSize: 10)
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["b", "a", "c"])
        _ = ConsoleController.handle(.char("s"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.sort, .pressure)
        _ = ConsoleController.handle(.char("s"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.sort, .age)
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["a", "c", "b"])
        _ = ConsoleController.handle(.char("I"), &ui, s, pageSize: 10)
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["b", "c", "a"])
        XCTAssertTrue(render(s, ui).text.contains("sort: age ↑"))
        _ = ConsoleController.handle(.char("I"), &ui, s, pageSize: 10)
        _ = ConsoleController.handle(.char("s"), &ui, s, pageSize: 10)
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["a", "b", "c"])
        _ = ConsoleController.handle(.char("s"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.sort, .problems)
        _ = ConsoleController.handle(.char("<"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.sort, .id)
        XCTAssertTrue(render(s, ui).text.contains("sort: id"))
    }

    func testSearchJumpsToMatchesAndF3GoesToTheNext() {
        var a = job("cam1", state: "running", ageSeconds: 1)
        a.command = "ffmpeg -i rtsp://cam1"
        var b = job("web", state: "running", ageSeconds: 2)
        b.pid = 777
        var c = job("cam2", state: "running", ageSeconds: 3)
        c.command = "ffmpeg -i rtsp://cam2"
        let s = snapshot([a, b, c])
        var ui = ConsoleUIState()
        _ = ConsoleController.handle(.char("/"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .search)
        for ch in "rtsp" { _ = ConsoleController.handle(.char(ch), &ui, s, pageSize: 10) }
        XCTAssertEqual(ui.selectedID, "cam1")
        XCTAssertTrue(render(s, ui).lines.last!.text.hasPrefix("/rtsp_"))
        _ = ConsoleController.handle(.f(3), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.selectedID, "cam2")
        _ = ConsoleController.handle(.enter, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .none)
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).count, 3, "a search selects, it does not hide")
        _ = ConsoleController.handle(.f(3), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.selectedID, "cam1", "F3 from the table: the next match, round to the first")
        _ = ConsoleController.handle(.escape, &ui, s, pageSize: 10)
        ui.search = ""
        _ = ConsoleController.handle(.char("/"), &ui, s, pageSize: 10)
        for ch in "777" { _ = ConsoleController.handle(.char(ch), &ui, s, pageSize: 10) }
        XCTAssertEqual(ui.selectedID, "web", "a pid matches")
        _ = ConsoleController.handle(.char("x"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.message?.text, "no job matches \"777x\"")
    }

    func testFilterMatchesIDModeOrStateAndEscapeClearsIt() {
        let s = snapshot([job("cam1", state: "running"), job("cam2", state: "exited", mode: "legacy"), job("web", state: "running", mode: "attach")])
        var ui = ConsoleUIState()
        _ = ConsoleController.handle(.char("\\"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .filter)
        for c in "cam" { _ = ConsoleController.handle(.char(c), &ui, s, pageSize: 10) }
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["cam1", "cam2"])
        XCTAssertTrue(render(s, ui).lines.last!.text.hasPrefix("\\cam_"))
        ui.overlay = .none
        _ = ConsoleController.handle(.f(4), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .filter)
        _ = ConsoleController.handle(.enter, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .none)
        XCTAssertTrue(render(s, ui).text.contains("filter: cam"))
        ui.filter = "LEGACY"
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["cam2"])
        ui.filter = "attach"
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["web"])
        ui.filter = "nothing"
        XCTAssertTrue(render(s, ui).text.contains("no job matches the filter"))
        _ = ConsoleController.handle(.escape, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.filter, "")
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).count, 3)
    }

    // MARK: columns

    func testColumnsDropInPriorityOrderAtNarrowWidths() {
        XCTAssertEqual(ConsoleView.columns(width: 200, pressure: true).map(\.id), ColumnID.allCases)
        XCTAssertFalse(ConsoleView.columns(width: 200).map(\.id).contains(.psi), "no PSI column where pressure cannot be read")
        let at80 = ConsoleView.columns(width: 80).map(\.id)
        XCTAssertEqual(at80, [.job, .state, .cpu, .mem, .outcome, .sla, .age])
        let at60 = ConsoleView.columns(width: 60).map(\.id)
        XCTAssertEqual(at60, [.job, .state, .cpu, .outcome, .sla])
        XCTAssertEqual(ConsoleView.columns(width: 40).map(\.id), [.job, .state, .outcome, .sla])
        for w in [40, 60, 80, 100, 120, 160] {
            let cols = ConsoleView.columns(width: w)
            XCTAssertLessThanOrEqual(cols.map(\.width).reduce(0, +) + cols.count - 1, w, "width \(w)")
            // Whatever survives keeps the display order.
            let order = cols.map { c in Column.all.firstIndex { $0.id == c.id }! }
            XCTAssertEqual(order, order.sorted())
        }
        let f = render(snapshot([job("cam1", state: "running", cpu: 1, cpuLimit: 2)]), width: 80, height: 24)
        let header = f.lines[ConsoleView.headerLines(height: 24)].text
        XCTAssertTrue(header.contains("CPU%/LIM") && header.contains("SLA") && header.contains("OUTCOME"), header)
        XCTAssertFalse(header.contains("PROGRESS") || header.contains("THR") || header.contains("OOM"), header)
    }

    // MARK: header states

    func testHeaderStates() {
        let connected = render(snapshot([]))
        XCTAssertTrue(connected.lines[0].text.contains("cgroup v1"))
        XCTAssertTrue(connected.lines[0].text.contains("governance full"))
        XCTAssertTrue(connected.lines[0].text.contains("WRAPPER_ENABLED=on"))
        XCTAssertTrue(connected.lines[1].text.contains("agent connected (node edge-1)"), connected.lines[1].text)
        XCTAssertTrue(connected.lines[1].text.contains("master http://10.0.0.1:8080 registered"))
        XCTAssertTrue(connected.lines[1].text.contains("SLA uptime 99.5% of 200"))

        let standalone = render(snapshot([], agent: .connected(node: "edge-1", master: nil, registered: false, outboxDepth: 3), wrapper: false))
        XCTAssertTrue(standalone.lines[1].text.contains("agent standalone"), standalone.lines[1].text)
        XCTAssertTrue(standalone.lines[1].text.contains("outbox 3"))
        XCTAssertTrue(standalone.lines[0].text.contains("WRAPPER_ENABLED=off"))

        let down = render(snapshot([], agent: .down(reason: "no agent socket"), governance: .degraded, reason: "no blkio controller", wrapper: nil, uptime: nil, finished: 0))
        XCTAssertTrue(down.lines[1].text.contains("agent down (no agent socket); journal only"), down.lines[1].text)
        XCTAssertTrue(down.lines[1].text.contains("SLA uptime n/a"))
        XCTAssertTrue(down.lines[0].text.contains("governance degraded (no blkio controller)"))
        XCTAssertTrue(down.lines[0].text.contains("WRAPPER_ENABLED=?"))

        let none = render(snapshot([], governance: .none, reason: "no cgroup filesystem is mounted"))
        XCTAssertTrue(none.lines[0].text.contains("governance none (no cgroup filesystem is mounted)"))
        let ro = render(snapshot([]), ConsoleUIState(readonly: true))
        XCTAssertTrue(ro.lines[0].text.contains("READ-ONLY"))
    }

    func testHeaderCountsEachKindAndRowsShowOutcomesAt80Columns() {
        var oom = job("oom1", state: "exited", sla: true)
        oom.outcome = JobOutcome(.oom, "OOM")
        var e3 = job("exit3", state: "exited", sla: true)
        e3.outcome = JobOutcome(.exitNonZero, "exit 3")
        let s = snapshot([job("a", state: "running"), job("b", state: "starting"), job("c", state: "orphaned"), job("d", state: "lost", sla: false),
                          oom, e3, job("f", state: "exited", sla: false), job("g", state: "exited", sla: true)])
        var want = ConsoleSnapshot.Counts()
        want.running = 2; want.orphaned = 1; want.lost = 1; want.oom = 1; want.exitNonZero = 1; want.slaFailed = 2
        XCTAssertEqual(s.counts, want)
        let f = render(s, width: 80, height: 24)
        XCTAssertTrue(f.lines[3].text.hasPrefix("jobs: 2 running · 1 orphaned · 1 lost · 1 OOM · 1 exit≠0 · 2 SLA-fail"), f.lines[3].text)
        XCTAssertTrue(row(f, containing: "oom1")!.contains("OOM"), row(f, containing: "oom1")!)
        XCTAssertTrue(row(f, containing: "exit3")!.contains("exit 3"))
        XCTAssertTrue(f.lines.first { $0.text.hasPrefix("d ") }!.text.contains("lost"))
        XCTAssertFalse(row(f, containing: "oom1")!.contains(" ok "), "an OOM kill never reads as ok")
        // The footer always ends in help and quit, at every width.
        for w in [40, 60, 80, 200] {
            let last = String(render(s, width: w, height: 15).lines.last!.text.reversed().drop { $0 == " " }.reversed())
            XCTAssertTrue(last.hasSuffix("? help  q quit"), "\(w): \(last)")
        }
        XCTAssertEqual(render(s, width: 80, height: 15).lines[2].text.hasPrefix("jobs:"), true, "short screens drop the meters line")
        let ascii = render(s, width: 80, height: 24, glyphs: .ascii)
        XCTAssertTrue(ascii.lines[3].text.contains("1 exit!=0"))
    }

    func testLimitsReadFromTheCgroupAndNotChargedMemory() {
        var j = job("cam1", state: "running", cpu: 20, cpuLimit: 20, mem: 87 << 20, memLimit: 200 << 20)
        j.cpuLimitAskedPercent = 50
        j.memoryLimitAskedBytes = 256 << 20
        var adopted = job("adopt1", state: "running", mode: "attach", cpu: 5, mem: 0, memLimit: 256 << 20)
        adopted.memoryNotCharged = true
        let f = render(snapshot([j, adopted]), width: 120)
        let r = row(f, containing: "cam1")!
        XCTAssertTrue(r.contains("20%/20%!"), r)
        XCTAssertTrue(r.contains("87M/200M!"), r)
        let a = row(f, containing: "adopt1")!
        XCTAssertTrue(a.contains("n/c/256M"), a)
        XCTAssertFalse(a.contains(" 0M"), a)
        var ui = ConsoleUIState()
        ui.overlay = .detail(jobID: "cam1", top: 0)
        var s = snapshot([j])
        s.detail = ConsoleJobDetail(id: "cam1")
        let d = render(s, ui, width: 120).text
        XCTAssertTrue(d.contains("cpu 20% of 20% (asked 50%)"), d)
        XCTAssertTrue(d.contains("memory 87M of 200M (asked 256M)"), d)
    }

    func testHeaderDegradesKeepingWrapperAndShowsStateDirMetersAndPressure() {
        var s = snapshot([])
        s.header.stateDir = "/var/lib/ffrtmp"
        s.header.cgroupParent = "/ffrtmp"
        s.header.meters = HostMeters(cpuPercent: 34, cores: 2, memoryUsedBytes: 3 << 30, memoryTotalBytes: 24 << 30, load: (0.52, 0.4, 0.33),
                                     pressure: CgroupPressure(cpuSomeAvg10: 1.2, memorySomeAvg10: 0, ioSomeAvg10: 0.3))
        let wide = render(s, width: 200, height: 30)
        XCTAssertTrue(wide.lines[1].text.contains("state /var/lib/ffrtmp · cgroups /ffrtmp"), wide.lines[1].text)
        XCTAssertTrue(wide.lines[2].text.contains("host cpu 34% of 2 cores · mem 3.0G/24.0G · load 0.52 0.40 0.33 · psi cpu 1.2 mem 0.0 io 0.3"),
                      wide.lines[2].text)
        let small = render(s, width: 60, height: 15)
        XCTAssertTrue(small.lines[0].text.contains("WRAPPER_ENABLED=on"), small.lines[0].text)
        XCTAssertTrue(small.lines[1].text.contains("agent connected"), small.lines[1].text)
        var psi = job("busy", state: "running", cpu: 20, cpuLimit: 20)
        psi.pressure = CgroupPressure(cpuSomeAvg10: 63.5, memorySomeAvg10: 0, ioSomeAvg10: 0)
        var v2 = snapshot([psi])
        v2.header.pressureAvailable = true
        let f = render(v2, width: 200)
        XCTAssertTrue(f.lines[ConsoleView.headerLines(height: 30)].text.contains("PSI"))
        XCTAssertTrue(row(f, containing: "busy")!.contains("63.5"), row(f, containing: "busy")!)
    }

    func testHostMetersFromAProcTree() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ffrtmp-meters-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir + "/pressure", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func stat(_ user: Int, _ idle: Int) throws {
            try "cpu  \(user) 0 0 \(idle) 0 0 0 0 0 0\ncpu0 1 2 3 4\n".write(toFile: dir + "/stat", atomically: true, encoding: .utf8)
        }
        try stat(100, 900)
        try "MemTotal:       1000 kB\nMemFree: 1 kB\nMemAvailable:    250 kB\n".write(toFile: dir + "/meminfo", atomically: true, encoding: .utf8)
        try "0.50 0.25 0.10 1/100 42\n".write(toFile: dir + "/loadavg", atomically: true, encoding: .utf8)
        try "some avg10=2.50 avg60=1.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n".write(
            toFile: dir + "/pressure/cpu", atomically: true, encoding: .utf8)
        let r = HostMeterReader(root: dir)
        var m = r.read()
        XCTAssertNil(m.cpuPercent, "one reading is no rate")
        XCTAssertEqual(m.memoryUsedBytes, 750 * 1024)
        XCTAssertEqual(m.memoryTotalBytes, 1000 * 1024)
        XCTAssertEqual(m.load?.0, 0.5)
        XCTAssertEqual(m.pressure?.cpuSomeAvg10, 2.5)
        XCTAssertNil(m.pressure?.ioSomeAvg10)
        try stat(150, 1850)
        m = r.read()
        // 50 busy of 1000 ticks, times the cores (htop's scale: 100% per core).
        XCTAssertEqual(m.cpuPercent!, 5.0 * Double(m.cores), accuracy: 1e-9)
    }

    // MARK: keys and dialogs

    func testMovingTheSelectionFollowsTheJobAndScrolls() {
        let s = snapshot((0..<40).map { job(String(format: "job-%02d", $0), state: "running", ageSeconds: Int64($0)) })
        var ui = ConsoleUIState()
        XCTAssertEqual(ConsoleView.selectedIndex(ConsoleView.visibleJobs(s, ui), ui), 0)
        _ = ConsoleController.handle(.down, &ui, s, pageSize: 10)
        _ = ConsoleController.handle(.char("j"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.selectedID, "job-02")
        _ = ConsoleController.handle(.char("k"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.selectedID, "job-01")
        _ = ConsoleController.handle(.end, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.selectedID, "job-39")
        let f = render(s, ui, width: 100, height: 20)
        XCTAssertGreaterThan(f.scroll, 0)
        XCTAssertNotNil(row(f, containing: "job-39"), "the selection is scrolled into view")
        XCTAssertNil(row(f, containing: "job-00"))
        XCTAssertEqual(f.lines.first { $0.text.contains("job-39") }!.spans.first!.style, .selected)
        _ = ConsoleController.handle(.pageUp, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.selectedID, "job-29")
        _ = ConsoleController.handle(.home, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.selectedID, "job-00")
    }

    func testLaunchDialogIsPrefilledSoEnterLaunches() {
        let s = snapshot([])
        var ui = ConsoleUIState()
        XCTAssertNil(ConsoleController.handle(.char("n"), &ui, s, pageSize: 10))
        let f = render(s, ui)
        XCTAssertTrue(f.text.contains("Launch a wrapped test transcode"))
        XCTAssertTrue(f.text.contains("[20_"), f.text)
        XCTAssertEqual(ConsoleController.handle(.enter, &ui, s, pageSize: 10),
                       .launch(TestLaunch(durationSeconds: 20, cpuPercent: 50, memoryMaxMB: 256)))
        XCTAssertEqual(ui.overlay, .none)
        XCTAssertEqual(TestLaunch(durationSeconds: 20, cpuPercent: 50, memoryMaxMB: 256).cpuMax, "50000 100000")
    }

    func testLaunchDialogEditsFieldsAndNamesTheBadOne() {
        let s = snapshot([])
        var ui = ConsoleUIState()
        _ = ConsoleController.handle(.char("n"), &ui, s, pageSize: 10)
        _ = ConsoleController.handle(.tab, &ui, s, pageSize: 10)
        for _ in 0..<2 { _ = ConsoleController.handle(.backspace, &ui, s, pageSize: 10) }
        // Letters are not typed into numeric fields; an empty CPU field means no limit.
        _ = ConsoleController.handle(.char("x"), &ui, s, pageSize: 10)
        _ = ConsoleController.handle(.down, &ui, s, pageSize: 10)
        for _ in 0..<3 { _ = ConsoleController.handle(.backspace, &ui, s, pageSize: 10) }
        _ = ConsoleController.handle(.char("8"), &ui, s, pageSize: 10)
        XCTAssertNil(ConsoleController.handle(.enter, &ui, s, pageSize: 10))
        guard case let .launch(form) = ui.overlay else { return XCTFail("dialog closed on a bad value") }
        XCTAssertEqual(form.focus, 2)
        XCTAssertEqual(form.error, "Memory limit: expected whole MB from 16 to 1048576 (or empty), got \"8\"")
        XCTAssertTrue(render(s, ui).text.contains("Memory limit: expected whole MB"))
        _ = ConsoleController.handle(.char("0"), &ui, s, pageSize: 10)
        XCTAssertEqual(ConsoleController.handle(.enter, &ui, s, pageSize: 10), .launch(TestLaunch(durationSeconds: 20, cpuPercent: nil, memoryMaxMB: 80)))
        _ = ConsoleController.handle(.char("n"), &ui, s, pageSize: 10)
        _ = ConsoleController.handle(.escape, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .none)
        XCTAssertEqual(ui.message?.text, "launch cancelled")
        var bad = LaunchForm()
        bad.fields[0].value = "0"
        XCTAssertEqual(try? bad.validate().get(), nil)
        bad.fields[0].value = "5"
        bad.fields[1].value = "1e9"
        if case let .failure(e) = bad.validate() { XCTAssertEqual(e.field, 1) } else { XCTFail("1e9 % accepted") }
    }

    func testKillAsksForConfirmationNamingTheJobAndTagsKillInBulk() {
        let s = snapshot([job("cam1", state: "running", ageSeconds: 1), job("cam2", state: "running", ageSeconds: 2), job("old", state: "exited", ageSeconds: 3)])
        var ui = ConsoleUIState()
        XCTAssertNil(ConsoleController.handle(.char("x"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.overlay, .confirmKill(jobIDs: ["cam1"]))
        let f = render(s, ui)
        XCTAssertTrue(f.text.contains("Kill job cam1?"))
        XCTAssertTrue(f.text.contains("(run, pid 4242, running)"))
        XCTAssertEqual(ConsoleController.handle(.char("y"), &ui, s, pageSize: 10), .kill(jobIDs: ["cam1"]))
        _ = ConsoleController.handle(.f(9), &ui, s, pageSize: 10)
        XCTAssertNil(ConsoleController.handle(.char("n"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.message?.text, "kill of cam1 cancelled")
        // k moves (as in less and vim); it never kills.
        ui.selectedID = "cam2"
        XCTAssertNil(ConsoleController.handle(.char("k"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.selectedID, "cam1")
        XCTAssertEqual(ui.overlay, .none)
        ui.selectedID = "old"
        XCTAssertNil(ConsoleController.handle(.char("x"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.overlay, .none)
        XCTAssertEqual(ui.message?.text, "job old is not running (exited): nothing to kill")
        // Space tags and moves on; x kills the tagged (live) ones; U untags.
        ui.selectedID = "cam1"
        _ = ConsoleController.handle(.char(" "), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.selectedID, "cam2")
        _ = ConsoleController.handle(.char(" "), &ui, s, pageSize: 10)
        _ = ConsoleController.handle(.char(" "), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.tagged, ["cam1", "cam2", "old"])
        XCTAssertTrue(row(render(s, ui), containing: "cam1")!.hasPrefix("*cam1"))
        XCTAssertTrue(render(s, ui).lines[3].text.contains("3 tagged"))
        _ = ConsoleController.handle(.char("x"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .confirmKill(jobIDs: ["cam1", "cam2"]))
        XCTAssertTrue(render(s, ui).text.contains("Kill 2 tagged jobs?"))
        XCTAssertEqual(ConsoleController.handle(.char("y"), &ui, s, pageSize: 10), .kill(jobIDs: ["cam1", "cam2"]))
        XCTAssertEqual(ui.tagged, ["old"])
        _ = ConsoleController.handle(.char("U"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.tagged, [])
    }

    func testWrapperSwitchAsksAndRefusesAnUnknownValue() {
        let s = snapshot([job("cam1", state: "running")], wrapper: false)
        var ui = ConsoleUIState()
        XCTAssertNil(ConsoleController.handle(.char("w"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.overlay, .confirmWrapper(to: true))
        XCTAssertTrue(render(s, ui).text.contains("WRAPPER_ENABLED is off now; switch it to on?"), render(s, ui).text)
        XCTAssertEqual(ConsoleController.handle(.char("y"), &ui, s, pageSize: 10), .setWrapper(true))
        _ = ConsoleController.handle(.char("w"), &ui, s, pageSize: 10)
        XCTAssertNil(ConsoleController.handle(.escape, &ui, s, pageSize: 10))
        XCTAssertEqual(ui.message?.text, "WRAPPER_ENABLED left as it is")
        let unknown = snapshot([], agent: .down(reason: "no agent socket"), wrapper: nil)
        XCTAssertNil(ConsoleController.handle(.char("w"), &ui, unknown, pageSize: 10))
        XCTAssertEqual(ui.overlay, .none)
        XCTAssertTrue(ui.message?.text.hasPrefix("WRAPPER_ENABLED is unknown") ?? false)
        XCTAssertTrue(ui.message?.isError ?? false)
    }

    func testOrphanDialogShowsDetailsAndLimitsAndRefusesUnlimitedUnlessChosen() {
        let s = snapshot([job("cam1", state: "running")])
        var ui = ConsoleUIState()
        XCTAssertEqual(ConsoleController.handle(.char("a"), &ui, s, pageSize: 10), .scanOrphans)
        var a = OrphanItem(kind: .job, jobID: "cam9", pgid: 700, command: "ffmpeg", pids: [700, 701])
        a.commandLine = "ffmpeg -i rtsp://cam9 -f null -"
        a.ageSeconds = 125
        a.cpuPercent = 42
        let b = OrphanItem(kind: .group, jobID: nil, pgid: 800, command: "gst-launch-1.0", pids: [800])
        let limited = AdoptLimits(summary: "cpu.max=50000 100000 memory=256MB", hasLimits: true, source: "worker.env /var/lib/ffrtmp/worker.env")
        ui.overlay = .orphans(OrphanList(items: [a, b], limits: limited))
        let f = render(s, ui)
        XCTAssertTrue(f.text.contains("job cam9 (shim gone)  pgid 700  pids 700,701"), f.text)
        XCTAssertTrue(f.text.contains("age 2m cpu 42%  ffmpeg -i rtsp://cam9"), f.text)
        XCTAssertTrue(f.text.contains("adopting applies: cpu.max=50000 100000 memory=256MB (worker.env /var/lib/ffrtmp/worker.env)"), f.text)
        XCTAssertTrue(f.text.contains("group gst-launch-1.0 (no ffrtmp cgroup)  pgid 800"))
        // x on a journal orphan asks to kill the job; on a foreign group it says why not.
        XCTAssertNil(ConsoleController.handle(.char("x"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.overlay, .confirmKill(jobIDs: ["cam9"]))
        ui.overlay = .orphans(OrphanList(items: [a, b], selected: 1, limits: limited))
        XCTAssertNil(ConsoleController.handle(.char("x"), &ui, s, pageSize: 10))
        XCTAssertTrue(ui.message?.text.contains("not an ffrtmp job") ?? false)
        XCTAssertEqual(ConsoleController.handle(.enter, &ui, s, pageSize: 10), .adopt(b, allowUnlimited: false))
        // No limits: Enter refuses, A asks, y adopts without.
        let none = AdoptLimits(summary: "none", hasLimits: false, source: "worker.env /etc/ffrtmp/worker.env")
        ui.overlay = .orphans(OrphanList(items: [a], limits: none))
        XCTAssertNil(ConsoleController.handle(.enter, &ui, s, pageSize: 10))
        XCTAssertTrue(ui.message?.text.hasPrefix("no limits to apply") ?? false, "\(String(describing: ui.message))")
        XCTAssertNil(ConsoleController.handle(.char("A"), &ui, s, pageSize: 10))
        XCTAssertTrue(render(s, ui).text.contains("with NO limits?"))
        XCTAssertEqual(ConsoleController.handle(.char("y"), &ui, s, pageSize: 10), .adopt(a, allowUnlimited: true))
        // An untrusted worker.env stops adoption with its reason.
        ui.overlay = .orphans(OrphanList(items: [a], limits: AdoptLimits(summary: "none", hasLimits: false, source: "x", problem: "worker.env is writable by others")))
        XCTAssertNil(ConsoleController.handle(.enter, &ui, s, pageSize: 10))
        XCTAssertEqual(ui.message?.text, "adoption refused: worker.env is writable by others")
        ui.overlay = .orphans(OrphanList(items: [], limits: limited))
        XCTAssertTrue(render(s, ui).text.contains("no orphans"))
    }

    /// Each foreign group says what the agent's auto-attach does with it, and why.
    func testOrphanDialogShowsAutoAttachVerdicts() {
        let s = snapshot([job("cam1", state: "running")])
        var ui = ConsoleUIState()
        var r = OrphanItem(kind: .group, jobID: nil, pgid: 900, command: "ffmpeg", pids: [900])
        r.autoAttach = "refused: pid 900 is in name=systemd cgroup /system.slice/enc.service, which AUTO_ATTACH_FROM (/user.slice, /) does not allow"
        var w = OrphanItem(kind: .group, jobID: nil, pgid: 901, command: "ffmpeg", pids: [901])
        w.autoAttach = "waits: younger than AUTO_ATTACH_MIN_AGE (3 s of 30 s)"
        let plain = OrphanItem(kind: .group, jobID: nil, pgid: 902, command: "ffmpeg", pids: [902])
        ui.overlay = .orphans(OrphanList(items: [r, w, plain], limits: AdoptLimits(summary: "cpu.max=50000 100000", hasLimits: true, source: "x")))
        let f = render(s, ui)
        XCTAssertTrue(f.text.contains("auto-attach refused: pid 900 is in name=systemd cgroup"), f.text)
        XCTAssertTrue(f.text.contains("auto-attach waits: younger than AUTO_ATTACH_MIN_AGE (3 s of 30 s)"), f.text)
        XCTAssertEqual(f.text.components(separatedBy: "auto-attach ").count - 1, 2, "a group without a verdict shows none")
    }

    func testReadonlyHidesAndRefusesEveryChangingAction() {
        let s = snapshot([job("cam1", state: "running")])
        var ui = ConsoleUIState(readonly: true)
        let hints = render(s, ui).lines.last!.text
        XCTAssertFalse(hints.contains("n new") || hints.contains("w wrapper") || hints.contains("x kill"), hints)
        for key in [ConsoleKey.char("n"), .char("w"), .char("x"), .f(9)] {
            XCTAssertNil(ConsoleController.handle(key, &ui, s, pageSize: 10), "\(key)")
            XCTAssertEqual(ui.overlay, .none, "\(key)")
            XCTAssertTrue(ui.message?.text.hasPrefix("read-only:") ?? false, "\(key): \(String(describing: ui.message))")
        }
        XCTAssertEqual(ui.message?.text, "read-only: kill is disabled")
        // Listing orphans is not a change; adopting one is.
        XCTAssertEqual(ConsoleController.handle(.char("a"), &ui, s, pageSize: 10), .scanOrphans)
        ui.overlay = .orphans(OrphanList(items: [OrphanItem(kind: .group, jobID: nil, pgid: 9, command: "ffmpeg", pids: [9])],
                                         limits: AdoptLimits(summary: "memory=1MB", hasLimits: true, source: "x")))
        XCTAssertNil(ConsoleController.handle(.enter, &ui, s, pageSize: 10))
        XCTAssertEqual(ui.message?.text, "read-only: adopt is disabled")
        // The detail view does not offer kill either.
        ui.overlay = .detail(jobID: "cam1", top: 0)
        XCTAssertFalse(render(s, ui).lines.last!.text.contains("kill"))
        XCTAssertNil(ConsoleController.handle(.char("x"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.message?.text, "read-only: kill is disabled")
        ui.overlay = .help(.main)
        let help = render(s, ui).text
        XCTAssertTrue(help.contains("Keys: main (read-only)"))
        XCTAssertFalse(help.contains("switch WRAPPER_ENABLED"))
    }

    func testHelpComesFromTheKeyTableAndFitsAt80x24() {
        let s = snapshot([job("cam1", state: "running")])
        var ui = ConsoleUIState()
        _ = ConsoleController.handle(.char("?"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .help(.main))
        let help = render(s, ui, width: 80, height: 24).text
        for a in KeyTable.visible(.main, readonly: false) where ![.up, .down, .pageUp, .pageDown, .home, .end].contains(a.command) {
            XCTAssertTrue(help.contains(a.help), "help lacks: \(a.help)\n\(help)")
        }
        XCTAssertTrue(help.contains("k is up"), help)
        _ = ConsoleController.handle(.char("z"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .none)
        // Every key the table lists for the main screen does something (no dead entries).
        for a in KeyTable.actions(.main) {
            for k in a.keys {
                var u = ConsoleUIState()
                _ = ConsoleController.handle(k, &u, s, pageSize: 10)
                XCTAssertFalse(u.message?.text.contains("does nothing") ?? false, "\(k)")
            }
        }
        _ = ConsoleController.handle(.char("Z"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.message?.text, "key \"Z\" does nothing here; ? lists the keys")
    }

    func testDetailViewScrollsToTheEndAndTheLogFollows() {
        let s0 = snapshot([job("cam1", state: "running", cpu: 10, cpuLimit: 50)])
        var ui = ConsoleUIState()
        _ = ConsoleController.handle(.enter, &ui, s0, pageSize: 10)
        XCTAssertEqual(ui.overlay, .detail(jobID: "cam1", top: 0))
        XCTAssertTrue(render(s0, ui).text.contains("reading the journal"))
        var s = s0
        var d = ConsoleJobDetail(id: "cam1")
        d.facts = ["mode: run   state: running", "command: " + String(repeating: "ffmpeg -i input ", count: 12)]
        d.cgroupPaths = ["memory: /sys/fs/cgroup/memory/ffrtmp/cam1"]
        d.processes = ["4242  2026-11-27T08:00:00Z  ffmpeg -i x"]
        d.logTail = (1...200).map { "stderr line \($0)" }
        s.detail = d
        var f = render(s, ui, width: 80, height: 24)
        XCTAssertTrue(f.text.contains("now: cpu 10% of 50%"), f.text)
        XCTAssertTrue(f.text.contains("ffmpeg -i input ffmpeg"), "the command line wraps, it is not clipped")
        XCTAssertFalse(f.text.contains("stderr line 200"))
        ui.apply(f)
        // Down and PgDn scroll; End reaches the last line of the stderr tail.
        _ = ConsoleController.handle(.down, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .detail(jobID: "cam1", top: 1))
        _ = ConsoleController.handle(.pageDown, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .detail(jobID: "cam1", top: 11))
        _ = ConsoleController.handle(.end, &ui, s, pageSize: 10)
        f = render(s, ui, width: 80, height: 24)
        ui.apply(f)
        XCTAssertTrue(f.text.contains("stderr line 200"), f.text)
        guard case let .detail(_, top) = ui.overlay else { return XCTFail() }
        XCTAssertLessThan(top, 300, "the view stores back the clamped position")
        _ = ConsoleController.handle(.up, &ui, s, pageSize: 10)
        XCTAssertFalse(render(s, ui, width: 80, height: 24).text.contains("stderr line 200"))
        // l: the live log, following; a new line appears at the bottom.
        _ = ConsoleController.handle(.char("l"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .log(jobID: "cam1", top: Int.max, follow: true))
        s.detail?.logTail.append("stderr line 201")
        f = render(s, ui, width: 80, height: 24)
        ui.apply(f)
        XCTAssertTrue(f.text.contains("stderr line 201") && f.text.contains("following"), f.text)
        _ = ConsoleController.handle(.pageUp, &ui, s, pageSize: 10)
        s.detail?.logTail.append("stderr line 202")
        f = render(s, ui, width: 80, height: 24)
        XCTAssertFalse(f.text.contains("stderr line 202"), "paused: new lines do not move the view")
        XCTAssertTrue(f.text.contains("paused: f follows"))
        _ = ConsoleController.handle(.char("f"), &ui, s, pageSize: 10)
        XCTAssertTrue(render(s, ui, width: 80, height: 24).text.contains("stderr line 202"))
        _ = ConsoleController.handle(.escape, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .detail(jobID: "cam1", top: 0))
        XCTAssertEqual(ConsoleController.handle(.char("x"), &ui, s, pageSize: 10), nil)
        XCTAssertEqual(ui.overlay, .confirmKill(jobIDs: ["cam1"]))
        ui.overlay = .detail(jobID: "cam1", top: 0)
        _ = ConsoleController.handle(.escape, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .none)
        XCTAssertEqual(ConsoleController.handle(.char("q"), &ui, s, pageSize: 10), .quit)
    }

    func testQuitAsksWhileAdoptionsAreWatchedAndBusyLinePersists() {
        var s = snapshot([job("cam1", state: "running")])
        s.watchedAdoptions = 2
        var ui = ConsoleUIState()
        XCTAssertNil(ConsoleController.handle(.char("q"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.overlay, .confirmQuit(watching: 2))
        XCTAssertTrue(render(s, ui).text.contains("watches 2 adopted job(s)"))
        XCTAssertNil(ConsoleController.handle(.char("n"), &ui, s, pageSize: 10))
        _ = ConsoleController.handle(.char("q"), &ui, s, pageSize: 10)
        XCTAssertEqual(ConsoleController.handle(.char("y"), &ui, s, pageSize: 10), .quit)
        ui.busy = "killing cam1 (TERM, then KILL after 10 s)…"
        _ = ConsoleController.handle(.down, &ui, s, pageSize: 10)
        _ = ConsoleController.handle(.char("Z"), &ui, s, pageSize: 10)
        let f = render(s, ui, width: 80, height: 24)
        XCTAssertTrue(f.text.contains("killing cam1"), "the busy line stays whatever keys are pressed")
        // A long error wraps instead of being cut off at 80 columns.
        ui.message = ("adopt failed: invalid pgid \"15394\": expected a group of ffmpeg, gst-launch-1.0 (AUTO_ATTACH_TARGETS); it also holds sleep[15394]", true)
        let g = render(s, ui, width: 80, height: 24)
        XCTAssertTrue(g.text.contains("sleep[15394]"), g.text)
        XCTAssertEqual(g.lines.count, 24)
    }

    func testFormatting() {
        XCTAssertEqual(ConsoleView.bytes(1536 << 20), "1.5G")
        XCTAssertEqual(ConsoleView.bytes(300 << 20), "300M")
        XCTAssertEqual(ConsoleView.age(90_000_000_000), "90s")
        XCTAssertEqual(ConsoleView.age(3 * 3600 * 1_000_000_000), "3h")
        XCTAssertEqual(ConsoleView.bar(0.5, 4, .ascii), "##..")
        XCTAssertEqual(ConsoleView.bar(7, 4, .utf8), "████", "over the limit stays within the bar")
        XCTAssertEqual(ConsoleView.bar(nil, 4, .utf8), "    ")
        XCTAssertEqual(ConsoleView.pad("job-1795767504-037f4d00", 10, right: false, .utf8, keepTail: true), "…-037f4d00")
        XCTAssertEqual(ConsoleView.pad("status unknown", 8, right: false, .ascii), "status ~")
    }
}
