import Crypto
import FFRTMPWire

/// One key per node, bound to its node id. The store keeps only the SHA-256 of a key, so a
/// copy of the database does not hand out working keys.
public enum NodeKeys {
    /// Every node key starts with this, so a key in a file or a log line is recognisable
    /// (and the master knows to look it up in the store instead of comparing it to the admin key).
    public static let prefix = "ffrtmp_node_"

    /// 32 random bytes from the system's CSPRNG, hex, after the prefix.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = rng.next() }
        return prefix + hex(bytes)
    }

    /// The SHA-256 hex of a key: what `node_keys.key_hash` holds.
    public static func hash(_ key: String) -> String {
        hex(Array(SHA256.hash(data: Array(key.utf8))))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The refusal of a second live key for one node, with the way to rotate.
    static func alreadyHasKey(_ node: String) -> WireError {
        .conflict(reason: "node \"\(node)\" already has a live key; to rotate it: `ffrtmp-master nodes revoke \(node)`, then `ffrtmp-master nodes add \(node)`")
    }

    static func noLiveKey(_ node: String) -> WireError { .notFound(what: "live key for node", id: node) }
}

/// One row of `node_keys` without its hash: what `nodes list` shows.
public struct NodeKeyInfo: Equatable, Sendable {
    public var nodeID: String
    public var createdMs: Int64
    public var revokedMs: Int64?

    public init(nodeID: String, createdMs: Int64, revokedMs: Int64?) {
        self.nodeID = nodeID
        self.createdMs = createdMs
        self.revokedMs = revokedMs
    }
}
