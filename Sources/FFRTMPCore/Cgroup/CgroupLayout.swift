/// What cgroup filesystems are mounted, read from /proc/self/mountinfo.
/// A hybrid host has v1 controller mounts plus a v2 mount (often without controllers).
public struct CgroupLayout: Equatable, Sendable {
    /// v1 controller name -> mount point. Co-mounted controllers ("cpu,cpuacct") share one mount point.
    public var v1Mounts: [String: String]
    /// The cgroup2 mount point, if any.
    public var v2Mount: String?

    public init(v1Mounts: [String: String] = [:], v2Mount: String? = nil) {
        self.v1Mounts = v1Mounts
        self.v2Mount = v2Mount
    }

    /// v1 controllers the governance core uses; others (cpuset, devices, named hierarchies) are left alone.
    public static let v1Controllers = ["cpu", "cpuacct", "memory", "blkio", "pids", "freezer"]

    public static func parse(mountinfo: String) -> CgroupLayout {
        var layout = CgroupLayout()
        for line in mountinfo.split(separator: "\n") {
            // Fields: ... mountpoint(5th) ... " - " fstype source superoptions
            let halves = String(line).splitOnce(" - ")
            guard halves.count == 2 else { continue }
            let pre = halves[0].split(separator: " ")
            let post = halves[1].split(separator: " ")
            guard pre.count >= 5, post.count >= 3 else { continue }
            let mountPoint = unescapeMountPath(String(pre[4]))
            switch post[0] {
            case "cgroup2":
                if layout.v2Mount == nil { layout.v2Mount = mountPoint }
            case "cgroup":
                for opt in post[2].split(separator: ",") where CgroupLayout.v1Controllers.contains(String(opt)) {
                    if layout.v1Mounts[String(opt)] == nil { layout.v1Mounts[String(opt)] = mountPoint }
                }
            default:
                continue
            }
        }
        return layout
    }

    public static func detect(mountinfoPath: String = "/proc/self/mountinfo") -> CgroupLayout {
        parse(mountinfo: FileIO.readIfExists(mountinfoPath) ?? "")
    }

    /// mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    static func unescapeMountPath(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
               let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    /// Splits at the first occurrence of `sep`; one element when absent.
    func splitOnce(_ sep: String) -> [String] {
        let hay = Array(utf8), needle = Array(sep.utf8)
        guard !needle.isEmpty, hay.count >= needle.count else { return [self] }
        for i in 0...(hay.count - needle.count) where Array(hay[i..<(i + needle.count)]) == needle {
            return [String(decoding: hay[..<i], as: UTF8.self), String(decoding: hay[(i + needle.count)...], as: UTF8.self)]
        }
        return [self]
    }
}
