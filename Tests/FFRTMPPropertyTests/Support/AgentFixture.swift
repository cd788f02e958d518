@testable import FFRTMPAgent
import FFRTMPCore
import FFRTMPWire
import Foundation
import Logging
import FFRTMPTestSupport

/// A standalone agent (no master) in a private state dir, built in-process. Nothing it is
/// asked to do can run anything: the shim, ffmpeg and gst-launch paths do not exist, cgroups
/// are the "unavailable" driver, and attach only takes a process name no process has.
final class AgentFixture {
    let dir: TempDir
    let agent: Agent
    let configFile: String

    static let missingShim = "/nonexistent/ffrtmp-shim"
    static let mediaRoots = ["/srv/media", "/var/lib/media", "/home/ops/in", "/data", "/mnt/nas/x.y"]

    init(wrapperEnabled: Bool = false) throws {
        dir = try TempDir("ffrtmp-prop-agent")
        configFile = dir.path + "/worker.env"
        try "# property tests\nNODE_ID=prop-node\nWRAPPER_ENABLED=\(wrapperEnabled)\n".write(toFile: configFile, atomically: true, encoding: .utf8)
        var config = WorkerConfig(nodeID: "prop-node")
        config.wrapperEnabled = wrapperEnabled
        config.ffmpegPath = "/nonexistent/ffmpeg"
        config.gstLaunchPath = "/nonexistent/gst-launch-1.0"
        config.autoAttachTargets = ["ffrtmp-no-such-comm"]
        config.stateDir = dir.path + "/state"
        // The generators' own directories (EngineParameterProperties.safePath) are the media roots;
        // the workload would run as the caller (no JOB_USER): nothing runs here anyway.
        let media = JobMedia(roots: try MediaRoots(Self.mediaRoots), network: NetworkPolicy(), user: nil)
        agent = try Agent(config: config, configFile: configFile, journal: JobJournal(stateDir: dir.path + "/state"),
                          driver: UnavailableCgroupDriver(reason: "property tests run without cgroups", parent: "/ffrtmp-prop"),
                          shimPath: Self.missingShim, media: media, master: nil, logger: Logger(label: "ffrtmp-prop", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    var stateDir: String { agent.journal.stateDir }

    /// The result the agent queued for (job, attempt), if any.
    func queued(_ job: String, attempt: Int = 1) -> JobResultReport? {
        guard let data = FileManager.default.contents(atPath: "\(stateDir)/outbox/\(job).\(attempt).json") else { return nil }
        return try? JSONDecoder().decode(JobResultReport.self, from: data)
    }
}
