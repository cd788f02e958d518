import Dispatch
import FFRTMPAgent
import FFRTMPCore
import Hummingbird
import Logging
import Synchronization

/// GET /metrics and GET /health on Hummingbird: concurrent connections on NIO's event loops,
/// idle ones closed after 10 s, so idle or slow sockets can never starve a scrape (the hand-made
/// server this replaces answered one connection at a time). Only the daemon binary links it.
enum MetricsHTTP {
    struct StartFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// Binds HOST:PORT and returns once the server listens; throws if it cannot (port in use, bad
    /// address). The server then runs on its own task for the life of the process.
    static func start(host: String, port: Int, render: @escaping @Sendable () -> String, health: @escaping @Sendable () -> String,
                      logger: Logger) throws {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: render())))
        }
        router.get("health") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: health())))
        }
        let started = DispatchSemaphore(value: 0)
        let failure = Failure()
        let app = Application(router: router, server: .http1(configuration: .init(idleTimeout: .seconds(10))),
                              configuration: .init(address: .hostname(host, port: port), serverName: "ffrtmp-agent"),
                              onServerRunning: { _ in started.signal() }, logger: logger)
        // run(), not runService(): no ServiceGroup signal handlers; the agent's loop owns
        // SIGTERM/SIGINT/SIGHUP through its signalfd.
        Task.detached {
            do { try await app.run() } catch {
                failure.set("\(error)")
                started.signal()
            }
        }
        guard started.wait(timeout: .now() + 10) == .success else {
            throw StartFailed(description: "the metrics server on \(host):\(port) did not start within 10 s")
        }
        if let why = failure.get() { throw StartFailed(description: "cannot serve metrics on \(host):\(port) (METRICS_LISTEN, METRICS_PORT): \(why)") }
    }

    final class Failure: Sendable {
        let text = Mutex<String?>(nil)
        func set(_ s: String) { text.withLock { $0 = s } }
        func get() -> String? { text.withLock { $0 } }
    }
}
