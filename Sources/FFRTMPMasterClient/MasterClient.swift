import FFRTMPWire
import FoundationEssentials

/// A client of the master's /api. The key is sent as a bearer token; it comes from the
/// environment or a key file, never from argv.
public struct MasterClient: Sendable {
    public let baseURL: String
    let key: String
    let timeoutSeconds: Int

    public enum ClientError: Error, CustomStringConvertible, Equatable {
        /// The master answered with an error status and (usually) a message.
        case api(status: Int, message: String)
        case badURL(String)
        case transport(String)

        public var description: String {
            switch self {
            case let .api(status, message): return "master answered \(status): \(message)"
            case let .badURL(u): return "MASTER_URL \"\(u)\" is not an http://HOST[:PORT] URL (TLS belongs to the network or a local proxy)"
            case let .transport(m): return "cannot reach the master: \(m)"
            }
        }
    }

    public init(baseURL: String, key: String, timeoutSeconds: Int = 15) throws {
        do { _ = try HTTPConnection.parse(baseURL) } catch { throw ClientError.badURL(baseURL) }
        self.baseURL = baseURL
        self.key = key
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sends a request; returns (status, body). Errors from the transport are `.transport`.
    public func call(_ method: String, _ path: String, body: Data? = nil) throws -> (Int, Data) {
        var headers = [("Authorization", "Bearer \(key)")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        do {
            let r = try HTTPConnection.request(url: baseURL, method: method, path: path, headers: headers,
                                               body: body.map { Array($0) }, timeoutSeconds: timeoutSeconds)
            return (r.status, Data(r.body))
        } catch {
            throw ClientError.transport("\(error)")
        }
    }

    /// Decodes a 2xx answer as T; any other status becomes `.api` with the master's message.
    public func json<T: Decodable>(_ t: T.Type, _ method: String, _ path: String, body: Data? = nil) throws -> T {
        let (status, data) = try call(method, path, body: body)
        guard (200..<300).contains(status) else { throw ClientError.api(status: status, message: Self.message(data)) }
        return try JSONDecoder().decode(t, from: data)
    }

    static func message(_ data: Data) -> String {
        struct E: Decodable { struct M: Decodable { var message: String }; var error: M }
        return (try? JSONDecoder().decode(E.self, from: data).error.message) ?? String(decoding: data.prefix(500), as: UTF8.self)
    }

    public func submit(_ job: NewJob) throws -> MasterJob {
        try json(MasterJob.self, "POST", "/api/jobs", body: try JSONEncoder().encode(job))
    }

    public func job(_ id: String) throws -> MasterJob {
        try json(MasterJob.self, "GET", "/api/jobs/" + (try WireValidation.jobID(id)))
    }

    public func list(status: MasterJobStatus?, nodeID: String?, limit: Int?) throws -> [MasterJob] {
        var q: [String] = []
        if let s = status { q.append("status=\(s.rawValue)") }
        if let n = nodeID { q.append("node_id=\(try WireValidation.nodeID(n))") }
        if let l = limit { q.append("limit=\(l)") }
        return try json([MasterJob].self, "GET", "/api/jobs" + (q.isEmpty ? "" : "?" + q.joined(separator: "&")))
    }

    public func cancel(_ id: String) throws -> MasterJob {
        try json(MasterJob.self, "POST", "/api/jobs/\(try WireValidation.jobID(id))/cancel")
    }
}
