import Glibc
import Hummingbird
import HummingbirdCore
import Logging

/// What idle and hostile clients may cost the master's HTTP server: an idle connection is
/// closed after `idleTimeoutSeconds`, at most `maxConnections` are open at once (beyond that,
/// new ones wait in the kernel's backlog until one closes), and the header section is capped
/// at 16 KiB. With the open-file limit raised to its hard limit at start (and `LimitNOFILE`
/// in the unit), idle sockets cannot take /health, heartbeats or polls down.
public struct ServerLimits: Sendable, Equatable {
    public var idleTimeoutSeconds: Int
    public var maxConnections: Int

    public init(idleTimeoutSeconds: Int = 30, maxConnections: Int = 10_000) {
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.maxConnections = maxConnections
    }

    /// HTTP/1.1 with the idle timeout and a header cap (a job or a result needs a few headers).
    public var http1: HTTPServerBuilder {
        .http1(configuration: .init(idleTimeout: .seconds(Int64(idleTimeoutSeconds)),
                                    httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 16 << 10, maxHeaderFieldCount: 100)))
    }

    public func configuration(host: String, port: Int, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(address: .hostname(host, port: port), serverName: "ffrtmp-master", backlog: 1024,
                                 availableConnectionsDelegate: MaximumAvailableConnections(maxConnections, logger: logger))
    }

    /// Raises the soft open-file limit to the hard one (systemd's default soft limit is 1024)
    /// and returns it: the master needs a descriptor per connection, plus its database's.
    public static func raiseOpenFileLimit() -> Int {
        var rl = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl) == 0 else { return -1 }
        if rl.rlim_cur < rl.rlim_max {
            var up = rl
            up.rlim_cur = rl.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &up) == 0 { rl = up }
        }
        return rl.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(rl.rlim_cur)
    }
}
