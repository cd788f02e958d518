import AsyncHTTPClient
import Dispatch
import FFRTMPWire
import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// A client of the master's /api on AsyncHTTPClient: pooled keep-alive connections, TLS on
/// NIOSSL (MASTER_CA_FILE, mutual TLS), and a deadline on every call that covers DNS,
/// connecting, the handshake and the whole body. The key is sent as a bearer token; it comes
/// from the environment or a key file, never from argv. Only the daemon binary (ffrtmp-agent)
/// links it: `ffrtmp run` stays free of NIO.
public final class MasterClient: MasterTransport {
    public let endpoint: MasterEndpoint
    public var baseURL: String { endpoint.url }
    let key: String
    let tls: MasterTLS
    let timeoutSeconds: Double
    let http: HTTPClient
    /// False when the pool is shared (the fleet simulator's thousands of nodes): `shutdown` is then the owner's.
    let ownsHTTP: Bool

    public enum ClientError: Error, CustomStringConvertible, Equatable {
        /// The master answered with an error status and (usually) a message.
        case api(status: Int, message: String)
        case tlsFile(key: String, path: String, why: String)
        case transport(String)

        public var description: String {
            switch self {
            case let .api(status, message): return "master answered \(status): \(message)"
            case let .tlsFile(key, path, why): return path.isEmpty ? "\(key): \(why)" : "\(key)=\(path): \(why)"
            case let .transport(m): return "cannot reach the master: \(m)"
            }
        }
    }

    public init(baseURL: String, key: String, tls: MasterTLS = MasterTLS(), timeoutSeconds: Double = 15) throws {
        endpoint = try MasterEndpoint(baseURL)
        self.key = key
        self.tls = tls
        self.timeoutSeconds = timeoutSeconds
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: try Self.configuration(tls, timeoutSeconds: timeoutSeconds))
        ownsHTTP = true
    }

    /// A client on a pool shared with others (one per master for many node keys): the same
    /// requests, deadlines and errors as the agent's, without a pool per key.
    public init(baseURL: String, key: String, sharing http: HTTPClient, tls: MasterTLS = MasterTLS(), timeoutSeconds: Double = 15) throws {
        endpoint = try MasterEndpoint(baseURL)
        self.key = key
        self.tls = tls
        self.timeoutSeconds = timeoutSeconds
        self.http = http
        ownsHTTP = false
    }

    /// The pool's settings, for `init` and for a caller that makes a shared pool.
    public static func configuration(_ tls: MasterTLS = MasterTLS(), timeoutSeconds: Double = 15) throws -> HTTPClient.Configuration {
        var config = HTTPClient.Configuration(
            tlsConfiguration: try tls.configuration(),
            // A redirect would carry the key to whatever host it names: never followed.
            redirectConfiguration: .disallow,
            // The connect bound; the call's deadline bounds everything else (no separate read
            // timeout, which would fire at the same moment with a vaguer error).
            timeout: .init(connect: .milliseconds(Int64(timeoutSeconds * 1000))))
        config.httpVersion = .http1Only
        // One failed connection attempt fails the call with its own error (a refused
        // certificate says so), instead of being retried silently until the deadline: the
        // agent's session has its own retry and back-off.
        config.connectionPool.retryConnectionEstablishment = false
        config.connectionPool.idleTimeout = .seconds(60)
        config.decompression = .disabled
        return config
    }

    /// Closes the pool (not a shared one). Call once, when done (AsyncHTTPClient requires it).
    public func shutdown() async throws { if ownsHTTP { try await http.shutdown() } }

    /// The same from a thread that is no event loop (the daemon's main thread, at exit).
    public func syncShutdown() throws { if ownsHTTP { try http.syncShutdown() } }

    /// Sends a request; returns (status, body). Errors from the transport are `.transport`,
    /// with TLS failures spelled out (which file or store the certificate was checked against).
    public func call(_ method: String, _ path: String, body: Data? = nil) async throws -> (status: Int, body: Data) {
        var req = HTTPClientRequest(url: endpoint.url + path)
        req.method = HTTPMethod(rawValue: method)
        req.headers.add(name: "Authorization", value: "Bearer \(key)")
        req.headers.add(name: "User-Agent", value: "ffrtmp-agent")
        if let body {
            req.headers.add(name: "Content-Type", value: "application/json")
            req.body = .bytes(ByteBuffer(bytes: body))
        }
        let (http, seconds, request) = (self.http, timeoutSeconds, req)
        do {
            // AsyncHTTPClient's deadline ends when the head arrives; the race bounds the body too
            // (a master that drips one byte a second must not hold the caller).
            return try await Self.within(seconds) {
                let resp = try await http.execute(request, deadline: .now() + .milliseconds(Int64(seconds * 1000)))
                let bytes = try await resp.body.collect(upTo: 16 << 20)
                return (Int(resp.status.code), Data(bytes.readableBytesView))
            }
        } catch let e as ClientError {
            throw e
        } catch {
            throw ClientError.transport(describe(error))
        }
    }

    struct DeadlineExceeded: Error {}

    static func within<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                throw DeadlineExceeded()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    func describe(_ error: Error) -> String {
        let base = "\(endpoint.url)"
        if error is DeadlineExceeded || (error as? HTTPClientError) == .deadlineExceeded {
            return "\(base) gave no answer within \(Self.seconds(timeoutSeconds)) (DNS, connect, TLS and the answer together)"
        }
        if (error as? HTTPClientError) == .connectTimeout {
            return "\(base): no connection within \(Self.seconds(timeoutSeconds))"
        }
        if endpoint.isHTTPS, error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError {
            let trusted = tls.caFile.map { "the CA in MASTER_CA_FILE=\($0)" }
                ?? "the system trust store (set MASTER_CA_FILE to pin the master's private CA)"
            return "TLS with \(endpoint.host):\(endpoint.port) failed (\(error)): the master's certificate must be signed by \(trusted) and name \(endpoint.host)"
        }
        return "\(base): \(error)"
    }

    static func seconds(_ s: Double) -> String { s == s.rounded() ? "\(Int(s)) s" : "\(s) s" }

    /// Decodes a 2xx answer as T; any other status becomes `.api` with the master's message.
    public func json<T: Decodable>(_ t: T.Type, _ method: String, _ path: String, body: Data? = nil) async throws -> T {
        let (status, data) = try await call(method, path, body: body)
        guard (200..<300).contains(status) else { throw ClientError.api(status: status, message: MasterAnswer.message(data)) }
        return try JSONDecoder().decode(t, from: data)
    }

    public func submit(_ job: NewJob) async throws -> MasterJob {
        try await json(MasterJob.self, "POST", "/api/jobs", body: try JSONEncoder().encode(job))
    }

    public func job(_ id: String) async throws -> MasterJob {
        try await json(MasterJob.self, "GET", "/api/jobs/" + (try WireValidation.jobID(id)))
    }

    public func list(status: MasterJobStatus?, nodeID: String?, limit: Int?) async throws -> [MasterJob] {
        var q: [String] = []
        if let s = status { q.append("status=\(s.rawValue)") }
        if let n = nodeID { q.append("node_id=\(try WireValidation.nodeID(n))") }
        if let l = limit { q.append("limit=\(l)") }
        return try await json([MasterJob].self, "GET", "/api/jobs" + (q.isEmpty ? "" : "?" + q.joined(separator: "&")))
    }

    public func cancel(_ id: String) async throws -> MasterJob {
        try await json(MasterJob.self, "POST", "/api/jobs/\(try WireValidation.jobID(id))/cancel")
    }

    /// Runs `body` with a client and shuts the client down after, for one-shot callers on a
    /// thread of their own (the `ffrtmp jobs` CLI's main thread): blocks until done.
    public static func once<T: Sendable>(baseURL: String, key: String, tls: MasterTLS,
                                         _ body: @escaping @Sendable (MasterClient) async throws -> T) throws -> T {
        let client = try MasterClient(baseURL: baseURL, key: key, tls: tls)
        let result = Mutex<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            var r: Result<T, Error>
            do { r = .success(try await body(client)) } catch { r = .failure(error) }
            do { try await client.shutdown() } catch {
                // The call's own error comes first; a failed close only fails a call that worked.
                if case .success = r { r = .failure(ClientError.transport("closing the connection pool: \(error)")) }
            }
            let final = r
            result.withLock { $0 = final }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
