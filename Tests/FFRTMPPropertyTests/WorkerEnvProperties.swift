import FFRTMPAgent
import FFRTMPCore
import Foundation
import PropertyBased
import Testing
import FFRTMPTestSupport

/// worker.env (systemd EnvironmentFile syntax) and WorkerConfig: well-formed files parse to
/// exactly what they say, whatever the line endings and indentation; random lines and bytes
/// parse or fail with the line number; bad values fail naming the key.
@Suite struct WorkerEnvProperties {
    static let keyStart = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
    static let keyRest = keyStart + Array("0123456789")

    static func key(_ r: inout RNG) -> String {
        String(keyStart.pick(&r)) + String((0..<int(0...12, &r)).map { _ in keyRest.pick(&r) })
    }

    /// A value as an operator writes it: no newline, no surrounding blanks, not itself quoted.
    static func value(_ r: inout RNG) -> String {
        let chars = Array("abcXYZ019/:._-=#,@%+ ") + ["é", "\u{3000}", "$", "`", ";", "'", "\""]
        var v = String((0..<int(0...20, &r)).map { _ in chars.pick(&r) })
        while let f = v.unicodeScalars.first, f == " " || f == "\"" || f == "'" { v.removeFirst() }
        while let l = v.unicodeScalars.last, l == " " || l == "\"" || l == "'" { v.removeLast() }
        return v
    }

    static func blank(_ r: inout RNG) -> String { String((0..<int(0...3, &r)).map { _ in [" ", "\t"].pick(&r) }) }

    /// A well-formed file and what it must parse to (the last assignment of a key wins).
    static func wellFormed(_ r: inout RNG) -> (text: String, expected: [String: String], eol: String) {
        var lines: [String] = []
        var expected: [String: String] = [:]
        var keys: [String] = []
        for _ in 0..<int(0...12, &r) {
            switch int(0...5, &r) {
            case 0: lines.append(Self.blank(&r))
            case 1: lines.append(Self.blank(&r) + "#" + Self.value(&r))
            default:
                let k = keys.isEmpty || chance(0.8, &r) ? Self.key(&r) : keys.pick(&r)
                keys.append(k)
                let v = Self.value(&r)
                let q = chance(0.3, &r) ? ["\"", "'"].pick(&r) : ""
                lines.append(Self.blank(&r) + k + (chance(0.2, &r) ? " " : "") + "=" + (chance(0.2, &r) ? " " : "") + q + v + q + Self.blank(&r))
                expected[k] = v
            }
        }
        let eol = ["\n", "\n", "\r\n"].pick(&r)
        return (lines.joined(separator: eol) + (chance(0.7, &r) ? eol : ""), expected, eol == "\n" ? "LF" : "CRLF")
    }

    @Test func wellFormedFilesParseToWhatTheySay() async {
        let tally = Tally("worker.env well-formed")
        await propertyCheck(count: Iterations.count(3000), input: gen { r in Self.wellFormed(&r) }) { f in
            tally.add(f.eol)
            failing("\(f.text.debugDescription)") {
                let got = try EnvFile.parse(f.text)
                #expect(got == f.expected, "\(f.text.debugDescription) parsed as \(got), expected \(f.expected)")
            }
        }
        tally.report(expecting: ["LF", "CRLF"])
    }

    /// Lines that are KEY=VALUE by the documented rule (ASCII key) or Self.blank or comments.
    static func isPlainlyGood(_ line: String) -> Bool {
        let t = line.unicodeScalars.drop { $0 == " " || $0 == "\t" }
        if t.isEmpty || t.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) || t.first == "#" { return true }
        guard let eq = t.firstIndex(of: "=") else { return false }
        let k = t[..<eq].reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        guard let first = k.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return k.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// Found by the property below: a line of carriage returns only is blank, as systemd reads it.
    @Test func carriageReturnsAloneAreABlankLine() throws {
        #expect(try EnvFile.parse("A=1\n\r\r\n \r\t\nB=2 \r\r\n") == ["A": "1", "B": "2"])
    }

    @Test func randomTextParsesOrNamesTheLine() async {
        let tally = Tally("worker.env random")
        await propertyCheck(count: Iterations.count(3000), input: gen { r -> String in
            var lines = Self.wellFormed(&r).text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
            for _ in 0..<int(1...3, &r) {
                let junk = oneOf(&r, [
                    { r in Fragments.hostileMix(&r) },
                    { r in Fragments.unicodeString(0...30, &r) },
                    { r in "=" + Self.value(&r) },
                    { r in Fragments.anyString(&r) + "=" + Self.value(&r) },
                    { r in Self.key(&r) },
                    { r in String(decoding: randomBytes(0...20, &r), as: UTF8.self) },
                ])
                lines.insert(junk, at: int(0...lines.count, &r))
            }
            return lines.joined(separator: "\n")
        }) { text in
            let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
            do {
                _ = try EnvFile.parse(text)
                tally.add("parsed")
            } catch let e as EnvFile.LineError {
                tally.add("line error")
                #expect((1...lines.count).contains(e.line), "line \(e.line) of \(lines.count): \(text.debugDescription)")
                #expect(e.description.hasPrefix("line \(e.line): "), "\(e)")
                if (1...lines.count).contains(e.line) {
                    let bad = lines[e.line - 1]
                    #expect(!Self.isPlainlyGood(bad), "line \(e.line) \(bad.debugDescription) is KEY=VALUE, Self.blank or a comment, yet refused: \(e)")
                    // Every line before the one named was fine by the same rule or accepted as a wider key.
                    #expect(lines[..<(e.line - 1)].allSatisfy { Self.isPlainlyGood($0) || $0.unicodeScalars.contains("=") },
                            "an earlier bad line was passed over: \(text.debugDescription)")
                }
            } catch {
                Issue.record("\(text.debugDescription): unexpected error \(error)")
            }
            if lines.allSatisfy(Self.isPlainlyGood) {
                #expect(throws: Never.self, "every line is well-formed: \(text.debugDescription)") { try EnvFile.parse(text) }
            }
        }
        tally.report(expecting: ["parsed", "line error"])
    }

    // MARK: WorkerConfig

    struct Setting: Sendable {
        let key: String
        let valid: @Sendable (inout RNG) -> String
        let invalid: @Sendable (inout RNG) -> String
    }

    static func number(_ range: ClosedRange<Double>) -> (@Sendable (inout RNG) -> String, @Sendable (inout RNG) -> String) {
        ({ r in String(Double.random(in: range, using: &r)) },
         { r in
            [String(range.lowerBound - 1), String(range.upperBound + 1), "nan", "inf", "-inf", "1e400", "abc", "5s", "0x", "--1", "1,5",
             "99999999999999999999999999"].filter { Double($0).map { !range.contains($0) } ?? true }.pick(&r)
         })
    }

    static func integer(_ range: ClosedRange<Int>) -> (@Sendable (inout RNG) -> String, @Sendable (inout RNG) -> String) {
        ({ r in String(Int.random(in: range, using: &r)) },
         { r in
            [String(range.lowerBound - 1), String(range.upperBound + 1), "99999999999999999999", "-9223372036854775809", "1.5",
             "NaN", "four", "1e3", "0x10", "١٢"].pick(&r)
         })
    }

    static let boolWords = ["true", "1", "yes", "on", "false", "0", "no", "off", "TRUE", "Off", "YES"]
    static func absPath(_ r: inout RNG) -> String { "/" + Fragments.alnumString(1...10, &r) + "/" + Fragments.alnumString(1...10, &r) }

    static let settings: [Setting] = {
        var s: [Setting] = []
        func add(_ key: String, _ pair: (@Sendable (inout RNG) -> String, @Sendable (inout RNG) -> String)) {
            s.append(Setting(key: key, valid: pair.0, invalid: pair.1))
        }
        add("MAX_JOBS", integer(1...1024))
        add("METRICS_PORT", integer(1...65535))
        add("WRAPPER_DEFAULT_CPU_WEIGHT", integer(1...10_000))
        add("WRAPPER_DEFAULT_MEMORY_MAX_MB", integer(1...(1 << 30)))
        add("HEARTBEAT_INTERVAL", number(0.1...3600))
        add("POLL_INTERVAL", number(0.05...3600))
        add("AUTO_ATTACH_MIN_AGE", number(0...86400))
        add("POLL_RESERVE_MB", integer(0...1_048_576))
        add("AUTO_ATTACH_INTERVAL", number(0.5...3600))
        add("AUTO_ATTACH_MAX_JOBS", integer(1...1024))
        add("AUTO_ATTACH_FROM", ({ r in (1...3).map { _ in ["/user.slice", "/", "/system.slice/" + Fragments.alnumString(1...8, &r) + ".service", absPath(&r)].pick(&r) }.joined(separator: ",") },
                                 { r in ["user.slice", "/a/../b", "/a//b", "/./x", ",", "/x,relative", "/a/.."].pick(&r) }))
        add("AUTO_ATTACH_TARGETS", ({ r in (1...3).map { _ in ["ffmpeg", "gst-launch-1.0", Fragments.alnumString(1...15, &r)].pick(&r) }.joined(separator: ",") },
                                    { r in ["/usr/bin/ffmpeg", "ffmpeg,a-name-of-sixteen", "x/y", "ffmpeg,./ffmpeg"].pick(&r) }))
        add("AUTO_ATTACH_USERS", ({ r in ["root", "0", "nobody", String(int(0...60000, &r)), "root,65534"].pick(&r) },
                                  { r in ["no-such-user-ffrtmp", ",", "root,no-such-user-ffrtmp", "-1x"].pick(&r) }))
        for k in ["WRAPPER_ENABLED", "AUTO_ATTACH", "AUTO_ATTACH_DRY_RUN"] {
            add(k, ({ r in boolWords.pick(&r) }, { r in ["maybe", "2", "tru", "y", "enable", "\u{0}", "true false"].pick(&r) }))
        }
        for k in ["FFMPEG_PATH", "GST_LAUNCH_PATH", "FFRTMP_STATE_DIR", "MASTER_CA_FILE"] {
            add(k, (absPath, { r in ["ffmpeg", "./ffmpeg", "~/bin/ffmpeg", "usr/bin/x", "C:\\ffmpeg"].pick(&r) }))
        }
        add("NODE_ID", ({ r in Fragments.validID(&r) }, { r in WireSchemas.invalidIDString(&r).replacingOccurrences(of: "\n", with: "") }))
        add("WRAPPER_DEFAULT_CPU_MAX", ({ r in if case .str(let v) = WireSchemas.cpuMax(&r) { return v }; return "max" },
                                        { r in if case .str(let v) = WireSchemas.badCPUMax(&r) { return v }; return "5" }))
        add("MASTER_URL", ({ r in ["http://127.0.0.1:", "https://master.example:", "https://[::1]:"].pick(&r) + String(int(1...65535, &r)) },
                          { r in ["ftp://x", "127.0.0.1:80", "HTTP://x", "x", "https://", "http://h:0", "https://u:p@h", "http://h/?k=1", "https://h:99999"].pick(&r) }))
        return s
    }()

    static func stable(_ v: String) -> Bool {
        guard let f = v.unicodeScalars.first, let l = v.unicodeScalars.last else { return false }
        let edge: Set<Unicode.Scalar> = [" ", "\t", "\r", "\"", "'"]
        return !edge.contains(f) && !edge.contains(l) && !v.unicodeScalars.contains("\n")
    }

    @Test func workerConfigLoadsOrNamesTheKey() async {
        let tally = Tally("WorkerConfig.load")
        await propertyCheck(count: Iterations.count(3000), input: gen { r -> (String, Set<String>) in
            var lines: [String] = []
            var bad: Set<String> = []
            var hasURL = false, hasKey = false
            for s in Self.settings where chance(0.35, &r) {
                let invalid = chance(0.25, &r)
                var v = invalid ? s.invalid(&r) : s.valid(&r)
                // A value must mean in the file what it means here: one line, nothing that the
                // file syntax trims or unquotes, and (for NODE_ID) still invalid after that.
                for _ in 0..<20 where !Self.stable(v) || (invalid && s.key == "NODE_ID" && WireSchemas.isValidID(v)) {
                    v = invalid ? s.invalid(&r) : s.valid(&r)
                }
                if !Self.stable(v) || (invalid && s.key == "NODE_ID" && WireSchemas.isValidID(v)) { v = invalid ? "." : s.valid(&r) }
                if invalid { bad.insert(s.key) }
                if s.key == "MASTER_URL" { hasURL = true }
                lines.append("\(s.key)=\(v)")
            }
            if chance(0.5, &r) { lines.append("FFRTMP_API_KEY=" + Fragments.alnumString(8...40, &r)); hasKey = true }
            if hasURL && !hasKey && !bad.contains("MASTER_URL") { bad.insert("FFRTMP_API_KEY") }
            if !lines.contains(where: { $0.hasPrefix("NODE_ID=") }) && chance(0.5, &r) { lines.append("NODE_ID=n1") }
            return (lines.shuffled(using: &r).joined(separator: "\n"), bad)
        }) { input in
            let (text, bad) = input
            do {
                let c = try WorkerConfig.load(file: text, environment: [:])
                tally.add("loaded")
                #expect(bad.isEmpty, "\(text.debugDescription) loaded although \(bad) is invalid: \(c)")
                #expect((1...1024).contains(c.maxJobs) && c.heartbeatInterval >= 0.1 && c.pollInterval >= 0.05, "\(c)")
                #expect(WireSchemas.isValidID(c.nodeID), "node id \(c.nodeID.debugDescription)")
                #expect(c.ffmpegPath.hasPrefix("/") && c.gstLaunchPath.hasPrefix("/"), "\(c)")
            } catch let e as WorkerConfig.Invalid {
                tally.add("refused")
                #expect(bad.contains(e.key), "\(text.debugDescription): refused for \(e.key), but the invalid keys were \(bad): \(e)")
                #expect(e.description.hasPrefix("invalid \(e.key)="), "\(e)")
            } catch {
                Issue.record("\(text.debugDescription): not a WorkerConfig.Invalid: \(error)")
            }
        }
        tally.report(expecting: ["loaded", "refused"])
    }

    /// set_wrapper's write-back keeps every other line, in a file of any shape.
    @Test func persistChangesOnlyItsKey() async throws {
        let dir = try TempDir()
        let file = dir.path + "/worker.env"
        let tally = Tally("WorkerConfig.persist")
        await propertyCheck(count: Iterations.count(500), input: gen { r in (Self.wellFormed(&r), chance(0.5, &r)) }) { input in
            let (f, on) = input
            tally.add(f.eol)
            failing("\(f.text.debugDescription)") {
                try f.text.write(toFile: file, atomically: false, encoding: .utf8)
                try WorkerConfig.persist(key: "WRAPPER_ENABLED", value: on ? "true" : "false", in: file)
                var expected = f.expected
                expected["WRAPPER_ENABLED"] = on ? "true" : "false"
                let got = try EnvFile.parse(String(contentsOfFile: file, encoding: .utf8))
                #expect(got == expected, "\(f.text.debugDescription) → \(got)")
            }
        }
        tally.report(expecting: ["LF", "CRLF"])
    }
}
