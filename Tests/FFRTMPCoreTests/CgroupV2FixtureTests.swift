import FFRTMPCore
import XCTest
import FFRTMPTestSupport

/// The v2 limit files cannot be exercised on this kernel's controller-less unified mount,
/// so these tests run the real v2 driver against a fixture tree in a temp dir.
final class CgroupV2FixtureTests: XCTestCase {
    func makeRoot(controllers: String) throws -> TempDir {
        let t = try TempDir()
        t.write("cgroup.controllers", controllers)
        t.write("cgroup.subtree_control", "")
        t.write("cgroup.procs", "")
        return t
    }

    func testFixtureLimitFilesAreWrittenInKernelSyntax() throws {
        let root = try makeRoot(controllers: "cpuset cpu io memory hugetlb pids")
        let blk = try TempDir()
        mkdir(blk.path + "/8:0", 0o755)
        let c = try ConstraintParser(blockDeviceRoot: blk.path).parse(
            WireConstraints(cpuMax: "50000 100000", cpuWeight: 200, memoryMaxMB: 64, ioMax: "8:0 rbps=1048576 wiops=100", pidsMax: 32))
        let driver = CgroupV2Driver(root: root.path, parent: "/ffrtmp/test", fixture: true)
        let made = try driver.create(try JobID("job-1"), constraints: c)
        let cg = made.cgroup
        XCTAssertEqual(made.degraded, [])
        XCTAssertEqual(made.applied, c)
        XCTAssertEqual(cg.path, "/ffrtmp/test/job-1")
        XCTAssertEqual(cg.uniqueDirs, [root.path + "/ffrtmp/test/job-1"])
        // Controllers enabled from the root down to the parent, and only those we use.
        XCTAssertEqual(root.read("cgroup.subtree_control"), "+cpu +io +memory +pids")
        XCTAssertEqual(root.read("ffrtmp/cgroup.subtree_control"), "+cpu +io +memory +pids")
        XCTAssertEqual(root.read("ffrtmp/test/cgroup.subtree_control"), "+cpu +io +memory +pids")
        let job = "ffrtmp/test/job-1/"
        XCTAssertEqual(root.read(job + "cpu.max"), "50000 100000")
        XCTAssertEqual(root.read(job + "cpu.weight"), "200")
        XCTAssertEqual(root.read(job + "memory.max"), String(64 * 1024 * 1024))
        // memory.max is RAM only: with no swap allowance the job gets no swap at all.
        XCTAssertEqual(root.read(job + "memory.swap.max"), "0")
        XCTAssertEqual(root.read(job + "io.max"), "8:0 rbps=1048576 wbps=max riops=max wiops=100")
        XCTAssertEqual(root.read(job + "pids.max"), "32")
        try driver.destroy(cg)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.path + "/" + job))
    }

    func testSwapAllowanceIsWrittenToMemorySwapMax() throws {
        let root = try makeRoot(controllers: "memory")
        let driver = CgroupV2Driver(root: root.path, parent: "/ffrtmp", fixture: true)
        let c = try ConstraintParser().parse(WireConstraints(memoryMaxMB: 64, memorySwapMaxMB: 32))
        let made = try driver.create(try JobID("sw"), constraints: c)
        XCTAssertEqual(made.degraded, [])
        XCTAssertEqual(root.read("ffrtmp/sw/memory.swap.max"), String(32 * 1024 * 1024))
        XCTAssertEqual(made.applied.memorySwapMaxMB, 32)
        root.write("ffrtmp/sw/memory.swap.current", "4096\n")
        XCTAssertEqual(driver.usage(made.cgroup).swapCurrentBytes, 4096)
        try driver.destroy(made.cgroup)
        // Swap on top of no memory limit means nothing: refused by name.
        XCTAssertThrowsError(try ConstraintParser().parse(WireConstraints(memorySwapMaxMB: 32))) { e in
            XCTAssertTrue("\(e)".contains("memory_swap_max_mb"), "\(e)")
            XCTAssertTrue("\(e)".contains("memory_max_mb as well"), "\(e)")
        }
        XCTAssertThrowsError(try ConstraintParser().parse(WireConstraints(memoryMaxMB: 64, memorySwapMaxMB: -1)))
    }

    func testUnlimitedCPUIsWrittenAsMax() throws {
        let root = try makeRoot(controllers: "cpu memory")
        let driver = CgroupV2Driver(root: root.path, parent: "/ffrtmp", fixture: true)
        _ = try driver.create(try JobID("j"), constraints: Constraints(cpuMax: .init(quotaMicros: nil, periodMicros: 20000)))
        XCTAssertEqual(root.read("ffrtmp/j/cpu.max"), "max 20000")
    }

    func testMissingControllerDegradesAndNamesIt() throws {
        let root = try makeRoot(controllers: "memory pids")
        let driver = CgroupV2Driver(root: root.path, parent: "/ffrtmp", fixture: true)
        let made = try driver.create(try JobID("j2"), constraints: Constraints(cpuMax: .init(quotaMicros: 20000, periodMicros: 100_000), memoryMaxMB: 10))
        let degraded = made.degraded
        XCTAssertEqual(made.applied, Constraints(memoryMaxMB: 10), "only what was written counts as applied")
        XCTAssertEqual(degraded.count, 1)
        XCTAssertTrue(degraded[0].contains("cpu controller not available"), degraded[0])
        XCTAssertEqual(root.read("ffrtmp/j2/memory.max"), String(10 * 1024 * 1024))
        XCTAssertNil(root.read("ffrtmp/j2/cpu.max"))
    }

    func testUsageReadsV2Files() throws {
        let root = try makeRoot(controllers: "cpu memory pids")
        let driver = CgroupV2Driver(root: root.path, parent: "/ffrtmp", fixture: true)
        let cg = try driver.create(try JobID("u"), constraints: Constraints()).cgroup
        root.write("ffrtmp/u/cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\nthrottled_usec 900\n")
        root.write("ffrtmp/u/memory.current", "4096\n")
        root.write("ffrtmp/u/memory.peak", "8192\n")
        root.write("ffrtmp/u/memory.max", "max\n")
        root.write("ffrtmp/u/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
        root.write("ffrtmp/u/pids.current", "3\n")
        let u = driver.usage(cg)
        XCTAssertEqual(u.cpuUsageNanoseconds, 2_500_000)
        XCTAssertEqual(u.cpuThrottledPeriods, 4)
        XCTAssertEqual(u.cpuThrottledNanoseconds, 900_000)
        XCTAssertEqual(u.memoryCurrentBytes, 4096)
        XCTAssertEqual(u.memoryPeakBytes, 8192)
        XCTAssertNil(u.memoryLimitBytes)
        XCTAssertEqual(u.oomKillCount, 1)
        XCTAssertEqual(u.tasks, 3)
    }

    func testExistingJobCgroupIsNotReused() throws {
        let root = try makeRoot(controllers: "cpu")
        let driver = CgroupV2Driver(root: root.path, parent: "/ffrtmp", fixture: true)
        _ = try driver.create(try JobID("dup"), constraints: Constraints())
        XCTAssertThrowsError(try driver.create(try JobID("dup"), constraints: Constraints())) { e in
            XCTAssertTrue("\(e)".contains("cannot create cgroup"), "\(e)")
        }
    }
}
