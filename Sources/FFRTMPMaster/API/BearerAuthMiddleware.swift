import Hummingbird

/// Every route needs `Authorization: Bearer KEY`, except the open paths (/health, and
/// /metrics unless it was put behind the key). Keys are compared in constant time.
public struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]
    let openPaths: Set<String>

    public init(key: String, openPaths: Set<String>) {
        self.key = Array(key.utf8)
        self.openPaths = openPaths
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if openPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "missing API key: send Authorization: Bearer KEY")
        }
        guard Self.constantTimeEqual(Array(header.utf8.dropFirst(7)), key) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "wrong API key")
        }
        return try await next(request, context)
    }

    /// Runs in time that depends only on the lengths, never on where the bytes differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0
    }
}
