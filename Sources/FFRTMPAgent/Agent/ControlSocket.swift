import FFRTMPCore
import FFRTMPWire
import FoundationEssentials
import Dispatch
import Glibc
import Synchronization

/// `state_dir/agent.sock`, mode 0660 (group `ffrtmp` when it exists). Peers are checked with
/// SO_PEERCRED: root, the agent's own user, or a member of the `ffrtmp` group; anyone else is
/// refused before their request is read. Requests are handed to the agent's main loop (one at a
/// time, between ticks), so they never race the loop's own state; an answer may come later,
/// from another thread (a kill waits out its grace period off the loop).
public final class ControlSocket: @unchecked Sendable {
    public let path: String
    let fd: Int32
    let allowedGroup: gid_t?
    let pending = Mutex<[(request: ControlRequest, reply: Reply)]>([])

    /// One answer, delivered once: the connection's thread waits on the semaphore, not in a sleep loop.
    final class Reply: @unchecked Sendable {
        let value = Mutex<String?>(nil)
        let ready = DispatchSemaphore(value: 0)
        func send(_ s: String) {
            let first = value.withLock { v -> Bool in
                guard v == nil else { return false }
                v = s
                return true
            }
            if first { ready.signal() }
        }
    }

    public init(stateDir: String) throws {
        path = stateDir + "/agent.sock"
        unlink(path)
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw FFRTMPError.io(path: path, operation: "create socket", errno: errno) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(s)
            throw FFRTMPError.invalidField(field: "FFRTMP_STATE_DIR", value: stateDir, expected: "a path short enough for a Unix socket (under 100 bytes)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let old = umask(0o117)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        umask(old)
        guard ok == 0, listen(s, 16) == 0 else {
            let e = errno
            close(s)
            throw FFRTMPError.io(path: path, operation: "listen on", errno: e)
        }
        if let g = getgrnam("ffrtmp") {
            allowedGroup = g.pointee.gr_gid
            chown(path, geteuid(), g.pointee.gr_gid)
        } else {
            allowedGroup = nil
        }
        fd = s
    }

    /// Who may talk to the agent: root, its own user, or the ffrtmp group (primary or supplementary).
    func authorised(_ c: Int32) -> (Bool, String) {
        guard let cred = Sys.peerCredentials(c) else { return (false, "no peer credentials") }
        if cred.uid == 0 || cred.uid == geteuid() { return (true, "") }
        // Groups from SO_PEERGROUPS, fixed at connect time: reading /proc/PID/status instead
        // would race with pid reuse.
        if let g = allowedGroup, cred.gid == g || Sys.peerGroups(c).contains(g) { return (true, "") }
        return (false, "uid \(cred.uid) is not root, the agent's user, or in group ffrtmp")
    }

    public func start() {
        SocketServer(fd: fd, handle: { [self] c in handle(c) }).start()
    }

    func handle(_ c: Int32) {
        func answer(_ s: String) { _ = (s + "\n").withCString { send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        let (ok, why) = authorised(c)
        guard ok else { return answer(ControlJSON.failure("unauthorised peer: \(why)")) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 8192)
        var got: [UInt8] = []
        while !got.contains(10) && got.count < 8192 {
            let n = recv(c, &buf, buf.count, 0)
            if n <= 0 { break }
            got += buf[0..<n]
        }
        let line = got.split(separator: 10).first.map { Array($0) } ?? []
        let req: ControlRequest
        do {
            req = try WireDecoding.decode(ControlRequest.self, from: Data(line))
        } catch let unknown as UnknownControlOp {
            // Not a "bad request": the op is named, with the ones there are.
            return answer(ControlJSON.failure(unknown.description))
        } catch {
            return answer(ControlJSON.failure("bad request: \(error); send one JSON object like {\"op\":\"status\"} on one line"))
        }
        let reply = Reply()
        pending.withLock { $0.append((req, reply)) }
        if reply.ready.wait(timeout: .now() + 30) == .success, let r = reply.value.withLock({ $0 }) { return answer(r) }
        answer(ControlJSON.failure("the agent did not answer within 30 s"))
    }

    /// Called by the agent's loop: hands each waiting request to `handler`, with the function
    /// that answers it (now, or later from another thread).
    public func drain(_ handler: (ControlRequest, @escaping @Sendable (String) -> Void) -> Void) {
        let batch = pending.withLock { q -> [(request: ControlRequest, reply: Reply)] in
            let b = q
            q.removeAll()
            return b
        }
        for (req, reply) in batch { handler(req) { reply.send($0) } }
    }
}
