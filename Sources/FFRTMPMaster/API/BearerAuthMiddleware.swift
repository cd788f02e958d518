import FFRTMPModel
import Hummingbird
import Logging
import Synchronization

/// Every route needs `Authorization: Bearer KEY`, except the open paths (/health, and
/// /metrics unless it was put behind the key). The key decides the principal:
///   - the admin key: every job and node-list route;
///   - the read-only key (optional): GET /api/jobs, /api/jobs/:id, /api/nodes (and /metrics);
///   - a node key (`ffrtmp_node_…`, looked up by its SHA-256 in the store on every request, so a
///     revoke is seen at once by every master sharing the database): the node routes only, and the
///     handlers check the node id (`Principal.mayAct(for:)`). With `bindNodeCertificates` (the
///     master runs with --tls-client-ca) the connection's client certificate must also name that
///     node, by CN or SAN DNS name (`NodeCertificate.check`); the admin and read keys are not
///     bound to a certificate's name.
/// The admin and read keys are compared in constant time; node keys by their hash.
public struct BearerAuthMiddleware<Context: PrincipalRequestContext>: RouterMiddleware {
    let key: [UInt8]
    let readKey: [UInt8]?
    let store: JobStore?
    let allowSharedNodeKey: Bool
    let bindNodeCertificates: Bool
    let openPaths: Set<String>
    let sharedKeyWarning = RateLimitedWarning(everyMs: 60_000)

    public init(key: String, readKey: String? = nil, store: JobStore? = nil, allowSharedNodeKey: Bool = false,
                bindNodeCertificates: Bool = false, openPaths: Set<String>) {
        self.key = Array(key.utf8)
        self.readKey = readKey.map { Array($0.utf8) }
        self.store = store
        self.allowSharedNodeKey = allowSharedNodeKey
        self.bindNodeCertificates = bindNodeCertificates
        self.openPaths = openPaths
    }

    /// Which keys may call a route.
    enum RouteClass { case node, read, admin }

    static func classify(_ method: HTTPRequest.Method, _ path: String) -> RouteClass {
        let p = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch (method, p.count) {
        case (.post, 3) where p == ["api", "nodes", "register"]: return .node
        case (.post, 4) where p[0] == "api" && p[1] == "nodes" && ["heartbeat", "poll", "release"].contains(p[3]): return .node
        case (.get, 3) where p == ["api", "jobs", "next"]: return .node
        case (.post, 2) where p == ["api", "results"]: return .node
        case (.get, 2) where p == ["api", "jobs"] || p == ["api", "nodes"]: return .read
        case (.get, 3) where p[0] == "api" && p[1] == "jobs": return .read
        case (.get, 1) where p == ["metrics"]: return .read
        default: return .admin
        }
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if openPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "missing API key: send Authorization: Bearer KEY")
        }
        let presented = Array(header.utf8.dropFirst(7))
        let route = Self.classify(request.method, request.uri.path)
        let what = "\(request.method.rawValue) \(request.uri.path)"
        var context = context
        if Self.constantTimeEqual(presented, key) {
            switch route {
            case .admin, .read: context.principal = .admin
            case .node:
                guard allowSharedNodeKey else {
                    throw HTTPError(.forbidden, message: "the admin key may not call \(what): give each node its own key (ffrtmp-master nodes add NODE_ID), or run the master with --allow-shared-node-key while migrating")
                }
                if sharedKeyWarning.shouldWarn() {
                    context.logger.warning("a node route was called with the shared admin key (--allow-shared-node-key): any holder of it can act for any node; issue node keys with `ffrtmp-master nodes add NODE_ID`")
                }
                context.principal = .sharedNode
            }
        } else if let readKey, Self.constantTimeEqual(presented, readKey) {
            guard route == .read else { throw HTTPError(.forbidden, message: "the read-only key may not call \(what)") }
            context.principal = .reader
        } else if let store, presented.starts(with: Array(NodeKeys.prefix.utf8)) {
            guard let node = try await store.node(forKeyHash: NodeKeys.hash(String(decoding: presented, as: UTF8.self))) else {
                throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "unknown or revoked node key")
            }
            guard route == .node else { throw HTTPError(.forbidden, message: "node key of \"\(node)\" may not call \(what): node keys may only call the node routes") }
            if bindNodeCertificates { try await NodeCertificate.check(node: node, certificate: context.clientCertificateDER) }
            context.principal = .node(node)
        } else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "wrong API key")
        }
        return try await next(request, context)
    }

    /// Runs in time that depends only on the lengths, never on where the bytes differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0
    }
}

/// True at most once per `everyMs` (the shared-key warning: once a minute, not per request).
public final class RateLimitedWarning: Sendable {
    let everyMs: Int64
    let last = Mutex<Int64?>(nil)

    public init(everyMs: Int64) { self.everyMs = everyMs }

    public func shouldWarn(now: Int64 = Clock.realtimeNanoseconds() / 1_000_000) -> Bool {
        last.withLock { last in
            if let l = last, now - l < everyMs { return false }
            last = now
            return true
        }
    }
}
