@testable import FFRTMPMaster
import FFRTMPModel
import FFRTMPWire
import Foundation
import PropertyBased
import Testing

/// The job JSON decoders of FFRTMPWire (through WireDecoding, as the master and the control
/// socket decode) and the validation the master runs on them, fed valid
/// documents, documents with fields made invalid, truncated text and random damage. Each
/// body is either accepted as a value that survives an encode/decode round trip, or refused
/// with an error naming the field that was made invalid. A crash fails the whole run.
@Suite struct WireDecodingProperties {
    static let outcomes = ["valid", "invalid-field", "not-json", "not-object", "random-damage"]

    func check<T: Codable & Equatable & Sendable>(_ type: T.Type, _ schema: Schema, count: Int,
                                                  validate: @escaping @Sendable (T) throws -> Void) async {
        let tally = Tally("decode \(T.self)")
        await propertyCheck(count: Iterations.count(count), input: gen { r in schema.wireCase(&r) }) { c in
            tally.add(c.expect.tally)
            var accepted: T?
            var message: String?
            do {
                let v = try WireDecoding.decode(T.self, from: Data(c.body.utf8))
                try validate(v)
                accepted = v
            } catch {
                let (m, expected) = Verdict.explain(error)
                if !expected { Issue.record("\(c): an error of an unexpected kind: \(m)") }
                message = m
            }
            for p in Verdict.judge(accepted: accepted != nil, message: message, c) { Issue.record("\(c): \(p)") }
            if let v = accepted {
                // What was accepted is a real value: it encodes and decodes to itself.
                failing("\(c): round trip") {
                    let again = try JSONDecoder().decode(T.self, from: JSONEncoder().encode(v))
                    #expect(again == v, "\(c): \(again) != \(v)")
                }
            }
        }
        tally.report(expecting: Self.outcomes)
    }

    @Test func newJobDecodesOrNamesTheField() async {
        await check(NewJob.self, WireSchemas.newJob, count: 3000) { _ = try $0.validated() }
    }

    @Test func resultReportDecodesOrNamesTheField() async {
        await check(JobResultReport.self, WireSchemas.resultReport, count: 3000) { _ = try $0.validated() }
    }

    @Test func nodeRegistrationDecodesOrNamesTheField() async {
        // The checks the register route (with the default --node-lost-after, 30 s) and the stores
        // run before any SQL.
        await check(NodeRegistration.self, WireSchemas.nodeRegistration, count: 2000) {
            _ = try $0.validated()
            try JobRules.checkHeartbeatInterval($0, lostAfterMs: 30_000)
            _ = try JobRules.validateRunning($0.runningJobs ?? [])
        }
    }

    @Test func heartbeatDecodesOrNamesTheField() async {
        await check(Heartbeat.self, WireSchemas.heartbeat, count: 1000) {
            _ = try $0.validated()
            _ = try JobRules.validateRunning($0.runningJobs)
        }
    }

    @Test func masterJobDecodesOrNamesTheField() async {
        // The agent decodes GET /api/jobs/next: types only; it validates ids and parameters itself.
        await check(MasterJob.self, WireSchemas.masterJob, count: 3000) { _ in }
    }

    /// Any string: the id rules hold exactly (checked against an independent statement of
    /// the rule), and a refusal names the field.
    @Test func idValidationMatchesTheRule() async {
        let tally = Tally("WireValidation ids")
        await propertyCheck(count: Iterations.count(5000), input: gen { r in
            chance(0.3, &r) ? Fragments.validID(&r) : Fragments.anyString(&r)
        }) { s in
            let valid = WireSchemas.isValidID(s)
            tally.add(valid ? "valid" : "invalid")
            let checks: [(String, (String) throws -> String)] = [("id", { try WireValidation.jobID($0) }), ("node_id", { try WireValidation.nodeID($0) })]
            for (field, check) in checks {
                do {
                    let v = try check(s)
                    #expect(valid && v == s, "\(field) \(s.debugDescription) accepted as \(v.debugDescription)")
                } catch {
                    #expect(!valid, "\(field) \(s.debugDescription) refused: \(error)")
                    #expect("\(error)".hasPrefix("invalid \(field): "), "\(field) \(s.debugDescription): \(error)")
                }
            }
        }
        tally.report(expecting: ["valid", "invalid"])
    }

    /// Each kind decodes as itself, whatever order the decoder tries them in: true is no 1, "1"
    /// no number, an empty object no empty array.
    @Test func jsonValueKeepsEachKind() throws {
        let v = try JSONDecoder().decode(JSONValue.self, from: Data(#"[true,false,1,-2.5,"1","true",null,{},[],{"a":[0,{"b":"x"}]}]"#.utf8))
        #expect(v == .array([.bool(true), .bool(false), .number(1), .number(-2.5), .string("1"), .string("true"), .null,
                             .object([:]), .array([]), .object(["a": .array([.number(0), .object(["b": .string("x")])])])]))
    }

    /// Free-form JSON (parameters, results) is kept as it came: decode, encode, decode is stable.
    @Test func jsonValueRoundTrips() async {
        await propertyCheck(count: Iterations.count(3000), input: gen { r in J.random(&r, depth: 4) }) { j in
            failing("\(j)") {
                let v = try JSONDecoder().decode(JSONValue.self, from: Data(j.text.utf8))
                let again = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(v))
                #expect(again == v, "\(j): \(again) != \(v)")
            }
        }
    }

    /// Nesting: a document nested `d` deep (arrays and objects mixed, with strings holding
    /// brackets, quotes and escapes that must not count) is refused iff d > maxDepth, by name.
    @Test func nestingBeyondTheBudgetIsRefusedByName() async {
        let tally = Tally("nesting budget")
        await propertyCheck(count: Iterations.count(2000), input: gen { r -> (Int, String) in
            let d = int(0...80, &r)
            let noise = [#""[{\"]}""#, #""\\""#, #""a}b]""#, "1", "null", #""\u005b""#]
            var open = "", close = ""
            for _ in 0..<d {
                if chance(0.5, &r) { open += "[" + noise.pick(&r) + ","; close = "]" + close }
                else { open += #"{"k":"# + noise.pick(&r) + #","v":"#; close = "}" + close }
            }
            return (d, open + noise.pick(&r) + close)
        }) { c in
            let (d, text) = c
            tally.add(d > WireDecoding.maxDepth ? "too deep" : "within")
            do {
                try WireDecoding.checkDepth(Data(text.utf8))
                #expect(d <= WireDecoding.maxDepth, "depth \(d) accepted: \(text.prefix(200))")
                _ = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            } catch let e as WireError {
                #expect(d > WireDecoding.maxDepth, "depth \(d) refused: \(e)")
                #expect("\(e)" == "invalid body: arrays and objects nested deeper than 32 levels", "\(e)")
            } catch {
                Issue.record("depth \(d): the generated document is not JSON: \(error): \(text.prefix(200))")
            }
        }
        tally.report(expecting: ["within", "too deep"])
    }
}
