import FFRTMPConsole
import XCTest

/// The console's view-model without a terminal: rows, sorting, filtering, column dropping,
/// header states, dialogs and the key table.
final class ConsoleViewTests: XCTestCase {
    let now: Int64 = 1_800_000_000_000_000_000

    func job(_ id: String, state: String, mode: String = "wrapper", ageSeconds: Int64 = 10, cpu: Double? = nil, cpuLimit: Double? = nil,
             mem: UInt64? = nil, memLimit: UInt64? = nil, sla: Bool? = nil) -> ConsoleJob {
        var j = ConsoleJob(id: id, mode: mode, state: state, live: ["running", "starting", "orphaned"].contains(state),
                           createdAtUnixNs: now - ageSeconds * 1_000_000_000)
        j.pid = 4242
        j.cpuPercent = cpu
        j.cpuLimitPercent = cpuLimit
        j.memoryBytes = mem
        j.memoryLimitBytes = memLimit
        j.sla = sla
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
        XCTAssertTrue(r.contains("wrapper"), r)
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
        j.outcome = "exit=1\u{1b}[2J"
        let f = render(snapshot([j]), width: 160)
        XCTAssertFalse(f.text.contains("\u{1b}"))
    }

    // MARK: sorting and filtering

    func testDefaultSortPutsLiveJobsFirstThenTroubleThenEnded() {
        let s = snapshot([job("done-old", state: "exited", ageSeconds: 100), job("lost1", state: "lost", ageSeconds: 50),
                          job("run-old", state: "running", ageSeconds: 300), job("orph", state: "orphaned"),
                          job("run-new", state: "running", ageSeconds: 5), job("fail1", state: "failed")])
        XCTAssertEqual(ConsoleView.visibleJobs(s, ConsoleUIState()).map(\.id), ["run-new", "run-old", "orph", "lost1", "fail1", "done-old"])
    }

    func testSortCyclesThroughCPUMemoryAgeAndID() {
        let s = snapshot([job("b", state: "running", ageSeconds: 5, cpu: 10, mem: 300), job("a", state: "running", ageSeconds: 50, cpu: 90, mem: 100),
                          job("c", state: "exited", ageSeconds: 20)])
        var ui = ConsoleUIState()
        XCTAssertEqual(ui.sort, .state)
        _ = ConsoleController.handle(.char("s"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.sort, .cpu)
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["a", "b", "c"])
        _ = ConsoleController.handle(.char("s"), &ui, s, pageSize: 10)
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["b", "a", "c"])
        _ = ConsoleController.handle(.char("s"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.sort, .age)
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["a", "c", "b"])
        _ = ConsoleController.handle(.char("s"), &ui, s, pageSize: 10)
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["a", "b", "c"])
        _ = ConsoleController.handle(.char("s"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.sort, .state)
        XCTAssertTrue(render(s, ui).text.contains("sort: state"))
    }

    func testFilterMatchesIDModeOrStateAndEscapeClearsIt() {
        let s = snapshot([job("cam1", state: "running"), job("cam2", state: "exited", mode: "legacy"), job("web", state: "running", mode: "attach")])
        var ui = ConsoleUIState()
        _ = ConsoleController.handle(.char("/"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .filter)
        for c in "cam" { _ = ConsoleController.handle(.char(c), &ui, s, pageSize: 10) }
        XCTAssertEqual(ConsoleView.visibleJobs(s, ui).map(\.id), ["cam1", "cam2"])
        XCTAssertTrue(render(s, ui).lines.last!.text.hasPrefix("/cam_"))
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
        let wide = ConsoleView.columns(width: 200).map(\.id)
        XCTAssertEqual(wide, ColumnID.allCases)
        let at80 = ConsoleView.columns(width: 80).map(\.id)
        XCTAssertEqual(at80, [.job, .mode, .state, .pid, .cpu, .mem, .sla, .age])
        let at60 = ConsoleView.columns(width: 60).map(\.id)
        XCTAssertEqual(at60, [.job, .state, .cpu, .mem, .sla])
        XCTAssertEqual(ConsoleView.columns(width: 40).map(\.id), [.job, .state, .cpu, .sla])
        for w in [40, 60, 80, 100, 120, 160] {
            let cols = ConsoleView.columns(width: w)
            XCTAssertLessThanOrEqual(cols.map(\.width).reduce(0, +) + cols.count - 1, w, "width \(w)")
            // Whatever survives keeps the display order.
            let order = cols.map { c in Column.all.firstIndex { $0.id == c.id }! }
            XCTAssertEqual(order, order.sorted())
        }
        let f = render(snapshot([job("cam1", state: "running", cpu: 1, cpuLimit: 2)]), width: 80, height: 24)
        let header = f.lines[ConsoleView.headerLines].text
        XCTAssertTrue(header.contains("CPU%/LIM") && header.contains("SLA"), header)
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

    func testHeaderCounts() {
        let s = snapshot([job("a", state: "running"), job("b", state: "starting"), job("c", state: "orphaned"), job("d", state: "lost", sla: false),
                          job("e", state: "failed"), job("f", state: "exited", sla: false), job("g", state: "exited", sla: true)])
        XCTAssertEqual(s.counts, ConsoleSnapshot.Counts(running: 2, orphaned: 1, lost: 1, failed: 2))
        XCTAssertTrue(render(s).lines[2].text.hasPrefix("jobs: 2 running · 1 orphaned · 1 lost · 2 failed"))
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

    func testKillAsksForConfirmationNamingTheJob() {
        let s = snapshot([job("cam1", state: "running"), job("old", state: "exited")])
        var ui = ConsoleUIState()
        XCTAssertNil(ConsoleController.handle(.char("x"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.overlay, .confirmKill(jobID: "cam1"))
        let f = render(s, ui)
        XCTAssertTrue(f.text.contains("Kill job cam1?"))
        XCTAssertTrue(f.text.contains("(wrapper, pid 4242, running)"))
        XCTAssertEqual(ConsoleController.handle(.char("y"), &ui, s, pageSize: 10), .kill(jobID: "cam1"))
        _ = ConsoleController.handle(.f(9), &ui, s, pageSize: 10)
        XCTAssertNil(ConsoleController.handle(.char("n"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.message?.text, "kill of cam1 cancelled")
        ui.selectedID = "old"
        XCTAssertNil(ConsoleController.handle(.char("x"), &ui, s, pageSize: 10))
        XCTAssertEqual(ui.overlay, .none)
        XCTAssertEqual(ui.message?.text, "job old is not running (exited): nothing to kill")
    }

    func testWrapperToggleAndOrphanDialog() {
        let s = snapshot([job("cam1", state: "running")], wrapper: false)
        var ui = ConsoleUIState()
        XCTAssertEqual(ConsoleController.handle(.char("w"), &ui, s, pageSize: 10), .setWrapper(true))
        XCTAssertEqual(ConsoleController.handle(.char("w"), &ui, snapshot([], wrapper: true), pageSize: 10), .setWrapper(false))
        XCTAssertEqual(ConsoleController.handle(.char("a"), &ui, s, pageSize: 10), .scanOrphans)
        let items = [OrphanItem(kind: .job, jobID: "cam9", pgid: 700, command: "ffmpeg", pids: [700, 701]),
                     OrphanItem(kind: .group, jobID: nil, pgid: 800, command: "gst-launch-1.0", pids: [800])]
        ui.overlay = .orphans(items: items, selected: 0)
        let f = render(s, ui)
        XCTAssertTrue(f.text.contains("job cam9 (shim gone)  pgid 700  pids 700,701"), f.text)
        XCTAssertTrue(f.text.contains("group gst-launch-1.0 (no ffrtmp cgroup)  pgid 800"))
        _ = ConsoleController.handle(.down, &ui, s, pageSize: 10)
        XCTAssertEqual(ConsoleController.handle(.enter, &ui, s, pageSize: 10), .adopt(items[1]))
        ui.overlay = .orphans(items: [], selected: 0)
        XCTAssertTrue(render(s, ui).text.contains("no orphans"))
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
        // Listing orphans is not a change; adopting one is.
        XCTAssertEqual(ConsoleController.handle(.char("a"), &ui, s, pageSize: 10), .scanOrphans)
        ui.overlay = .orphans(items: [OrphanItem(kind: .group, jobID: nil, pgid: 9, command: "ffmpeg", pids: [9])], selected: 0)
        XCTAssertNil(ConsoleController.handle(.enter, &ui, s, pageSize: 10))
        XCTAssertEqual(ui.message?.text, "read-only: adopting orphans is disabled")
        ui.overlay = .help
        let help = render(s, ui).text
        XCTAssertTrue(help.contains("Keys (read-only)"))
        XCTAssertFalse(help.contains("toggle WRAPPER_ENABLED"))
    }

    func testHelpDetailAndQuit() {
        let s = snapshot([job("cam1", state: "running")])
        var ui = ConsoleUIState()
        _ = ConsoleController.handle(.char("?"), &ui, s, pageSize: 10)
        let help = render(s, ui).text
        for k in ["Enter", "filter", "cycle the sort", "launch a wrapped test transcode", "toggle WRAPPER_ENABLED", "Enter adopts", "x / F9", "quit"] {
            XCTAssertTrue(help.contains(k), k)
        }
        _ = ConsoleController.handle(.char("z"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .none)
        _ = ConsoleController.handle(.enter, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .detail(jobID: "cam1"))
        XCTAssertTrue(render(s, ui).text.contains("reading the journal"))
        var withDetail = s
        var d = ConsoleJobDetail(id: "cam1")
        d.facts = ["mode: wrapper   state: running"]
        d.cgroupPaths = ["memory: /sys/fs/cgroup/memory/ffrtmp/cam1"]
        d.processes = ["4242  2026-11-27T08:00:00Z  ffmpeg -i x"]
        d.logTail = (1...100).map { "log line \($0)" }
        withDetail.detail = d
        let f = render(withDetail, ui, height: 30)
        XCTAssertTrue(f.text.contains("/sys/fs/cgroup/memory/ffrtmp/cam1"))
        XCTAssertTrue(f.text.contains("log line 100"), "the newest log lines are shown")
        XCTAssertFalse(f.text.contains("log line 1\n"))
        XCTAssertEqual(ConsoleController.handle(.char("x"), &ui, s, pageSize: 10), nil)
        XCTAssertEqual(ui.overlay, .confirmKill(jobID: "cam1"))
        ui.overlay = .detail(jobID: "cam1")
        _ = ConsoleController.handle(.escape, &ui, s, pageSize: 10)
        XCTAssertEqual(ui.overlay, .none)
        XCTAssertEqual(ConsoleController.handle(.char("q"), &ui, s, pageSize: 10), .quit)
        _ = ConsoleController.handle(.char("Z"), &ui, s, pageSize: 10)
        XCTAssertEqual(ui.message?.text, "key \"Z\" does nothing here; ? lists the keys")
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
