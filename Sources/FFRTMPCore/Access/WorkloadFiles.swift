/// Files handed to a workload as open descriptors instead of names (see MediaRoots). The
/// numbers are fixed, so argv can name them before the fds exist: the input at 4, the output
/// at 5, ffmpeg's progress at 6 (0-2 are stdio and 3 carries the shim's start report).
public enum WorkloadFD {
    public static let input: Int32 = 4
    public static let output: Int32 = 5
    public static let progress: Int32 = 6

    /// How the workload names fd `n`: reopening /proc/self/fd/N gives a fresh open of the same
    /// file with the workload's own permissions, seekable (ffmpeg's pipe: is not).
    public static func path(_ n: Int32) -> String { "/proc/self/fd/\(n)" }
}

/// One descriptor of ours to appear as `target` in the workload.
public struct PassedFD: Sendable, Equatable {
    public var source: Int32
    public var target: Int32
    public init(source: Int32, target: Int32) {
        self.source = source
        self.target = target
    }
}
