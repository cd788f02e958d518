import FFRTMPCLI
import FFRTMPCore
import Glibc

/// `ffrtmp agent ...` and `ffrtmp jobs ...` run ffrtmp-agent, installed beside ffrtmp (libexec):
/// the daemon's dependencies stay out of this binary. The arguments, --help included, go to it
/// unchanged; it is found like ffrtmp-shim and ffrtmp-console (FFRTMP_AGENT overrides).
enum DaemonCommands {
    static let names: Set<String> = ["agent", "jobs"]

    static func exec(_ args: [String]) -> Never {
        let env = ProcessEnvironment.current()
        do {
            let path = try ShimLocator.locate(program: "ffrtmp-agent", override: env["FFRTMP_AGENT"])
            var cargs = ([path] + args).map { strdup($0) } + [nil]
            execv(path, &cargs)
            Output.err("ffrtmp: error: \(FFRTMPError.io(path: path, operation: "execute", errno: errno))")
        } catch {
            Output.err("ffrtmp: error: \(error)")
        }
        exit(1)
    }
}
