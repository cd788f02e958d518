@testable import FFRTMPAgent
import FFRTMPCore
import FFRTMPWire
import Foundation
import PropertyBased
import Testing

/// Job parameters on their way to an engine argv. Values built to smuggle ffmpeg options,
/// shell or pipeline syntax, path traversal, off-limits paths or protocol prefixes are always
/// refused, naming the field; whatever is accepted yields an argv in which every element that
/// starts with '-' is one of the engine's own flags.
@Suite struct EngineParameterProperties {
    /// A parameters object and what the generator knows about each field it put in.
    struct Params: Sendable, CustomStringConvertible {
        var fields: [(String, J)] = []
        /// Fields holding a value that must be refused.
        var hostile: Set<String> = []
        /// Fields holding a random value (accepted or refused, the property decides nothing).
        var random: Set<String> = []
        var json: J { .obj(fields) }
        var description: String { "\(json) hostile=\(hostile.sorted()) random=\(random.sorted())" }
    }

    static let forbidden = Array("!;|&$`\"'\\<>(){}*?~ \t\n\r\u{0}\u{1b}\u{7f}\u{85}\u{a0}\u{2028}\u{3000}")

    /// A path inside one of the fixture's MEDIA_ROOTS (AgentFixture.mediaRoots); outputs carry
    /// a container extension (the muxer is chosen by it: a descriptor has no name to guess from).
    static func safePath(_ r: inout RNG, output: Bool = false) -> String {
        let exts = output ? [".mp4", ".ts", ".flv", ".mkv", "..mp4", ".png"] : [".mp4", ".ts", ".flv", "", ".m3u8", "..mp4"]
        return AgentFixture.mediaRoots.pick(&r) + "/" + Fragments.alnumString(1...10, &r) + exts.pick(&r)
    }

    static func safeURL(_ r: inout RNG, output: Bool) -> String {
        let schemes = output ? ["rtmp://", "rtmps://"] : ["rtmp://", "rtmps://", "srt://", "http://", "https://"]
        return schemes.pick(&r) + ["live.example", "10.0.0.1:1935", "[2001:db8::1]:8080", "cdn.example.com"].pick(&r) + "/" + Fragments.alnumString(1...8, &r)
    }

    /// A source or sink that must be refused, of every kind AGENT.md lists.
    static func hostileSource(_ r: inout RNG, output: Bool, stateDir: String) -> String {
        switch int(0...10, &r) {
        case 0: return "-" + [Fragments.alnumString(0...8, &r), Fragments.options.pick(&r), "i /etc/passwd"].pick(&r)
        case 1, 9, 10:
            var s = Array(chance(0.5, &r) ? safePath(&r) : safeURL(&r, output: output))
            s.insert(forbidden.pick(&r), at: int(0...s.count, &r))
            return String(s)
        case 2:
            let parts = ["/srv", "media", "..", "a", "..", "b.mp4"]
            var p = Array(parts.shuffled(using: &r).prefix(int(2...6, &r)))
            if !p.contains("..") { p.insert("..", at: int(0...p.count, &r)) }
            return (chance(0.5, &r) ? "/" : "") + p.joined(separator: chance(0.8, &r) ? "/" : "//")
        case 3: return Fragments.guardedPaths.pick(&r) + (chance(0.5, &r) ? "" : "/" + Fragments.alnumString(1...6, &r))
        case 4: return stateDir + ["", "/", "/jobs/x/exit.json", "/agent.sock", "//outbox", "/./jobs"].pick(&r)
        case 5:
            let p = Fragments.protocols.pick(&r)
            return p + (p.hasSuffix("://") ? "host/x" : "/srv/media/a.mp4")
        case 6: return output ? ["http://x/y", "https://x/y", "srt://x:1", "testsrc"].pick(&r) : "udp://239.0.0.1:1234"
        case 7: return ["", "-", "--", "-i", "-f", "-y", "-filter_complex"].pick(&r)
        case 8: return Fragments.validID(&r) + ":" + Fragments.alnumString(0...5, &r)  // "proto:" of any name
        default: preconditionFailure()
        }
    }

    static let ourFlags: Set<String> = ["-nostdin", "-hide_banner", "-loglevel", "-progress", "-nostats", "-re", "-f", "-i", "-t",
                                        "-c", "-c:v", "-preset", "-b:v", "-s", "-r", "-c:a", "-y", "-", "-e", "-update",
                                        "-format_whitelist", "-protocol_whitelist"]

    /// Mostly one hostile field among valid ones, so a refusal can only be for that field and a
    /// check that lets one kind of value through cannot hide behind another field's refusal;
    /// sometimes all valid (the accepted branch), sometimes random values anywhere.
    static func params(_ r: inout RNG, stateDir: String) -> Params {
        var p = Params()
        let mode = int(0...9, &r)  // 0...6: one hostile field, 7...8: all valid, 9: random values
        let names = ["input", "output", "codec", "bitrate", "preset", "resolution", "fps", "duration_seconds", "realtime", "resource_limits"]
        let target = mode <= 6 ? (chance(0.6, &r) ? ["input", "output"].pick(&r) : names.pick(&r)) : ""
        func put(_ name: String, _ valid: (inout RNG) -> J, _ hostile: (inout RNG) -> J, present: Double = 0.5) {
            if name == target {
                p.fields.append((name, hostile(&r)))
                p.hostile.insert("parameters." + name)
            } else if mode == 9 && chance(0.3, &r) {
                p.fields.append((name, J.random(&r)))
                p.random.insert("parameters." + name)
            } else if chance(present, &r) {
                p.fields.append((name, valid(&r)))
            }
        }
        func str(_ s: String) -> J { .str(s) }
        put("input", { r in str(chance(0.3, &r) ? "testsrc" : (chance(0.5, &r) ? safePath(&r) : safeURL(&r, output: false))) },
            { r in str(hostileSource(&r, output: false, stateDir: stateDir)) }, present: 0.98)
        if !p.fields.contains(where: { $0.0 == "input" }) { p.hostile.insert("parameters.input") }  // missing: refused
        put("output", { r in str(chance(0.5, &r) ? safePath(&r, output: true) : safeURL(&r, output: true)) },
            { r in str(hostileSource(&r, output: true, stateDir: stateDir)) })
        put("codec", { r in str(TranscodeParameters.codecs.sorted().pick(&r)) },
            { r in str(["libx264", "h264 -y", "H264", "copy;", "-c:v", "", "hevc\n", Fragments.hostileMix(&r)].pick(&r)) })
        put("bitrate", { r in str(String(int(1...9_999_999, &r)) + ["", "k", "K", "m", "M"].pick(&r)) },
            { r in str(["-1", "0", "00k", "0k", "12345678", "k", "", "1e3", "2500k -i x", "１２k", "٣k", "2500kk", "+5", " 5", "5 ",
                        String(Int.max), "-9223372036854775808"].pick(&r)) })
        put("preset", { r in str(TranscodeParameters.presets.sorted().pick(&r)) },
            { r in str(["fast -x", "-fast", "Fast", "placebo", "", "medium;id", Fragments.hostileMix(&r)].pick(&r)) })
        put("resolution", { r in str("\(int(16...7680, &r))x\(int(16...4320, &r))") },
            { r in str(["1280x720 -i x", "-1280x720", "0x0", "15x16", "7681x100", "100x4321", "1280*720", "x", "1280x", "x720",
                        "99999999999999999999x720", "1280x720x1", "١٢٨٠x٧٢٠", "1280X720", " 1280x720"].pick(&r)) })
        put("fps", { r in .num(String(int(1...240, &r))) },
            { r in [J.num("0"), .num("241"), .num("-1"), .num("0.5"), .str("30"), .bool(true), .num("1e9")].pick(&r) })
        put("duration_seconds", { r in .num(String(Double.random(in: 0.1...604_800, using: &r))) },
            { r in [J.num("0"), .num("-5"), .num("604801"), .num("0.05"), .str("10"), .num("1e300"), .arr([])].pick(&r) })
        put("realtime", { r in .bool(chance(0.5, &r)) }, { r in [J.str("true"), .num("1"), .str("yes"), .obj([])].pick(&r) })
        put("resource_limits", { r in
            .obj([("max_cpu_percent", .num(String(int(1...102_400, &r)))), ("timeout_sec", .num(String(Double.random(in: 0.001...86400, using: &r))))])
        }, { r in [J.str("x"), .arr([]), .obj([("max_cpu_percent", .num("-5"))]), .obj([("timeout_sec", .num("0"))]),
                  .obj([("max_memory_mb", .str("1"))])].pick(&r) }, present: 0.2)
        p.fields.shuffle(using: &r)
        return p
    }

    static func gstRefusesURL(_ p: Params, _ field: String) -> Bool {
        guard field == "parameters.input" || field == "parameters.output" else { return false }
        let name = String(field.dropFirst("parameters.".count))
        return p.fields.contains { $0.0 == name && $0.1.text.contains("://") }
    }

    /// Refused once opened: the path passed the checks as text, but the file was not there.
    static func refusedAsMissing(_ failure: String?, _ error: String) -> Bool {
        guard failure == "user_error", error.hasPrefix("parameters.input ") || error.hasPrefix("parameters.output ") else { return false }
        return error.contains("refused: does not exist") || error.contains("refused: a component on the way")
    }

    /// The field the agent's checks (before any file is opened) refuse, if any.
    static func refusedField(_ p: Params, engine: Engine, agent: Agent) -> String? {
        do {
            let t = try TranscodeParameters(p.json.decoded())
            try agent.media.check(t)
            _ = try agent.engines.argv(engine, t, files: .asGiven(t))
            return nil
        } catch {
            if let named = refusal(error) { return named.0 }
            Issue.record("\(p): \(error)")
            return nil
        }
    }

    /// The field and reason of a refusal: a wire error, or the media resolver's.
    static func refusal(_ e: Error) -> (String, String)? {
        switch e {
        case WireError.invalidField(let field, let reason): return (field, reason)
        case FFRTMPError.pathRefused(let field, _, let reason): return (field, reason)
        default: return nil
        }
    }

    /// The argv invariants for an accepted job.
    static func checkArgv(_ argv: [String], _ t: TranscodeParameters, engine: Engine, binary: String, _ p: Params) {
        #expect(argv.first == binary, "\(p): argv[0] \(argv.first ?? "none")")
        for (i, a) in argv.enumerated().dropFirst() {
            if a.hasPrefix("-") { #expect(ourFlags.contains(a), "\(p): argv[\(i)] \(a.debugDescription) is not one of the engine flags we pass") }
            #expect(!a.unicodeScalars.contains("\u{0}"), "\(p): argv[\(i)] holds a NUL")
        }
        let userStrings = [t.input, t.output, t.codec, t.bitrate, t.preset].compactMap { $0 }
        for u in userStrings { #expect(!u.hasPrefix("-"), "\(p): accepted value \(u.debugDescription) starts with '-'") }
        switch engine {
        case .gstreamer:
            // gst-launch joins argv into one description: a value must not be able to end its token.
            for a in argv where a != "!" {
                #expect(!a.contains("!") && !a.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "'" }), "\(p): gst token \(a.debugDescription)")
            }
        default:
            if !t.inputIsTestSource {
                let i = argv.firstIndex(of: "-i")
                #expect(i.map { argv[$0 + 1] } == t.input, "\(p): the input is not the single argument after -i: \(argv)")
            }
            #expect(argv.last == (t.output ?? "-"), "\(p): the output is not the last argument: \(argv)")
        }
    }

    /// The bulk property: the same checks Agent.start runs, in the same order.
    @Test func hostileParametersAreRefusedAndAcceptedOnesMakeSafeArgv() async throws {
        let fx = try AgentFixture()
        let stateDir = fx.stateDir
        let tally = Tally("engine parameters")
        let engines = EngineCommand(ffmpegPath: "/usr/bin/ffmpeg", gstLaunchPath: "/usr/bin/gst-launch-1.0")
        await propertyCheck(count: Iterations.count(6000), input: gen { r in Self.params(&r, stateDir: stateDir) }) { p in
            do {
                let t = try TranscodeParameters(p.json.decoded())
                try fx.agent.media.check(t)
                #expect(p.hostile.isEmpty, "\(p): accepted although \(p.hostile.sorted()) must be refused")
                tally.add("accepted")
                Self.checkArgv(engines.ffmpeg(t, files: .asGiven(t)), t, engine: .ffmpeg, binary: "/usr/bin/ffmpeg", p)
                do {
                    Self.checkArgv(try engines.gstreamer(t, files: .asGiven(t)), t, engine: .gstreamer, binary: "/usr/bin/gst-launch-1.0", p)
                } catch WireError.invalidField(let field, _) {
                    let url = (field == "parameters.input" && t.input.contains("://")) || (field == "parameters.output" && (t.output ?? "").contains("://"))
                    #expect((field == "parameters.codec" && t.codec != nil && t.codec != "h264") || url, "\(p): gstreamer refused: \(field)")
                }
            } catch let e {
                guard let why = Self.refusal(e) else { Issue.record("\(p): not a refusal naming a field: \(e)"); return }
                let (field, reason) = why
                tally.add(p.hostile.isEmpty ? "refused (random value)" : "refused")
                let named = p.hostile.union(p.random).contains { field == $0 || field.hasPrefix($0 + ".") }
                #expect(named, "\(p): refused for \(field) (\(reason)), which is not a field given a bad value")
                #expect(!p.hostile.isEmpty || !p.random.isEmpty, "\(p): refused for \(field): \(reason)")
            }
        }
        tally.report(expecting: ["accepted", "refused"])
    }

    /// End to end through Agent.start: a refused job is reported failed with failure_reason
    /// user_error and the field in its error; one that passes every check but cannot start
    /// (no engine, no shim here) is a platform_error. Nothing runs either way.
    @Test func agentReportsRefusedParametersAsUserError() async throws {
        let fx = try AgentFixture()
        let stateDir = fx.stateDir
        let tally = Tally("Agent.start parameters")
        var n = 0
        await propertyCheck(count: Iterations.count(400), input: gen { r in
            (Self.params(&r, stateDir: stateDir), [Engine.auto, .ffmpeg, .gstreamer].pick(&r), [Bool?.none, true, false].pick(&r))
        }) { input in
            let (p, engine, wrapper) = input
            n += 1
            let id = "prop-\(n)"
            // What the agent's own checks say, computed the way start() does.
            let refusal = Self.refusedField(p, engine: engine, agent: fx.agent)
            failing("\(p)") {
                let job = MasterJob(id: id, engine: engine, parameters: try p.json.decoded(), wrapperEnabled: wrapper, wrapperConstraints: nil,
                                    status: .assigned, nodeID: "prop-node", attempt: 1, cancelRequested: false, createdAt: "", updatedAt: "",
                                    result: nil, platformSLA: nil, platformSLAReason: nil, failureReason: nil)
                fx.agent.start(job)
            }
            guard let report = fx.queued(id) else { return fail("\(p): no result queued for \(id)") }
            #expect(report.status == .failed, "\(p): \(report.status)")
            let error = string(report.result?["error"]) ?? ""
            if let field = refusal {
                tally.add("user_error")
                // gst-launch encodes h264 only, and reads and writes local files only.
                let gstCodec = engine == .gstreamer && (field == "parameters.codec" || Self.gstRefusesURL(p, field))
                #expect(!p.hostile.isEmpty || !p.random.isEmpty || gstCodec, "\(p): refused (\(field)) without a bad value")
                #expect(report.failureReason == "user_error" && report.platformSLA == true && report.platformSLAReason == "bad_input",
                        "\(p): \(report.failureReason ?? "nil") \(report.platformSLAReason ?? "nil")")
                #expect(error.contains("invalid \(field):") || error.hasPrefix("\(field) "), "\(p): the reported error does not name \(field): \(error)")
            } else if Self.refusedAsMissing(report.failureReason, error) {
                // Passed the checks as text; then the file (or its directory) was not there.
                tally.add("user_error (no such file)")
                #expect(report.platformSLA == true, "\(p): \(report)")
            } else {
                tally.add("platform_error")
                #expect(p.hostile.isEmpty, "\(p): the agent's checks passed although \(p.hostile.sorted()) must be refused")
                #expect(report.failureReason == "platform_error" && report.platformSLA == false, "\(p): \(report)")
            }
            #expect(fx.agent.tracked.isEmpty, "\(p): a job is tracked although nothing could start")
        }
        // A job that never started leaves no journal dir behind (a restarted agent would find it).
        let left = (try? FileManager.default.contentsOfDirectory(atPath: fx.stateDir + "/jobs")) ?? []
        #expect(left.isEmpty, "journal dirs of jobs that never started: \(left.prefix(5))")
        tally.report(expecting: ["user_error", "platform_error"])
    }
}

func string(_ v: JSONValue?) -> String? {
    if case .string(let s)? = v { return s }
    return nil
}

extension J {
    func decoded() throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }
}
