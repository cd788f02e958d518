import FFRTMPCore
import XCTest

final class CgroupLayoutTests: XCTestCase {
    let hybrid = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
        38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """

    func testHybridPrefersV1() throws {
        let l = CgroupLayout.parse(mountinfo: hybrid)
        XCTAssertEqual(l.v1Mounts["cpu"], "/sys/fs/cgroup/cpu")
        XCTAssertEqual(l.v1Mounts["pids"], "/sys/fs/cgroup/pids")
        XCTAssertNil(l.v1Mounts["name=systemd"])
        XCTAssertEqual(l.v2Mount, "/sys/fs/cgroup/unified")
        XCTAssertEqual(try CgroupDriverFactory.make(layout: l).version, .v1)
        XCTAssertEqual(try CgroupDriverFactory.make(layout: l, driver: "v2").version, .v2)
        XCTAssertEqual(try CgroupDriverFactory.make(layout: l, driver: "none").version, .unavailable)
    }

    func testCoMountedCpuCpuacct() {
        let l = CgroupLayout.parse(mountinfo: "30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct")
        XCTAssertEqual(l.v1Mounts["cpu"], "/sys/fs/cgroup/cpu,cpuacct")
        XCTAssertEqual(l.v1Mounts["cpuacct"], "/sys/fs/cgroup/cpu,cpuacct")
        let d = CgroupV1Driver(mounts: l.v1Mounts, parent: "/ffrtmp")
        XCTAssertEqual(d.locate(try! JobID("j")).uniqueDirs, ["/sys/fs/cgroup/cpu,cpuacct/ffrtmp/j"])
    }

    func testPureV2AndNone() throws {
        let l = CgroupLayout.parse(mountinfo: "25 1 0:22 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate")
        XCTAssertTrue(l.v1Mounts.isEmpty)
        XCTAssertEqual(try CgroupDriverFactory.make(layout: l).version, .v2)
        XCTAssertEqual(try CgroupDriverFactory.make(layout: CgroupLayout()).version, .unavailable)
        XCTAssertThrowsError(try CgroupDriverFactory.make(layout: l, driver: "v1"))
        XCTAssertThrowsError(try CgroupDriverFactory.make(layout: l, driver: "v3")) { e in
            XCTAssertTrue("\(e)".contains("FFRTMP_CGROUP_DRIVER"))
        }
    }

    func testParentValidation() throws {
        XCTAssertEqual(try CgroupDriverFactory.normalizeParent("ffrtmp/test-1/"), "/ffrtmp/test-1")
        for bad in ["/", "", "../x", "/a/../b", "a b"] {
            XCTAssertThrowsError(try CgroupDriverFactory.normalizeParent(bad), bad)
        }
    }

    func testProcCgroupFileAndStat() {
        let cg = ProcFS.parseCgroupFile("4:memory:/process_api/x\n1:cpu:/\n0::/\n")
        XCTAssertEqual(cg["memory"], "/process_api/x")
        XCTAssertEqual(cg[""], "/")
        let st = ProcStat.parse("1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 98765 1000 10 18446744073709551615")
        XCTAssertEqual(st?.comm, "my (odd) name")
        XCTAssertEqual(st?.ppid, 1)
        XCTAssertEqual(st?.pgrp, 1234)
        XCTAssertEqual(st?.startTime, 98765)
        XCTAssertEqual(st?.utimeTicks, 7)
        XCTAssertNil(ProcStat.parse("garbage"))
    }
}
