import FFRTMPWire
import GRDB

/// Node keys in SQLite: one row per node (a re-add after a revoke replaces it), only the hash.
extension SQLiteJobStore {
    static let nodeKeysSchema = """
        CREATE TABLE IF NOT EXISTS node_keys (
          node_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, revoked_ms INTEGER);
        """

    public func addNodeKey(nodeID: String) async throws -> String {
        let id = try WireValidation.nodeID(nodeID)
        let key = NodeKeys.generate()
        let hash = NodeKeys.hash(key)
        try await write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM node_keys WHERE node_id = ? AND revoked_ms IS NULL", arguments: [id]) != nil {
                throw NodeKeys.alreadyHasKey(id)
            }
            try db.execute(sql: """
                INSERT INTO node_keys (node_id, key_hash, created_ms, revoked_ms) VALUES (?,?,?,NULL)
                ON CONFLICT(node_id) DO UPDATE SET key_hash=excluded.key_hash, created_ms=excluded.created_ms, revoked_ms=NULL
                """, arguments: [id, hash, JobRules.now()])
        }
        return key
    }

    public func nodeKeys() async throws -> [NodeKeyInfo] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT node_id, created_ms, revoked_ms FROM node_keys ORDER BY node_id").map {
                NodeKeyInfo(nodeID: $0["node_id"], createdMs: $0["created_ms"], revokedMs: $0["revoked_ms"])
            }
        }
    }

    public func revokeNodeKey(nodeID: String) async throws {
        let id = try WireValidation.nodeID(nodeID)
        try await write { db in
            try db.execute(sql: "UPDATE node_keys SET revoked_ms = ? WHERE node_id = ? AND revoked_ms IS NULL", arguments: [JobRules.now(), id])
            if db.changesCount == 0 { throw NodeKeys.noLiveKey(id) }
        }
    }

    public func node(forKeyHash keyHash: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT node_id FROM node_keys WHERE key_hash = ? AND revoked_ms IS NULL", arguments: [keyHash])
        }
    }
}
