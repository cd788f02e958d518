import Glibc

/// sd_notify(3) without libsystemd: one datagram per state to $NOTIFY_SOCKET.
public struct SystemdNotifier: Sendable {
    let path: String?
    /// Half of $WATCHDOG_USEC, the interval systemd recommends for WATCHDOG=1.
    public let watchdogIntervalNs: Int64?

    public init(environment: [String: String]) {
        path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        watchdogIntervalNs = environment["WATCHDOG_USEC"].flatMap { Int64($0) }.map { $0 * 1000 / 2 }
    }

    /// Never blocks: a stalled receiver (its queue full) must not stall the agent's loop,
    /// which is exactly what the watchdog is there to detect.
    public func notify(_ state: String) {
        guard let path else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        _ = state.withCString { msg in
            withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, msg, strlen(msg), Int32(MSG_NOSIGNAL | MSG_DONTWAIT), $0, len) } }
        }
    }
}
