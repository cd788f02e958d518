import FFRTMPWire
import FoundationEssentials
import Hummingbird
import Logging
import Synchronization

/// The master's HTTP API under /api, plus /health and /metrics.
public struct MasterAPI: Sendable {
    public let store: JobStore
    public let apiKey: String
    /// The optional read-only key: GET jobs, a job, nodes.
    public let readKey: String?
    /// Migration aid: the admin key may call the node routes, for any node (logged once a minute).
    public let allowSharedNodeKey: Bool
    /// --tls-client-ca: a node key is accepted only with a client certificate naming its node.
    public let bindNodeCertificates: Bool
    public let metricsNeedKey: Bool
    /// --node-lost-after: a second instance of a node id seen within it is refused (409), and a
    /// HEARTBEAT_INTERVAL at or above it is refused at register.
    public let nodeLostAfterMs: Int64
    /// --dispatch-lease: how long an assignment waits for its node to acknowledge the start.
    public let leaseMs: Int64
    /// Results this master process received again for an attempt it already had: a healthy
    /// fleet keeps it at 0, so a non-zero value means a worker resent (and was deduplicated).
    let duplicates = DuplicateCounter()
    /// Poll answers this master process gave, with jobs and empty.
    let polls = PollCounter()
    /// --idle-poll-rate: the pace an empty poll answer asks for.
    let idlePace: IdlePollPace

    final class DuplicateCounter: Sendable {
        let value = Mutex(0)
    }

    final class PollCounter: Sendable {
        let value = Mutex((jobs: 0, empty: 0))
        func count(empty: Bool) { value.withLock { if empty { $0.empty += 1 } else { $0.jobs += 1 } } }
    }

    public init(store: JobStore, apiKey: String, readKey: String? = nil, allowSharedNodeKey: Bool = false, bindNodeCertificates: Bool = false,
                metricsNeedKey: Bool = false, nodeLostAfterSeconds: Double = 30, dispatchLeaseSeconds: Double = 30, idlePollRate: Double = 500) {
        self.idlePace = IdlePollPace(rate: idlePollRate)
        self.nodeLostAfterMs = Int64(nodeLostAfterSeconds * 1000)
        self.leaseMs = Int64(dispatchLeaseSeconds * 1000)
        self.store = store
        self.apiKey = apiKey
        self.readKey = readKey
        self.allowSharedNodeKey = allowSharedNodeKey
        self.bindNodeCertificates = bindNodeCertificates
        self.metricsNeedKey = metricsNeedKey
    }

    public func router() -> Router<MasterContext> {
        let router = Router(context: MasterContext.self)
        router.add(middleware: WireErrorMiddleware())
        router.add(middleware: BearerAuthMiddleware(key: apiKey, readKey: readKey, store: store, allowSharedNodeKey: allowSharedNodeKey,
                                                  bindNodeCertificates: bindNodeCertificates, openPaths: metricsNeedKey ? ["/health"] : ["/health", "/metrics"]))
        router.get("/health") { _, _ in Health(status: "ok") }
        let (duplicates, polls, idlePace) = (self.duplicates, self.polls, self.idlePace)
        let (lostAfterMs, leaseMs) = (nodeLostAfterMs, self.leaseMs)
        router.get("/metrics") { _, _ in
            let answered = polls.value.withLock { $0 }
            let text = FleetMetrics.render(try await store.stats(), nowMs: JobRules.now())
                + "# HELP ffrtmp_master_results_duplicate_total Results received again for an attempt already recorded (this process).\n"
                + "# TYPE ffrtmp_master_results_duplicate_total counter\nffrtmp_master_results_duplicate_total \(duplicates.value.withLock { $0 })\n"
                + "# HELP ffrtmp_master_polls_total Poll answers this process gave, with jobs and empty.\n# TYPE ffrtmp_master_polls_total counter\n"
                + "ffrtmp_master_polls_total{answer=\"jobs\"} \(answered.jobs)\nffrtmp_master_polls_total{answer=\"empty\"} \(answered.empty)\n"
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let api = router.group("api")
        api.post("jobs") { req, ctx -> EditedResponse<MasterJob> in
            let new = try await Self.decode(NewJob.self, req, ctx)
            return EditedResponse(status: .created, response: try await store.create(new))
        }
        api.get("jobs") { req, _ -> Response in
            let q = req.uri.queryParameters
            let status = try q.get("status").map { raw -> MasterJobStatus in
                guard let s = MasterJobStatus(rawValue: String(raw)) else {
                    throw WireError.invalidField(field: "status", reason: "one of \(MasterJobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return s
            }
            let node = try q.get("node_id").map { try WireValidation.nodeID(String($0)) }
            let limit = try q.get("limit").map { raw -> Int in
                guard let n = Int(String(raw)), n >= 1, n <= 1000 else { throw WireError.invalidField(field: "limit", reason: "an integer from 1 to 1000") }
                return n
            } ?? 100
            // The stored JSON columns go out as stored, spliced in (JobListing.json says why).
            let rows = try await store.listRaw(status: status, nodeID: node, limit: limit)
            return JSONResponse.make(bytes: JobListing.json(rows))
        }
        // Registered before /jobs/:id so "next" is never taken for a job id.
        api.get("jobs/next") { req, ctx -> Response in
            guard let node = req.uri.queryParameters.get("node_id") else {
                throw WireError.invalidField(field: "node_id", reason: "missing; use /api/jobs/next?node_id=NODE")
            }
            try await Self.authorize(ctx, for: String(node), store: store)
            guard let job = try await store.dispatch(nodeID: String(node), leaseMs: leaseMs) else { return Response(status: .noContent) }
            return try JSONResponse.make(job)
        }
        api.post("nodes/:id/poll") { req, ctx -> Response in
            let id = try ctx.parameters.require("id")
            try Self.principal(ctx).mayAct(for: id)
            let poll = try await Self.decode(PollRequest.self, req, ctx).validated()
            let jobs = try await store.claim(nodeID: id, requestID: poll.requestID, max: poll.max, leaseMs: leaseMs)
            polls.count(empty: jobs.isEmpty)
            let idle = jobs.isEmpty ? await idlePace.seconds(store, logger: ctx.logger) : nil
            return try JSONResponse.make(PollAnswer(jobs: jobs, leaseSeconds: Double(leaseMs) / 1000, idlePollSeconds: idle))
        }
        api.post("nodes/:id/release") { req, ctx -> MasterJob in
            let id = try ctx.parameters.require("id")
            try await Self.authorize(ctx, for: id, store: store)
            let rel = try await Self.decode(JobRelease.self, req, ctx)
            let job = try await store.release(nodeID: id, rel)
            ctx.logger.warning("job \(rel.jobID) attempt \(rel.attempt) released by node \(id) (requeued): \(rel.reason?.prefix(200) ?? "no reason given")")
            return job
        }
        api.get("jobs/:id") { _, ctx -> MasterJob in
            try await store.job(try ctx.parameters.require("id"))
        }
        api.post("jobs/:id/cancel") { _, ctx -> MasterJob in
            try await store.cancel(try ctx.parameters.require("id"))
        }
        api.post("nodes/register") { req, ctx -> Node in
            let reg = try await Self.decode(NodeRegistration.self, req, ctx)
            try Self.principal(ctx).mayAct(for: reg.nodeID)
            try JobRules.checkHeartbeatInterval(reg, lostAfterMs: lostAfterMs)
            var node = try await store.register(reg, liveWithinMs: lostAfterMs)
            node.nodeLostAfterSeconds = Double(lostAfterMs) / 1000
            node.dispatchLeaseSeconds = Double(leaseMs) / 1000
            return node
        }
        api.post("nodes/:id/heartbeat") { req, ctx -> HeartbeatReply in
            let id = try ctx.parameters.require("id")
            try await Self.authorize(ctx, for: id, store: store)
            return try await store.heartbeat(nodeID: id, try await Self.decode(Heartbeat.self, req, ctx))
        }
        api.get("nodes") { _, _ -> [Node] in try await store.nodes() }
        api.post("results") { req, ctx -> ResultAck in
            let report = try await Self.decode(JobResultReport.self, req, ctx)
            try await Self.mayReport(report, ctx, store: store)
            let (job, duplicate) = try await store.record(report)
            if duplicate { duplicates.value.withLock { $0 += 1 } }
            return ResultAck(job: job, duplicate: duplicate)
        }
        return router
    }

    /// The principal BearerAuthMiddleware put in the context (a node route without one is refused).
    static func principal(_ ctx: MasterContext) throws -> Principal {
        guard let p = ctx.principal else { throw HTTPError(.forbidden, message: "no principal for a node route") }
        return p
    }

    /// A node key acts for its own node, and for a node id the same agent instance registered
    /// before its NODE_ID changed (the jobs it still runs under the old id: their heartbeats,
    /// cancels and results). The instance id is never shown by the API.
    static func authorize(_ ctx: MasterContext, for node: String, store: JobStore) async throws {
        let who = try principal(ctx)
        do {
            try who.mayAct(for: node)
        } catch {
            guard case .node(let own) = who, try await store.sameInstance(own, node) else { throw error }
        }
    }

    /// A node key may report only its own node's results, and only for a job that is assigned to
    /// (or running on) that node now, so a forged result never lands before the real one. The
    /// store checks the attempt again inside its transaction.
    static func mayReport(_ report: JobResultReport, _ ctx: MasterContext, store: JobStore) async throws {
        let report = try report.validated()
        try await authorize(ctx, for: report.nodeID, store: store)
        guard case .node = try principal(ctx) else { return }
        let job = try await store.job(report.jobID)
        guard job.nodeID == report.nodeID else {
            let own = report.nodeID
            throw HTTPError(.forbidden, message: "node key of \"\(own)\" may not act for node \"\(job.nodeID ?? "none")\": job \"\(job.id)\" is not assigned to it")
        }
    }

    /// Decodes a JSON body; a decoding failure names the field (400), an oversized body is 413.
    static func decode<T: Decodable>(_ t: T.Type, _ req: Request, _ ctx: MasterContext) async throws -> T {
        var req = req
        let buffer = try await req.collectBody(upTo: ctx.maxUploadSize)
        return try WireDecoding.decode(t, from: Data(buffer.readableBytesView))
    }
}

/// --idle-poll-rate: an empty poll answer asks its node to wait (online nodes) / rate seconds
/// before the next poll, so an idle fleet makes about `rate` empty polls a second however many
/// nodes it has, while a job created meanwhile is still taken within about 1/rate s by some
/// node (and heartbeat replies say `work_queued`, which ends every node's wait). The count is
/// read from the store at most every 5 s, by the empty poll that finds it stale; a failed read
/// keeps the last count (and is logged).
final class IdlePollPace: Sendable {
    let rate: Double
    struct Count { var nodes = 0; var readAtMs: Int64 = .min; var reading = false }
    let count = Mutex(Count())

    init(rate: Double) { self.rate = rate }

    func seconds(_ store: JobStore, logger: Logger, nowMs: Int64 = JobRules.now()) async -> Double? {
        guard rate > 0 else { return nil }
        let refresh = count.withLock { c -> Bool in
            guard !c.reading, c.readAtMs == .min || nowMs - c.readAtMs >= 5000 else { return false }
            c.reading = true
            return true
        }
        if refresh {
            let read: Int?
            do { read = try await store.onlineNodeCount() } catch {
                logger.warning("idle poll pace: could not count the online nodes (keeping the last count): \(error)")
                read = nil
            }
            count.withLock { c in
                c.reading = false
                c.readAtMs = nowMs
                if let read { c.nodes = read }
            }
        }
        let nodes = count.withLock { $0.nodes }
        return (Double(nodes) / rate * 1000).rounded() / 1000
    }
}

struct Health: ResponseEncodable { var status: String }

public struct ResultAck: ResponseEncodable, Codable, Sendable {
    public var job: MasterJob
    public var duplicate: Bool
}

extension MasterJob: ResponseEncodable {}
extension Node: ResponseEncodable {}
extension HeartbeatReply: ResponseEncodable {}

enum JSONResponse {
    static func make<T: Encodable>(_ v: T, status: HTTPResponse.Status = .ok) throws -> Response {
        make(bytes: try JSONEncoder().encode(v), status: status)
    }

    static func make(bytes: some Sequence<UInt8>, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Maps the wire errors to statuses: bad input 400, unknown 404, conflicts and invalid transitions 409.
struct WireErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as WireError {
            switch e {
            case .invalidField: throw HTTPError(.badRequest, message: e.description)
            case .notFound: throw HTTPError(.notFound, message: e.description)
            case .conflict, .invalidTransition: throw HTTPError(.conflict, message: e.description)
            }
        }
    }
}
