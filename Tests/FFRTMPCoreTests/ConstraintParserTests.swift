import FFRTMPCore
import XCTest
import FFRTMPTestSupport

final class ConstraintParserTests: XCTestCase {
    let parser = ConstraintParser()

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "" } catch { return "\(error)" }
    }

    func testCPUMaxForms() throws {
        XCTAssertEqual(try parser.parseCPUMax("20000 100000"), .init(quotaMicros: 20000, periodMicros: 100_000))
        XCTAssertEqual(try parser.parseCPUMax("max"), .init(quotaMicros: nil, periodMicros: 100_000))
        XCTAssertEqual(try parser.parseCPUMax("max 50000"), .init(quotaMicros: nil, periodMicros: 50000))
        XCTAssertEqual(try parser.parseCPUMax("200000 100000").percentOfOneCore, 200)
    }

    func testCPUMaxRejectionsNameFieldAndForm() {
        for bad in ["", "20000", "abc 100000", "20000 100", "10 100000", "1 2 3", "-5 100000", "max x"] {
            let m = message { try self.parser.parseCPUMax(bad) }
            XCTAssertTrue(m.contains("cpu_max"), "\(bad): \(m)")
            XCTAssertTrue(m.contains("QUOTA PERIOD"), "\(bad): \(m)")
        }
    }

    func testCPUPercent() throws {
        XCTAssertEqual(try parser.cpuMaxFromPercent(200), .init(quotaMicros: 200_000, periodMicros: 100_000))
        XCTAssertEqual(try parser.cpuMaxFromPercent(1), .init(quotaMicros: 1000, periodMicros: 100_000))
        XCTAssertTrue(message { try self.parser.cpuMaxFromPercent(0) }.contains("cpu percent"))
        let both = message { try self.parser.parse(WireConstraints(cpuMax: "max"), cpuPercent: 50) }
        XCTAssertTrue(both.contains("not both"), both)
    }

    func testWeightAndMemoryBounds() throws {
        XCTAssertEqual(try parser.parseCPUWeight(1), 1)
        XCTAssertEqual(try parser.parseCPUWeight(10000), 10000)
        XCTAssertTrue(message { try self.parser.parseCPUWeight(0) }.contains("cpu_weight"))
        XCTAssertTrue(message { try self.parser.parseCPUWeight(10001) }.contains("1 to 10000"))
        XCTAssertEqual(try parser.parseMemoryMaxMB(64), 64)
        XCTAssertTrue(message { try self.parser.parseMemoryMaxMB(0) }.contains("memory_max_mb"))
        XCTAssertTrue(message { try self.parser.parseMemoryMaxMB(-3) }.contains("greater than 0"))
        XCTAssertEqual(try parser.parseMaxOutputMB(5), 5)
        XCTAssertTrue(message { try self.parser.parseMaxOutputMB(0) }.contains("max_output_mb"))
        XCTAssertTrue(message { try self.parser.parseMaxOutputMB((1 << 30) + 1) }.contains("1 to 1073741824"))
    }

    func testIOMaxNeedsAnExistingDevice() throws {
        let fixture = try TempDir()
        mkdir(fixture.path + "/8:0", 0o755)
        let p = ConstraintParser(blockDeviceRoot: fixture.path)
        let io = try p.parseIOMax("8:0 rbps=1048576 wiops=max")
        XCTAssertEqual(io.readBPS, 1_048_576)
        XCTAssertNil(io.writeIOPS)
        XCTAssertEqual(io.wireValue, "8:0 rbps=1048576")
        let missing = message { try p.parseIOMax("9:9 rbps=1") }
        XCTAssertTrue(missing.contains("io_max") && missing.contains("9:9 is not one"), missing)
        for bad in ["8:0", "8:0 rbps=0", "8:0 speed=1", "80 rbps=1", "a:b rbps=1", "8:0 rbps=-1"] {
            XCTAssertTrue(message { try p.parseIOMax(bad) }.contains("io_max"), bad)
        }
    }

    func testParseIsAllOrNothing() {
        // A bad field anywhere means no Constraints value at all: nothing can be half-applied.
        XCTAssertThrowsError(try parser.parse(WireConstraints(cpuMax: "50000 100000", memoryMaxMB: 0)))
    }

    func testV1SharesMapping() {
        XCTAssertEqual(CgroupV1Driver.shares(forWeight: 100), 1024)
        XCTAssertEqual(CgroupV1Driver.shares(forWeight: 1), 10)
        XCTAssertEqual(CgroupV1Driver.shares(forWeight: 10000), 102_400)
    }
}
