import ArgumentParser
import FFRTMPCLI
import FFRTMPCore
import FFRTMPWire
import FoundationEssentials

extension FFRTMP {
    struct Ctl: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one request to the running agent's control socket.",
            discussion: """
                REQUEST is a JSON object, e.g. '{"op":"status"}', '{"op":"set_wrapper","enabled":true}', \
                '{"op":"launch_test","duration_seconds":10,"cpu_max":"50000 100000"}', '{"op":"kill","job":"ID"}', \
                '{"op":"attach","pgid":1234}', '{"op":"list"}'. The ops: \(ControlOp.listed). Prints the agent's \
                JSON answer; exits 1 when it says "ok": false. Only root, the agent's user and the ffrtmp group \
                are let in.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The request, a JSON object.")
        var request: String

        func run() throws {
            // Requests that change something are audited, like the console's (read-only ones are not).
            // A request that does not decode is sent anyway: the agent's answer says what is wrong.
            let op = (try? JSONDecoder().decode(ControlRequest.self, from: Data(request.utf8)))?.op
            let audited = op.flatMap { $0.isChanging ? $0.rawValue : nil }
            do {
                let answer = try ControlClient.send(stateDir: global.journal().stateDir, request: request)
                Output.out(answer)
                let ok = (try? JSONDecoder().decode(ControlReplyHead.self, from: Data(answer.utf8)))?.ok ?? false
                if let a = audited { global.audit(a, target: String(request.prefix(200)), succeeded: ok, detail: String(answer.prefix(300))) }
                if !ok { throw ExitCode(1) }
            } catch let e as ExitCode { throw e } catch {
                if let a = audited { global.audit(a, target: String(request.prefix(200)), succeeded: false, detail: "\(error)") }
                throw fail(error, status: 1)
            }
        }
    }
}
