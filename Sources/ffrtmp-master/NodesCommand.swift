import ArgumentParser
import FFRTMPMaster
import FFRTMPModel
import FFRTMPWire
import Foundation
import Logging

/// `ffrtmp-master nodes add|list|revoke`: the per-node keys, straight in the store (`--db` /
/// $MASTER_DB, as the server). The store keeps only each key's SHA-256.
struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "Issue, list and revoke node keys.",
        discussion: """
            Each node authenticates with its own key, bound to its node id: it may register, heartbeat, \\
            poll and report results for that node only. Rotate a key with `nodes revoke NODE_ID` then \\
            `nodes add NODE_ID`. A revoke takes effect on the next request, on every master sharing the database.
            """,
        subcommands: [Add.self, AddFleet.self, List.self, Revoke.self])

    /// Logs go to stderr: `nodes add` prints nothing on stdout but the key.
    static func logger() -> Logger {
        var l = Logger(label: "ffrtmp-master") { StreamLogHandler.standardError(label: $0) }
        l.logLevel = .warning
        return l
    }

    static func withStore<T>(_ options: StoreOptions, _ body: (JobStore) async throws -> T) async throws -> T {
        let store = try await options.open(logger: logger())
        do {
            let out = try await body(store)
            await store.close()
            return out
        } catch {
            await store.close()
            throw error
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a key for NODE_ID and print it once on stdout (install it on the node as /etc/ffrtmp/api.key, 0600 root).")
        @Argument(help: "The node id the key is bound to (NODE_ID in the node's worker.env).") var nodeID: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let key = try await NodesCommand.withStore(store) { try await $0.addNodeKey(nodeID: nodeID) }
            print(key)
            FileHandle.standardError.write(Data("issued a key for node \"\(nodeID)\"; it is not shown again (the master keeps only its SHA-256)\n".utf8))
        }
    }

    /// Keys for a simulated fleet (scripts/bench/fleet-scale.sh): PREFIX-1 ... PREFIX-COUNT over
    /// one store connection, printed as "NODE_ID KEY" lines (redirect them to a 0600 file).
    struct AddFleet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-fleet",
            abstract: "Issue keys for nodes PREFIX-1 ... PREFIX-COUNT and print 'NODE_ID KEY' lines (for the fleet simulator).")
        @Argument(help: "The node id prefix.") var prefix: String
        @Argument(help: "How many nodes (1 to 100000).") var count: Int
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard (1...100_000).contains(count) else { throw ValidationError("COUNT must be from 1 to 100000, not \(count)") }
            let ids = try (1...count).map { try WireValidation.nodeID("\(prefix)-\($0)") }
            let lines = try await NodesCommand.withStore(store) { s in
                var out: [String] = []
                out.reserveCapacity(ids.count)
                for id in ids { out.append(id + " " + (try await s.addNodeKey(nodeID: id))) }
                return out
            }
            print(lines.joined(separator: "\n"))
            FileHandle.standardError.write(Data("issued keys for \(count) nodes \(prefix)-1 ... \(prefix)-\(count)\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the node keys (never the keys themselves): node id, created, revoked.")
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let keys = try await NodesCommand.withStore(store) { try await $0.nodeKeys() }
            func iso(_ ms: Int64) -> String { Clock.iso8601(unixNanoseconds: ms * 1_000_000) }
            let width = max(7, keys.map(\.nodeID.count).max() ?? 0)
            func pad(_ s: String) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
            print("\(pad("NODE_ID"))  STATUS   CREATED                   REVOKED")
            for k in keys {
                let status = k.revokedMs == nil ? "live   " : "revoked"
                print("\(pad(k.nodeID))  \(status)  \(iso(k.createdMs))  \(k.revokedMs.map(iso) ?? "-")")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke the live key of NODE_ID: its next request is 401, on every master.")
        @Argument(help: "The node whose key to revoke.") var nodeID: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await NodesCommand.withStore(store) { try await $0.revokeNodeKey(nodeID: nodeID) }
            FileHandle.standardError.write(Data("revoked the key of node \"\(nodeID)\"\n".utf8))
        }
    }
}
