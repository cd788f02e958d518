import ArgumentParser
import FFRTMPCLI
import FFRTMPCore
import Glibc

extension FFRTMP {
    /// `ffrtmp console` runs the ffrtmp-console binary installed beside ffrtmp: ncurses stays
    /// out of this binary, which every `ffrtmp run` loads.
    struct Console: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The operator console: live jobs, limits, usage and SLA; launch, wrapper switch, adopt, kill.",
            discussion: """
                Options: --state-dir DIR, --cgroup-parent PATH, --config WORKER_ENV, --interval SEC (default 1), \
                --no-color (also NO_COLOR), --readonly. Keys: ? in the console. docs/CONSOLE.md.
                """)

        @Argument(parsing: .allUnrecognized, help: "Options for the console (see above).")
        var options: [String] = []

        func run() throws {
            let env = ProcessEnvironment.current()
            let path: String
            do { path = try ShimLocator.locate(program: "ffrtmp-console", override: env["FFRTMP_CONSOLE"]) } catch { throw fail(error, status: 1) }
            let argv = [path] + options
            var cargs = argv.map { strdup($0) } + [nil]
            execv(path, &cargs)
            throw fail(FFRTMPError.io(path: path, operation: "execute", errno: errno), status: 1)
        }
    }
}
