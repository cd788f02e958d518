import FFRTMPCore
import FFRTMPWire
import Glibc

/// argv builders for the engines. No shell is ever involved, and only the configured
/// binaries (FFMPEG_PATH, GST_LAUNCH_PATH) are ever run.
public struct EngineCommand: Sendable {
    public let ffmpegPath: String
    public let gstLaunchPath: String

    public init(ffmpegPath: String, gstLaunchPath: String) {
        self.ffmpegPath = ffmpegPath
        self.gstLaunchPath = gstLaunchPath
    }

    public func resolve(_ engine: Engine, _ p: TranscodeParameters) throws -> Engine {
        switch engine {
        case .ffmpeg, .gstreamer: return engine
        case .auto:
            // GStreamer only where it is installed and suits the job (a test source or a file,
            // into a file or nowhere); FFmpeg for everything else, RTMP and network inputs included.
            let gstSuits = access(gstLaunchPath, X_OK) == 0 && !p.outputIsRTMP && !p.input.contains("://")
            return (access(ffmpegPath, X_OK) != 0 && gstSuits) ? .gstreamer : .ffmpeg
        }
    }

    /// The argv for `engine` (auto resolved). `files`: where the workload finds its input,
    /// output and progress file (descriptors from JobMedia, see WorkloadFD).
    public func argv(_ engine: Engine, _ p: TranscodeParameters, files: WorkloadPaths) throws -> [String] {
        switch try resolve(engine, p) {
        case .gstreamer: return try gstreamer(p, files: files)
        default: return ffmpeg(p, files: files)
        }
    }

    public func ffmpeg(_ p: TranscodeParameters, files: WorkloadPaths) -> [String] {
        var a = [ffmpegPath, "-nostdin", "-hide_banner", "-loglevel", "warning", "-progress", files.progress, "-nostats"]
        let size = p.width.map { "\($0)x\(p.height!)" } ?? "1280x720"
        let rate = p.fps ?? 30
        if p.realtime { a.append("-re") }
        if p.inputIsTestSource {
            a += ["-f", "lavfi", "-i", "testsrc=size=\(size):rate=\(rate)", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"]
        } else {
            a += Self.inputWhitelists(p.input) + ["-i", files.input]
        }
        if let d = p.durationSeconds { a += ["-t", String(d)] }
        let codec = p.codec ?? "h264"
        switch codec {
        case "copy": a += ["-c", "copy"]
        case "h265", "hevc": a += ["-c:v", "libx265"]
        default: a += ["-c:v", "libx264"]
        }
        if codec != "copy" {
            a += ["-preset", p.preset ?? "veryfast"]
            if let b = p.bitrate { a += ["-b:v", b] }
            if !p.inputIsTestSource, p.width != nil { a += ["-s", size] }
            if !p.inputIsTestSource, let f = p.fps { a += ["-r", String(f)] }
            a += ["-c:a", "aac"]
        }
        if let out = files.output {
            if p.outputIsRTMP {
                a += ["-f", "flv", out]
            } else {
                if let f = files.outputFormat { a += ["-f", f] }
                if files.outputIsSingleImage { a += ["-update", "1"] }
                a += ["-y", out]
            }
        } else {
            a += ["-f", "null", "-"]
        }
        return a
    }

    /// Containers a local input may be read as. Not hls or concat (a playlist or list inside an
    /// "mp4" would make ffmpeg open other files by name, outside MEDIA_ROOTS), not image2
    /// (patterns), not tty (text art: a renamed secret rendered into a video).
    public static let localDemuxers = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,flv,live_flv,avi,mpeg,mpegvideo,ogg,wav,mp3,aac,h264,hevc,m4v,nut,mxf,asf,gif,png_pipe,jpeg_pipe"

    /// Input options that bound what ffmpeg may open for this input: a local file is read as a
    /// media container through the file protocol only; a URL only through its own scheme's
    /// protocols (so an HLS playlist from a camera cannot point ffmpeg at file: or another scheme).
    static func inputWhitelists(_ input: String) -> [String] {
        guard input.contains("://") else { return ["-format_whitelist", localDemuxers, "-protocol_whitelist", "file"] }
        let scheme = input.prefix { $0 != ":" }.lowercased()
        let protocols: [String: String] = ["http": "http,tcp", "https": "https,tls,tcp,http", "rtmp": "rtmp,tcp", "rtmps": "rtmps,tls,tcp,rtmp",
                                           "srt": "srt,udp"]
        return protocols[scheme].map { ["-protocol_whitelist", $0] } ?? []
    }

    /// gst-launch-1.0 joins its argv into one pipeline description, so every value placed in
    /// it has already been checked for '!' and quotes (TranscodeParameters.checkSource).
    public func gstreamer(_ p: TranscodeParameters, files: WorkloadPaths) throws -> [String] {
        guard p.codec == nil || p.codec == "h264" else {
            throw WireError.invalidField(field: "parameters.codec", reason: "the gstreamer engine encodes h264 only")
        }
        // filesrc/filesink take a URL as a relative file name: only local files and testsrc.
        if p.input.contains("://") { throw WireError.invalidField(field: "parameters.input", reason: "the gstreamer engine reads a local file or testsrc, not a URL") }
        if let o = p.output, o.contains("://") { throw WireError.invalidField(field: "parameters.output", reason: "the gstreamer engine writes a local file, not a URL") }
        let rate = p.fps ?? 30
        var a = [gstLaunchPath, "-e"]
        if p.inputIsTestSource {
            let buffers = p.durationSeconds.map { " num-buffers=\(max(1, Int($0 * Double(rate))))" } ?? ""
            a += "videotestsrc is-live=\(p.realtime)\(buffers)".split(separator: " ").map(String.init)
        } else {
            a += ["filesrc", "location=\(files.input)", "!", "decodebin"]
        }
        a += ["!", "videoconvert", "!", "videoscale", "!", "videorate", "!",
              "video/x-raw,width=\(p.width ?? 1280),height=\(p.height ?? 720),framerate=\(rate)/1", "!",
              "x264enc", "speed-preset=\(p.preset ?? "veryfast")"]
        if let b = p.bitrate { a.append("bitrate=\(Self.kbps(b))") }
        if let out = files.output {
            a += ["!", "h264parse", "!", "mp4mux", "!", "filesink", "location=\(out)"]
        } else {
            a += ["!", "fakesink", "sync=\(p.realtime)"]
        }
        return a
    }

    static func kbps(_ b: String) -> Int {
        let n = Int(b.dropLast(b.last!.isNumber ? 0 : 1)) ?? 0
        switch b.last! {
        case "k", "K": return n
        case "m", "M": return n * 1000
        default: return max(1, n / 1000)
        }
    }
}
