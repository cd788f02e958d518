import Hummingbird
import NIOCore

/// The request context of the master: caps request bodies at 1 MiB (a job or a result
/// is a few KiB; anything larger is refused with 413 before it is read into memory), and
/// carries who the bearer key belongs to once BearerAuthMiddleware has checked it.
public struct MasterContext: PrincipalRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?
    /// The connection the request came on: its TLS handler holds the client certificate.
    let channel: any Channel
    public init(source: Source) {
        coreContext = .init(source: source)
        channel = source.channel
    }
    public var maxUploadSize: Int { 1 << 20 }
    public func clientCertificateDER() async throws -> [UInt8]? { try await channel.peerCertificateDER() }
}

/// Who is calling, from the bearer key.
public enum Principal: Equatable, Sendable {
    /// The admin key (FFRTMP_API_KEY / --api-key-file): jobs and the node list.
    case admin
    /// The read-only key (--read-key-file): GET jobs, a job, nodes (and /metrics).
    case reader
    /// A node key: the node routes, for this node id only.
    case node(String)
    /// The admin key on a node route of a master run with --allow-shared-node-key: may act
    /// for any node, as every key could before node keys (a migration aid).
    case sharedNode
}

public protocol PrincipalRequestContext: RequestContext {
    var principal: Principal? { get set }
    /// The client certificate of the connection (DER), nil without TLS or without one.
    func clientCertificateDER() async throws -> [UInt8]?
}

extension Principal {
    /// A node route acts for `node`: a node key only for its own id, the shared admin key
    /// (with --allow-shared-node-key) for any. Anything else is 403 naming both.
    public func mayAct(for node: String) throws {
        switch self {
        case .sharedNode: return
        case let .node(own) where own == node: return
        case let .node(own): throw HTTPError(.forbidden, message: "node key of \"\(own)\" may not act for node \"\(node)\"")
        case .admin, .reader: throw HTTPError(.forbidden, message: "only a node key may act for node \"\(node)\"")
        }
    }
}
