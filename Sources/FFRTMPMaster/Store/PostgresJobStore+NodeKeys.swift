import FFRTMPWire
import PostgresNIO

/// Node keys in PostgreSQL: one row per node (a re-add after a revoke replaces it), only the
/// hash. Every master sharing the database sees a revoke at once (no cache).
extension PostgresJobStore {
    static let nodeKeysSchema = [
        """
        CREATE TABLE IF NOT EXISTS node_keys (
          node_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, created_ms BIGINT NOT NULL, revoked_ms BIGINT)
        """,
    ]

    public func addNodeKey(nodeID: String) async throws -> String {
        let id = try WireValidation.nodeID(nodeID)
        let key = NodeKeys.generate()
        let hash = NodeKeys.hash(key)
        let now = JobRules.now()
        try await transaction { c in
            // The row lock makes a concurrent add for the same node wait, then see the live key.
            let live = try await c.query("SELECT 1 FROM node_keys WHERE node_id = \(id) AND revoked_ms IS NULL FOR UPDATE", logger: self.logger).collect()
            if !live.isEmpty { throw NodeKeys.alreadyHasKey(id) }
            let rows = try await c.query("""
                INSERT INTO node_keys (node_id, key_hash, created_ms, revoked_ms) VALUES (\(id), \(hash), \(now), NULL)
                ON CONFLICT (node_id) DO UPDATE SET key_hash = EXCLUDED.key_hash, created_ms = EXCLUDED.created_ms, revoked_ms = NULL
                WHERE node_keys.revoked_ms IS NOT NULL
                RETURNING node_id
                """, logger: self.logger).collect()
            if rows.isEmpty { throw NodeKeys.alreadyHasKey(id) }
        }
        return key
    }

    public func nodeKeys() async throws -> [NodeKeyInfo] {
        try await client.withConnection { c in
            var out: [NodeKeyInfo] = []
            let q: PostgresQuery = "SELECT node_id, created_ms, revoked_ms FROM node_keys ORDER BY node_id"
            for try await (n, created, revoked) in try await c.query(q, logger: self.logger).decode((String, Int64, Int64?).self) {
                out.append(NodeKeyInfo(nodeID: n, createdMs: created, revokedMs: revoked))
            }
            return out
        }
    }

    public func revokeNodeKey(nodeID: String) async throws {
        let id = try WireValidation.nodeID(nodeID)
        let now = JobRules.now()
        try await transaction { c in
            let rows = try await c.query("UPDATE node_keys SET revoked_ms = \(now) WHERE node_id = \(id) AND revoked_ms IS NULL RETURNING node_id",
                                         logger: self.logger).collect()
            if rows.isEmpty { throw NodeKeys.noLiveKey(id) }
        }
    }
}
