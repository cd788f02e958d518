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

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        // The thread inherits the caller's signal mask, so the agent's blocked control
        // signals stay blocked here and only its signalfd sees them.
        pthread_create(&tid, nil, { ctx in
            Unmanaged<SocketServer>.fromOpaque(ctx!).takeRetainedValue().serve()
            return nil
        }, box)
        pthread_detach(tid)
    }

    func serve() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { if errno == EINTR || errno == ECONNABORTED { continue }; return }
            handle(c)
            close(c)
        }
    }
}
