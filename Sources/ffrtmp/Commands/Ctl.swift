import ArgumentParser
import FFRTMPAgent
import FFRTMPCore

extension FFRTMP {
    struct Ctl: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one request to the running agent's control socket.",
            discussion: """
                REQUEST is a JSON object, e.g. '{"op":"status"}', '{"op":"set_wrapper","enabled":true}', \
                '{"op":"launch_test","duration_seconds":10,"cpu_max":"50000 100000"}', '{"op":"kill","job":"ID"}', \
                '{"op":"attach","pgid":1234}', '{"op":"list"}'. Prints the agent's JSON answer; exits 1 when \
                it says "ok": false. Only root, the agent's user and the ffrtmp group are let in.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The request, a JSON object.")
        var request: String

        func run() throws {
            do {
                let answer = try ControlClient.send(stateDir: global.journal().stateDir, request: request)
                Output.out(answer)
                if !answer.contains(#""ok":true"#) { throw ExitCode(1) }
            } catch let e as ExitCode { throw e } catch { throw fail(error, status: 1) }
        }
    }
}
