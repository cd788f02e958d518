import Hummingbird

/// The request context of the master: caps request bodies at 1 MiB (a job or a result
/// is a few KiB; anything larger is refused with 413 before it is read into memory).
public struct MasterContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public init(source: Source) { coreContext = .init(source: source) }
    public var maxUploadSize: Int { 1 << 20 }
}
