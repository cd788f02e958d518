import Glibc

public enum Signals {
    static let table: [(String, Int32)] = [
        ("SIGHUP", SIGHUP), ("SIGINT", SIGINT), ("SIGQUIT", SIGQUIT), ("SIGILL", SIGILL), ("SIGTRAP", SIGTRAP),
        ("SIGABRT", SIGABRT), ("SIGBUS", SIGBUS), ("SIGFPE", SIGFPE), ("SIGKILL", SIGKILL), ("SIGUSR1", SIGUSR1),
        ("SIGSEGV", SIGSEGV), ("SIGUSR2", SIGUSR2), ("SIGPIPE", SIGPIPE), ("SIGALRM", SIGALRM), ("SIGTERM", SIGTERM),
        ("SIGCHLD", SIGCHLD), ("SIGCONT", SIGCONT), ("SIGSTOP", SIGSTOP), ("SIGTSTP", SIGTSTP), ("SIGXCPU", SIGXCPU),
        ("SIGXFSZ", SIGXFSZ), ("SIGSYS", SIGSYS),
    ]

    public static func name(_ n: Int32) -> String {
        table.first { $0.1 == n }?.0 ?? "SIG\(n)"
    }

    /// Accepts "TERM", "SIGTERM", "sigterm" or a number.
    public static func parse(_ raw: String) throws -> Int32 {
        if let n = Int32(raw), n > 0, n < 65 { return n }
        let up = raw.uppercased()
        let full = up.hasPrefix("SIG") ? up : "SIG" + up
        if let hit = table.first(where: { $0.0 == full }) { return hit.1 }
        throw FFRTMPError.invalidField(field: "--signal", value: raw, expected: "a signal name like TERM, INT, KILL or a number 1-64")
    }
}
