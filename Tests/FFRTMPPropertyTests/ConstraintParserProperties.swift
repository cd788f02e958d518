import FFRTMPCore
import Foundation
import PropertyBased
import Testing
import FFRTMPTestSupport

/// ConstraintParser: valid values round-trip through their wire form; invalid ones are
/// refused with an error naming the field and the accepted form; no input traps (huge
/// numbers, signs, NaN-like text) — a trap would end the test process.
@Suite struct ConstraintParserProperties {
    let parser = ConstraintParser()

    static func field(_ e: Error) -> String? {
        if case let FFRTMPError.invalidField(field, _, _) = e { return field }
        return nil
    }

    @Test func cpuMaxRoundTripsOrNamesTheForm() async {
        let tally = Tally("cpu_max")
        await propertyCheck(count: Iterations.count(4000), input: gen { r -> (String, Bool) in
            if chance(0.4, &r), case .str(let s) = WireSchemas.cpuMax(&r) { return (s, true) }
            if chance(0.5, &r), case .str(let s) = WireSchemas.badCPUMax(&r) { return (s, false) }
            // Free-form: mostly invalid, sometimes valid by accident; judged by the round trip alone.
            return (chance(0.5, &r) ? "\(Fragments.numberish.pick(&r)) \(Fragments.numberish.pick(&r))" : Fragments.hostileMix(&r), false)
        }) { input in
            let (raw, promisedValid) = input
            do {
                let c = try parser.parseCPUMax(raw)
                tally.add("accepted")
                #expect(c.periodMicros >= 1000 && c.periodMicros <= 1_000_000, "\(raw.debugDescription) → \(c)")
                if let q = c.quotaMicros { #expect(q >= 1000 && q <= 1_024_000_000, "\(raw.debugDescription) → \(c)") }
                // The wire form is what reaches cgroupfs and the journal: it parses back to the same value.
                let again = try parser.parseCPUMax(c.wireValue)
                #expect(again == c, "\(raw.debugDescription) → \(c.wireValue) → \(again)")
                if let p = c.percentOfOneCore { #expect(p.isFinite && p > 0, "\(raw.debugDescription) percent \(p)") }
            } catch {
                tally.add("refused")
                #expect(!promisedValid, "valid cpu_max \(raw.debugDescription) refused: \(error)")
                #expect(Self.field(error) == "cpu_max", "\(raw.debugDescription): \(error)")
                #expect("\(error)".contains("QUOTA PERIOD"), "\(raw.debugDescription): the error does not give the form: \(error)")
            }
        }
        tally.report(expecting: ["accepted", "refused"])
    }

    @Test func integerLimitsAcceptExactlyTheirRange() async {
        let tally = Tally("cpu_weight/memory_max_mb/memory_swap_max_mb/cpu percent/pids_max")
        let edges = [Int.min, Int.min + 1, -1, 0, 1, 2, 100, 10_000, 10_001, 102_400, 102_401, 4_194_304, 4_194_305,
                     1 << 30, (1 << 30) + 1, Int(Int32.max), Int(Int32.max) + 1, Int.max - 1, Int.max]
        await propertyCheck(count: Iterations.count(4000), input: gen { r in
            chance(0.5, &r) ? edges.pick(&r) : (chance(0.5, &r) ? int(-10...200_000, &r) : Int.random(in: .min ... .max, using: &r))
        }) { n in
            let cases: [(String, ClosedRange<Int>, (Int) throws -> Any)] = [
                ("cpu_weight", 1...10_000, { try parser.parseCPUWeight($0) }),
                ("memory_max_mb", 1...(1 << 30), { try parser.parseMemoryMaxMB($0) }),
                ("memory_swap_max_mb", 0...(1 << 30), { try parser.parseMemorySwapMaxMB($0, memoryMaxMB: 64) }),
                ("cpu percent", 1...102_400, { try parser.cpuMaxFromPercent($0) }),
                ("pids_max", 1...4_194_304, { try parser.parse(WireConstraints(pidsMax: $0)).pidsMax as Any }),
            ]
            for (field, range, parse) in cases {
                do {
                    let v = try parse(n)
                    tally.add("accepted")
                    #expect(range.contains(n), "\(field) \(n) accepted as \(v)")
                    if field == "cpu percent", let c = v as? Constraints.CPUMax {
                        #expect(c.quotaMicros == n * 1000 && c.periodMicros == 100_000, "\(n)% → \(c)")
                    }
                } catch {
                    tally.add("refused")
                    #expect(!range.contains(n), "\(field) \(n) refused: \(error)")
                    #expect(Self.field(error) == field, "\(field) \(n): \(error)")
                    #expect("\(error)".contains(String(n)), "\(field) \(n): the error does not quote the value: \(error)")
                }
            }
        }
        tally.report(expecting: ["accepted", "refused"])
    }

    @Test func ioMaxRoundTripsOrNamesTheForm() async throws {
        let fixture = try TempDir()
        for dev in ["8:0", "259:1", "0:0"] { mkdir(fixture.path + "/" + dev, 0o755) }
        let p = ConstraintParser(blockDeviceRoot: fixture.path)
        let tally = Tally("io_max")
        await propertyCheck(count: Iterations.count(4000), input: gen { r -> String in
            let dev = chance(0.8, &r) ? ["8:0", "259:1", "0:0"].pick(&r)
                : [Fragments.numberish.pick(&r) + ":" + Fragments.numberish.pick(&r), "9:9", "8", "8:0:0", ":", "a:b", "-8:0", "8:-0"].pick(&r)
            var s = dev
            for _ in 0..<int(0...5, &r) {
                let key = chance(0.9, &r) ? ["rbps", "wbps", "riops", "wiops"].pick(&r) : Fragments.anyString(&r)
                let value = chance(0.6, &r) ? String(int(1...Int.max, &r)) : (chance(0.3, &r) ? "max" : Fragments.numberish.pick(&r))
                s += String(repeating: " ", count: int(1...2, &r)) + key + (chance(0.95, &r) ? "=" : "") + value
            }
            return chance(0.1, &r) ? Fragments.hostileMix(&r) : s
        }) { raw in
            do {
                let io = try p.parseIOMax(raw)
                tally.add("accepted")
                for v in [io.readBPS, io.writeBPS, io.readIOPS, io.writeIOPS] { if let v { #expect(v > 0, "\(raw.debugDescription) → \(io)") } }
                #expect(FileManager.default.fileExists(atPath: fixture.path + "/" + io.device), "\(raw.debugDescription) → \(io.device)")
                // A line that only says "max" for every key carries no throttle: its wire form is the bare device,
                // which the parser refuses. Anything else parses back to the same throttles.
                if [io.readBPS, io.writeBPS, io.readIOPS, io.writeIOPS].contains(where: { $0 != nil }) {
                    failing("\(raw.debugDescription) → \(io.wireValue)") {
                        let again = try p.parseIOMax(io.wireValue)
                        #expect(again == io, "\(raw.debugDescription) → \(io.wireValue)")
                    }
                }
            } catch {
                tally.add("refused")
                #expect(Self.field(error) == "io_max", "\(raw.debugDescription): \(error)")
                #expect("\(error)".contains("MAJ:MIN") || "\(error)".contains("is not one"), "\(raw.debugDescription): \(error)")
            }
        }
        tally.report(expecting: ["accepted", "refused"])
    }

    /// The whole wire form: all or nothing, and never two CPU limits at once.
    @Test func parseIsAllOrNothing() async {
        let tally = Tally("constraints (all fields)")
        await propertyCheck(count: Iterations.count(3000), input: gen { r -> (WireConstraints, Int?, Set<String>) in
            var w = WireConstraints()
            var bad: Set<String> = []
            func pickInt(_ name: String, _ range: ClosedRange<Int>) -> Int? {
                guard chance(0.6, &r) else { return nil }
                if chance(0.7, &r) { return int(range, &r) }
                bad.insert(name)
                return [range.lowerBound - 1, range.upperBound + 1, Int.min, Int.max, 0].filter { !range.contains($0) }.pick(&r)
            }
            if chance(0.6, &r) {
                if chance(0.7, &r), case .str(let s) = WireSchemas.cpuMax(&r) { w.cpuMax = s }
                else if case .str(let s) = WireSchemas.badCPUMax(&r) { w.cpuMax = s; bad.insert("cpu_max") }
            }
            w.cpuWeight = pickInt("cpu_weight", 1...10_000)
            w.memoryMaxMB = pickInt("memory_max_mb", 1...(1 << 30))
            w.pidsMax = pickInt("pids_max", 1...4_194_304)
            var percent: Int?
            if chance(0.15, &r) {
                percent = int(1...102_400, &r)
                if w.cpuMax != nil { bad.insert("cpu_max") }
            }
            return (w, percent, bad)
        }) { input in
            let (w, percent, bad) = input
            do {
                let c = try parser.parse(w, cpuPercent: percent)
                tally.add("accepted")
                #expect(bad.isEmpty, "\(w) accepted although \(bad) is invalid")
                #expect(c.cpuWeight == w.cpuWeight && c.memoryMaxMB == w.memoryMaxMB && c.pidsMax == w.pidsMax, "\(w) → \(c)")
                #expect((c.cpuMax != nil) == (w.cpuMax != nil || percent != nil), "\(w) → \(c)")
            } catch {
                tally.add("refused")
                #expect(!bad.isEmpty, "\(w) refused: \(error)")
                #expect(Self.field(error).map { bad.contains($0) } == true, "\(w): \(error) names none of \(bad)")
            }
        }
        tally.report(expecting: ["accepted", "refused"])
    }
}
