import FoundationEssentials

/// One HTTP call to the master's API: what the agent needs of a client. The daemon passes in
/// its AsyncHTTPClient-based `MasterClient`; the agent library (which the console links too)
/// thereby carries no HTTP or TLS code.
public protocol MasterTransport: Sendable {
    /// MASTER_URL as configured (for logs and the control socket's status).
    var baseURL: String { get }
    /// Sends METHOD PATH with the node's key; returns the status and the body. Throws when no
    /// answer came within the call's deadline, which covers DNS, connecting, TLS and the body.
    func call(_ method: String, _ path: String, body: Data?) async throws -> (status: Int, body: Data)
}

/// The master's error bodies: `{"error":{"message":…}}`.
public enum MasterAnswer {
    /// The message of an error answer, else the first 500 bytes of the body as text.
    public static func message(_ data: Data) -> String {
        struct E: Decodable { struct M: Decodable { var message: String }; var error: M }
        return (try? JSONDecoder().decode(E.self, from: data).error.message) ?? String(decoding: data.prefix(500), as: UTF8.self)
    }
}
