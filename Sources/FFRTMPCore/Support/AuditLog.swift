import FoundationEssentials
import Glibc

/// `state_dir/audit.log`: one JSON line per changing operator action (console or CLI): who
/// (SUDO_USER or USER, and the SSH peer), what, on which target, when, and how it ended.
/// Lines are appended with O_APPEND, so concurrent writers never interleave within a line.
public struct AuditLog: Sendable {
    public let path: String

    public init(stateDir: String) { path = stateDir + "/audit.log" }

    public struct Entry: Codable, Equatable, Sendable {
        public var time: String
        public var user: String
        public var uid: UInt32
        public var sshClient: String?
        public var tool: String
        public var action: String
        public var target: String?
        public var outcome: String
        public var detail: String?

        enum CodingKeys: String, CodingKey {
            case time, user, uid, sshClient = "ssh_client", tool, action, target, outcome, detail
        }
    }

    /// Who is acting, from the environment: the sudo user if any, else the login user.
    public static func who(_ env: [String: String]) -> (user: String, ssh: String?) {
        let user = env["SUDO_USER"].flatMap { $0.isEmpty ? nil : $0 } ?? env["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "uid\(getuid())"
        let ssh = env["SSH_CLIENT"].flatMap { $0.isEmpty ? nil : String($0.split(separator: " ").prefix(2).joined(separator: " ")) }
        return (user, ssh)
    }

    /// Who, as kill requests name them: "operator user=alice from=203.0.113.9[ via console]".
    public static func actor(_ env: [String: String], via tool: String? = nil) -> String {
        let (user, ssh) = who(env)
        return "operator user=\(user)" + (ssh.flatMap { $0.split(separator: " ").first.map { " from=" + $0 } } ?? "")
            + (tool.map { " via " + $0 } ?? "")
    }

    @discardableResult
    public func append(tool: String, action: String, target: String?, succeeded: Bool, detail: String?,
                       environment env: [String: String], now: Int64 = Clock.realtimeNanoseconds()) throws -> Entry {
        let (user, ssh) = Self.who(env)
        let e = Entry(time: Clock.iso8601(unixNanoseconds: now), user: user, uid: getuid(), sshClient: ssh, tool: tool,
                      action: action, target: target, outcome: succeeded ? "ok" : "failed", detail: detail)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = String(decoding: try enc.encode(e), as: UTF8.self)
        try FileIO.appendLine(path, line)
        return e
    }

    /// Every entry, oldest first; a line that is not an entry is an error naming its number.
    public func entries() throws -> [Entry] {
        guard let text = FileIO.readIfExists(path) else { return [] }
        return try text.split(separator: "\n").enumerated().map { i, line in
            do { return try JSONDecoder().decode(Entry.self, from: Data(line.utf8)) } catch {
                throw FFRTMPError.corruptJournal(path: path, detail: "line \(i + 1) is not an audit entry: \(error)")
            }
        }
    }
}
