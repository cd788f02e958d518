@testable import FFRTMPAgent
import FFRTMPCore
import FFRTMPWire
import Foundation
import PropertyBased
import Testing

/// The agent's control socket: requests of every op with valid, invalid and random fields
/// through Agent.handle (in-process, a standalone agent in a temp state dir), and random
/// lines and bytes through the real socket. Every answer is one JSON object; a refusal names
/// the field or the op; nothing the generator sends can start a process.
@Suite struct ControlRequestProperties {
    /// The protocol's op names as documented (docs/AGENT.md), written out: ControlOp must have exactly these.
    static let ops = ["status", "get_wrapper", "set_wrapper", "list", "kill", "launch_test", "attach"]

    struct Request: Sendable, CustomStringConvertible {
        var fields: [(String, J)] = []
        /// What the answer must name when it is a refusal ("" when it must succeed).
        var mustName: [String] = []
        var mustSucceed = false
        var op: String { if case .str(let s)? = fields.first(where: { $0.0 == "op" })?.1 { return s }; return "" }
        var json: J { .obj(fields) }
        var description: String { "\(json) mustName=\(mustName) mustSucceed=\(mustSucceed)" }
    }

    static func request(_ r: inout RNG) -> Request {
        var q = Request()
        let op = chance(0.9, &r) ? ops.pick(&r) : Fragments.anyString(&r)
        q.fields.append(("op", .str(op)))
        switch op {
        case "status", "get_wrapper", "list":
            q.mustSucceed = true
        case "set_wrapper":
            if chance(0.8, &r) { q.fields.append(("enabled", .bool(chance(0.5, &r)))); q.mustSucceed = true } else { q.mustName = ["\"enabled\""] }
        case "kill":
            if chance(0.2, &r) {
                q.mustName = ["invalid job id"]  // missing
            } else if chance(0.5, &r) {
                q.fields.append(("job", .str(WireSchemas.invalidIDString(&r))))
                q.mustName = ["invalid job id"]
            } else {
                let id = "nosuch-" + Fragments.validID(&r).prefix(100)
                q.fields.append(("job", .str(String(id))))
                q.mustName = ["no job \"\(id.prefix(40))"]  // long ids are shortened in messages
            }
        case "launch_test":
            // Each field valid or not; a valid request gets as far as spawning the (missing) shim.
            var names: [String] = []
            if chance(0.5, &r) {
                if chance(0.6, &r), case .str(let s) = WireSchemas.cpuMax(&r) { q.fields.append(("cpu_max", .str(s))) }
                else if case .str(let s) = WireSchemas.badCPUMax(&r) { q.fields.append(("cpu_max", .str(s))); names.append("cpu_max") }
            }
            if chance(0.5, &r) {
                if chance(0.6, &r) { q.fields.append(("memory_max_mb", .num(String(int(1...(1 << 30), &r))))) }
                else { q.fields.append(("memory_max_mb", .num([String(int(-1000...0, &r)), String((1 << 30) + 1), String(Int.max)].pick(&r)))); names.append("memory_max_mb") }
            }
            if chance(0.5, &r) {
                if chance(0.6, &r) { q.fields.append(("duration_seconds", .num(String(Double.random(in: 0.1...604_800, using: &r))))) }
                else { q.fields.append(("duration_seconds", .num(["0", "-5", "-0.01", "1e300", "604801", "0.01"].pick(&r)))); names.append("duration_seconds") }
            }
            q.mustName = names.isEmpty ? ["ffrtmp-shim"] : names
        case "attach":
            if chance(0.15, &r) {
                q.mustName = ["\"pgid\""]
            } else {
                // Beyond pid_max's ceiling (2^22) no process group exists.
                let pgid: Int32 = [Int32(int(-5...1, &r)), Int32.min, getpgrp(), Int32(int(4_194_305...Int(Int32.max), &r))].pick(&r)
                q.fields.append(("pgid", .num(String(pgid))))
                q.mustName = pgid <= 1 ? ["pgid"] : (pgid == getpgrp() ? ["ffrtmp-no-such-comm"] : ["\(pgid)"])
            }
        default:
            q.mustName = ["unknown op"]
        }
        // Fields another op uses, or none at all, must not change the outcome.
        if chance(0.2, &r) { q.fields.append(("x_" + Fragments.alnumString(1...5, &r), J.random(&r))) }
        q.fields.shuffle(using: &r)
        return q
    }

    static func answer(_ line: String) -> (ok: Bool, error: String)? {
        guard !line.contains("\n"), let v = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)),
              case .object(let o) = v, case .bool(let ok)? = o["ok"] else { return nil }
        return (ok, string(o["error"]) ?? "")
    }

    @Test func agentHandleAnswersOrNamesTheField() async throws {
        let fx = try AgentFixture()
        let tally = Tally("Agent.handle")
        await propertyCheck(count: Iterations.count(3000), input: gen { r in Self.request(&r) }) { q in
            let req: ControlRequest
            do {
                req = try JSONDecoder().decode(ControlRequest.self, from: Data(q.json.text.utf8))
            } catch let unknown as UnknownControlOp {
                // An op no ControlOp has is refused before the agent sees it, and named.
                tally.add("other refused")
                #expect(!Self.ops.contains(q.op) && unknown.op == q.op, "\(q): refused as an unknown op: \(unknown)")
                #expect(q.mustName.contains { unknown.description.contains($0) }, "\(q): \(unknown)")
                return
            } catch {
                return fail("\(q): generated request does not decode: \(error)")
            }
            let line = fx.agent.handle(req)
            guard let a = Self.answer(line) else { return fail("\(q): the answer is not one JSON object with ok: \(line)") }
            tally.add("\(Self.ops.contains(q.op) ? q.op : "other") \(a.ok ? "ok" : "refused")")
            if q.mustSucceed {
                #expect(a.ok, "\(q): \(line)")
            } else {
                #expect(!a.ok, "\(q): succeeded: \(line)")
                #expect(q.mustName.contains { a.error.contains($0) }, "\(q): the error does not name \(q.mustName): \(a.error)")
            }
            if q.op == "set_wrapper", case .bool(let on)? = q.fields.first(where: { $0.0 == "enabled" })?.1 {
                #expect(fx.agent.config.wrapperEnabled == on, "\(q)")
                let file = (try? String(contentsOfFile: fx.configFile, encoding: .utf8)) ?? ""
                #expect(file.contains("WRAPPER_ENABLED=\(on)\n") && file.hasPrefix("# property tests\n"), "\(q): worker.env now \(file.debugDescription)")
            }
            #expect(fx.agent.shims.isEmpty && fx.agent.attached.isEmpty, "\(q): something was started or adopted")
        }
        // Nothing a refused or failed launch touched is left in the journal.
        let jobs = (try? FileManager.default.contentsOfDirectory(atPath: fx.stateDir + "/jobs")) ?? []
        #expect(jobs.isEmpty, "journal dirs left behind: \(jobs.prefix(5))")
        tally.report(expecting: ["status ok", "set_wrapper ok", "set_wrapper refused", "kill refused", "launch_test refused", "attach refused", "other refused"])
    }

    /// Every ControlOp goes out and comes back as itself, by its documented name; a string no
    /// op has is refused at decoding with an error that names it and lists every op.
    @Test func everyOpRoundTripsAndAnUnknownOneIsNamed() async throws {
        #expect(ControlOp.allCases.map(\.rawValue) == Self.ops)
        #expect(Set(ControlOp.allCases.filter(\.isChanging).map(\.rawValue)) == ["set_wrapper", "launch_test", "kill", "attach"])
        for op in ControlOp.allCases {
            let sent = ControlRequest(op: op, job: "job-1", enabled: true, pgid: 4242, durationSeconds: 2.5, cpuMax: "50000 100000", memoryMaxMB: 64)
            let line = String(decoding: try JSONEncoder().encode(sent), as: UTF8.self)
            #expect(line.contains("\"op\":\"\(op.rawValue)\""), "\(line)")
            let back = try WireDecoding.decode(ControlRequest.self, from: Data(line.utf8))
            #expect(back.op == op && back.job == "job-1" && back.enabled == true && back.pgid == 4242 && back.durationSeconds == 2.5
                    && back.cpuMax == "50000 100000" && back.memoryMaxMB == 64, "\(line)")
            let bare = try WireDecoding.decode(ControlRequest.self, from: Data(#"{"op":"\#(op.rawValue)"}"#.utf8))
            #expect(bare.op == op && bare.job == nil && bare.pgid == nil)
            #expect(try JSONDecoder().decode(ControlOp.self, from: JSONEncoder().encode(op)) == op)
        }
        let tally = Tally("unknown ops")
        await propertyCheck(count: Iterations.count(2000), input: gen { r in
            chance(0.3, &r) ? Self.ops.pick(&r).uppercased() + (chance(0.5, &r) ? " " : "") : Fragments.anyString(&r)
        }) { name in
            guard ControlOp(rawValue: name) == nil else { return tally.add("an op") }
            let line = J.obj([("op", .str(name)), ("job", .num("7"))]).text
            do {
                _ = try WireDecoding.decode(ControlRequest.self, from: Data(line.utf8))
                fail("\(line): decoded although \(name.debugDescription) is no op")
            } catch let unknown as UnknownControlOp {
                tally.add("unknown op named")
                // Named before any other field is judged (job is of the wrong type here).
                #expect(unknown.op == name, "\(line): \(unknown)")
                #expect(unknown.description.hasPrefix("unknown op \"\(name)\""), "\(line): \(unknown)")
                #expect(Self.ops.allSatisfy { unknown.description.contains($0) }, "\(line): the ops are not all listed: \(unknown)")
            } catch {
                fail("\(line): refused without naming the op: \(error)")
            }
        }
        tally.report(expecting: ["unknown op named"])
    }

    // MARK: through the socket

    /// Drains the socket's queue into Agent.handle the way the agent's loop does, on its own thread.
    final class Drainer: @unchecked Sendable {
        let socket: ControlSocket
        let agent: Agent
        let lock = NSLock()
        var stopped = false
        let done = DispatchSemaphore(value: 0)

        init(socket: ControlSocket, agent: Agent) {
            self.socket = socket
            self.agent = agent
        }

        func start() {
            Thread.detachNewThread { [self] in
                while !lock.withLock({ stopped }) {
                    socket.drain(agent.serve)
                    usleep(1000)
                }
                done.signal()
            }
        }

        func stop() {
            lock.withLock { stopped = true }
            done.wait()
        }
    }

    /// Sends raw bytes and reads the answer until the server closes the connection.
    static func exchange(_ path: String, _ bytes: [UInt8]) -> String? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { return nil }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func socketAnswersEveryLineWithOneJSONObject() async throws {
        let fx = try AgentFixture()
        let socket = try ControlSocket(stateDir: fx.stateDir)
        socket.start()
        let drainer = Drainer(socket: socket, agent: fx.agent)
        drainer.start()
        defer {
            drainer.stop()
            // Ends the accept thread (accept fails with EINVAL) and frees the socket.
            shutdown(socket.fd, Int32(SHUT_RDWR))
            close(socket.fd)
        }
        let path = socket.path
        let tally = Tally("control socket lines")
        await propertyCheck(count: Iterations.count(300), input: gen { r -> ([UInt8], String) in
            switch int(0...5, &r) {
            case 0, 1:
                let q = Self.request(&r)
                let kind = q.mustSucceed ? "ok" : ControlOp(rawValue: q.op) == nil ? "unknown op" : "named"
                return (Array((q.json.text + (chance(0.8, &r) ? "\n" : "")).utf8), kind)
            case 2:
                // A known op with a field of the wrong type.
                let (field, value): (String, J) = [("enabled", J.str("yes")), ("pgid", .str("12")), ("pgid", .num("99999999999")),
                                                   ("duration_seconds", .str("1")), ("memory_max_mb", .num("1.5")), ("job", .num("7")),
                                                   ("cpu_max", .num("50000")), ("op", .num("1"))].pick(&r)
                let op = field == "op" ? value : J.str(Self.ops.pick(&r))
                return (Array((J.obj([("op", op), (field, value)]).text + "\n").utf8), "field:\(field)")
            case 3:
                return (Array((J.obj([("job", .str("x"))]).text + "\n").utf8), "field:op")  // no op at all
            case 4:
                return (randomBytes(0...200, &r), "junk")
            default:
                // Longer than the 8 KiB the socket reads.
                return (Array((#"{"op":"status","x":""# + String(repeating: "a", count: int(8200...20_000, &r)) + "\"}\n").utf8), "junk")
            }
        }) { input in
            let (bytes, kind) = input
            let shown = String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription
            guard let line = Self.exchange(path, bytes) else { return fail("\(shown): cannot connect") }
            let trimmed = line.hasSuffix("\n") ? String(line.dropLast()) : line
            guard let a = Self.answer(trimmed) else { return fail("\(shown) (\(kind)): not one JSON line: \(line.debugDescription)") }
            tally.add(kind + (a.ok ? " ok" : " refused"))
            switch kind {
            case "ok": #expect(a.ok, "\(shown): \(line)")
            case "named", "junk": #expect(a.ok || !a.error.isEmpty, "\(shown): \(line)")
            case "unknown op":
                // The socket answers an unknown op by name, not as a bad request.
                #expect(!a.ok && a.error.hasPrefix("unknown op \"") && Self.ops.allSatisfy { a.error.contains($0) }, "\(shown): \(line)")
            default:
                let field = String(kind.dropFirst("field:".count))
                let named = a.error.contains("invalid \(field):") && (a.error.contains("missing") || a.error.contains("expected"))
                #expect(!a.ok && named, "\(shown): the refusal does not say what is wrong with \(field): \(line)")
            }
        }
        // Still serving after all that.
        #expect(Self.answer(Self.exchange(path, Array("{\"op\":\"status\"}\n".utf8))?.trimmingCharacters(in: .newlines) ?? "")?.ok == true)
        tally.report(expecting: ["ok ok", "junk refused"])
    }
}
