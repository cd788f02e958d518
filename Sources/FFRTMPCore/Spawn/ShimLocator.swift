import Glibc

/// Finds the ffrtmp-shim binary: FFRTMP_SHIM, then ../libexec/ffrtmp/ beside our own
/// executable (the install layout, and where scripts/build-shim.sh puts the libc-only
/// build), then next to it (SwiftPM's build), then the system install paths.
public enum ShimLocator {
    public static func locate(environment: [String: String]) throws -> String {
        do { return try locate(program: "ffrtmp-shim", override: environment["FFRTMP_SHIM"]) } catch let FFRTMPError.programNotFound(_, searched) {
            throw FFRTMPError.shimNotFound(searched: searched)
        }
    }

    /// A companion program: `override` (an environment variable's value), then
    /// ../libexec/ffrtmp/ and the directory of our own executable, then the system paths.
    public static func locate(program: String, override: String?) throws -> String {
        var searched: [String] = []
        if let p = override, !p.isEmpty {
            if access(p, X_OK) == 0 { return p }
            searched.append(p)
        }
        var candidates: [String] = []
        if let exe = selfExecutable() {
            let dir = String(exe[..<(exe.lastIndex(of: "/") ?? exe.startIndex)])
            candidates.append(dir + "/../libexec/ffrtmp/" + program)
            candidates.append(dir + "/" + program)
        }
        candidates += ["/usr/local/libexec/ffrtmp/" + program, "/usr/libexec/ffrtmp/" + program]
        for c in candidates {
            if access(c, X_OK) == 0 { return c }
            searched.append(c)
        }
        throw FFRTMPError.programNotFound(program: program, searched: searched)
    }

    static func selfExecutable() -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
