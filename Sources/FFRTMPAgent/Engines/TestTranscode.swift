import FFRTMPCore
import FFRTMPWire

/// The test transcode an operator launches to check a box (the agent's `launch_test`, the
/// console's `n`): ffmpeg's testsrc at 640x360 in real time, encoded with x264 to a null sink,
/// with progress in the journal. One definition, whoever launches it.
public enum TestTranscode {
    /// `user`: JOB_USER; the test runs unprivileged like every job of the agent.
    public static func request(jobID: JobID, engines: EngineCommand, durationSeconds: Double,
                               cpuMax: String?, memoryMaxMB: Int?, defaults: WireConstraints, user: JobUser?) throws -> LaunchRequest {
        // Unchecked, -5 became "-t -5.0" in ffmpeg's argv and 1e300 a test that never ends.
        let range = TranscodeParameters.durationRange
        guard range.contains(durationSeconds) else {
            throw FFRTMPError.invalidField(field: "duration_seconds", value: "\(durationSeconds)",
                                           expected: "seconds from \(range.lowerBound) to \(Int(range.upperBound))")
        }
        var p = TranscodeParameters(input: "testsrc")
        p.durationSeconds = durationSeconds
        p.realtime = true
        p.width = 640
        p.height = 360
        var constraints = try ConstraintParser().parse(JobRouting.constraints(
            explicit: WireConstraints(cpuMax: cpuMax, memoryMaxMB: memoryMaxMB), legacy: nil, defaults: defaults))
        // A null sink writes nothing to disk: a disk limit (WRAPPER_DEFAULT_MAX_OUTPUT_MB) has nothing to bound.
        constraints.maxOutputMB = nil
        return LaunchRequest(jobID: jobID, argv: engines.ffmpeg(p, files: WorkloadPaths(input: p.input, output: nil)), constraints: constraints,
                             user: user, progressFile: true)
    }
}
