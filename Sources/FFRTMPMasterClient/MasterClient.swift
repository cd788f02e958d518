import AsyncHTTPClient
import FFRTMPWire
import FoundationEssentials
import NIOCore
import NIOHTTP1

/// A client of the master's /api. The key is sent as a bearer token; it comes from the
/// environment or a key file, never from argv.
public struct MasterClient: Sendable {
    public let baseURL: String
    let key: String
    let timeout: TimeAmount

    public enum ClientError: Error, CustomStringConvertible, Equatable {
        /// The master answered with an error status and (usually) a message.
        case api(status: Int, message: String)
        case badURL(String)
        case transport(String)

        public var description: String {
            switch self {
            case let .api(status, message): return "master answered \(status): \(message)"
            case let .badURL(u): return "MASTER_URL \"\(u)\" is not an http:// or https:// URL"
            case let .transport(m): return "cannot reach the master: \(m)"
            }
        }
    }

    public init(baseURL: String, key: String, timeoutSeconds: Int64 = 15) throws {
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else { throw ClientError.badURL(baseURL) }
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.key = key
        self.timeout = .seconds(timeoutSeconds)
    }

    /// Sends a request; returns (status, body). Errors from the transport are `.transport`.
    public func call(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> (Int, Data) {
        var req = HTTPClientRequest(url: baseURL + path)
        req.method = method
        req.headers.add(name: "Authorization", value: "Bearer \(key)")
        if let body {
            req.headers.add(name: "Content-Type", value: "application/json")
            req.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let resp = try await HTTPClient.shared.execute(req, timeout: timeout)
            let buf = try await resp.body.collect(upTo: 16 << 20)
            return (Int(resp.status.code), Data(buf.readableBytesView))
        } catch let e as ClientError {
            throw e
        } catch {
            throw ClientError.transport("\(error)")
        }
    }

    /// Decodes a 2xx answer as T; any other status becomes `.api` with the master's message.
    public func json<T: Decodable>(_ t: T.Type, _ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> T {
        let (status, data) = try await call(method, path, body: body)
        guard (200..<300).contains(status) else { throw ClientError.api(status: status, message: Self.message(data)) }
        return try JSONDecoder().decode(t, from: data)
    }

    static func message(_ data: Data) -> String {
        struct E: Decodable { struct M: Decodable { var message: String }; var error: M }
        return (try? JSONDecoder().decode(E.self, from: data).error.message) ?? String(decoding: data.prefix(500), as: UTF8.self)
    }

    public func submit(_ job: NewJob) async throws -> MasterJob {
        try await json(MasterJob.self, .POST, "/api/jobs", body: try JSONEncoder().encode(job))
    }

    public func job(_ id: String) async throws -> MasterJob {
        try await json(MasterJob.self, .GET, "/api/jobs/" + (try WireValidation.jobID(id)))
    }

    public func list(status: MasterJobStatus?, nodeID: String?, limit: Int?) async throws -> [MasterJob] {
        var q: [String] = []
        if let s = status { q.append("status=\(s.rawValue)") }
        if let n = nodeID { q.append("node_id=\(try WireValidation.nodeID(n))") }
        if let l = limit { q.append("limit=\(l)") }
        return try await json([MasterJob].self, .GET, "/api/jobs" + (q.isEmpty ? "" : "?" + q.joined(separator: "&")))
    }

    public func cancel(_ id: String) async throws -> MasterJob {
        try await json(MasterJob.self, .POST, "/api/jobs/\(try WireValidation.jobID(id))/cancel")
    }
}
