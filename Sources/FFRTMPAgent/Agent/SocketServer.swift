import FFRTMPCore
import Glibc

/// One detached thread that accepts on a listening socket and hands each connection to
/// `handle`, closing it afterwards. Shared by the metrics server and the control socket.
final class SocketServer: @unchecked Sendable {
    let fd: Int32
    let handle: (Int32) -> Void

    init(fd: Int32, handle: @escaping (Int32) -> Void) {
        self.fd = fd
        self.handle = handle
    }

    /// The thread inherits the caller's signal mask, so the agent's blocked control
    /// signals stay blocked there and only its signalfd sees them.
    func start() {
        Detached.run { [self] in serve() }
    }

    func serve() {
        while true {
            // CLOEXEC: a connection must never be inherited by a job spawned meanwhile.
            let c = Sys.acceptCloexec(fd)
            if c < 0 { if errno == EINTR || errno == ECONNABORTED { continue }; return }
            handle(c)
            close(c)
        }
    }
}

/// Runs a closure on its own detached thread (signal mask inherited from the caller).
public enum Detached {
    final class Box: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    public static func run(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var tid = pthread_t()
        pthread_create(&tid, nil, { ctx in
            Unmanaged<Box>.fromOpaque(ctx!).takeRetainedValue().body()
            return nil
        }, box)
        pthread_detach(tid)
    }
}
