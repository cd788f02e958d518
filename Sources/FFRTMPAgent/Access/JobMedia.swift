import FFRTMPCore
import FFRTMPWire
import Glibc

/// Where the workload finds its input and output: a local file as an open descriptor
/// (`/proc/self/fd/N`), a URL or the test source as given.
public struct WorkloadPaths: Equatable, Sendable {
    public var input: String
    public var output: String?
    /// ffmpeg's `-f` for a local output: a descriptor has no extension to guess the muxer from.
    public var outputFormat: String?
    /// A single still image (`thumb.jpg`): image2 wants `-update 1` to write one file.
    public var outputIsSingleImage = false
    public var progress = "pipe:\(WorkloadFD.progress)"

    public init(input: String, output: String?, outputFormat: String? = nil) {
        self.input = input
        self.output = output
        self.outputFormat = outputFormat
    }

    /// The names a job's parameters give, untouched (tests and the hand-run CLI).
    public static func asGiven(_ p: TranscodeParameters) -> WorkloadPaths { WorkloadPaths(input: p.input, output: p.output) }
}

/// A job's media, checked and opened: MEDIA_ROOTS for local files (MediaRoots, the one path
/// resolver), the host policy for URLs. The descriptors go to the workload at WorkloadFD.
public struct JobMedia: Sendable {
    public var roots: MediaRoots
    public var network: NetworkPolicy
    /// Whose files these are (JOB_USER); outputs created here are theirs.
    public var user: JobUser?

    public init(roots: MediaRoots, network: NetworkPolicy, user: JobUser?) {
        self.roots = roots
        self.network = network
        self.user = user
    }

    public struct Opened: Sendable {
        public var paths: WorkloadPaths
        public var files: [PassedFD] = []
        var opened: [(MediaRoots.Opened, String, String)] = []

        /// Our copies: the workload has its own once it is spawned.
        public func close() { for (o, _, _) in opened { o.close() } }
        /// The job never started: remove the (empty) outputs created for it, then close.
        public func discard(_ roots: MediaRoots) {
            for (o, path, field) in opened { roots.discard(o, path: path, field: field) }
            close()
        }
    }

    /// What `open` checks before it touches the filesystem: every local path inside a root
    /// (as text), an output's container known, every URL's host allowed.
    public func check(_ p: TranscodeParameters) throws {
        if p.input.contains("://") {
            try network.check(p.input, field: "parameters.input", output: false)
        } else if !p.inputIsTestSource {
            _ = try roots.locate(p.input, field: "parameters.input")
        }
        if let output = p.output {
            if output.contains("://") {
                try network.check(output, field: "parameters.output", output: true)
            } else {
                _ = try roots.locate(output, field: "parameters.output")
                _ = try Self.format(for: String(output.split(separator: "/").last ?? ""), field: "parameters.output")
            }
        }
    }

    public func open(_ p: TranscodeParameters) throws -> Opened {
        try check(p)
        var out = Opened(paths: WorkloadPaths(input: p.input, output: p.output))
        do {
            if p.input.contains("://") {
                try network.check(p.input, field: "parameters.input", output: false)
            } else if !p.inputIsTestSource {
                let o = try roots.openInput(p.input, field: "parameters.input", user: user)
                out.opened.append((o, p.input, "parameters.input"))
                out.files.append(PassedFD(source: o.fd, target: WorkloadFD.input))
                out.paths.input = WorkloadFD.path(WorkloadFD.input)
            }
            if let output = p.output {
                if output.contains("://") {
                    try network.check(output, field: "parameters.output", output: true)
                } else {
                    let name = String(output.split(separator: "/").last ?? "")
                    let (format, single) = try Self.format(for: name, field: "parameters.output")
                    let pattern = format == "image2" && name.contains("%")
                    let o = try roots.openOutput(output, field: "parameters.output", user: user, pattern: pattern)
                    out.opened.append((o, output, "parameters.output"))
                    out.files.append(PassedFD(source: o.fd, target: WorkloadFD.output))
                    out.paths.output = WorkloadFD.path(WorkloadFD.output) + (o.patternName.map { "/" + $0 } ?? "")
                    out.paths.outputFormat = format
                    out.paths.outputIsSingleImage = single
                }
            }
            return out
        } catch {
            out.discard(roots)
            throw error
        }
    }

    /// ffmpeg muxers by extension, for the formats an edge transcode writes.
    static let muxers: [String: String] = [
        "mp4": "mp4", "m4v": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm", "ts": "mpegts", "m2ts": "mpegts",
        "mts": "mpegts", "flv": "flv", "avi": "avi", "mpg": "mpeg", "mpeg": "mpeg", "ogg": "ogg", "ogv": "ogg", "nut": "nut",
        "m4a": "ipod", "mp3": "mp3", "aac": "adts", "wav": "wav", "h264": "h264", "264": "h264", "hevc": "hevc", "h265": "hevc",
        "gif": "gif", "png": "image2", "jpg": "image2", "jpeg": "image2", "bmp": "image2", "tif": "image2", "tiff": "image2", "webp": "image2",
    ]

    /// The muxer for a file name, and whether it is one still image (no %d pattern).
    static func format(for name: String, field: String) throws -> (String, Bool) {
        let pieces = name.split(separator: ".", omittingEmptySubsequences: false)  // never empty
        let ext = pieces.count > 1 ? String(pieces[pieces.count - 1]).lowercased() : ""
        guard let m = muxers[ext] else {
            throw WireError.invalidField(field: field, reason: "the file extension \(ext.isEmpty ? "(none)" : "." + ext) names no known container; use one of " + muxers.keys.sorted().map { "." + $0 }.joined(separator: " "))
        }
        return (m, m == "image2" && !name.contains("%"))
    }
}
