import FFRTMPCore
import FoundationEssentials
import Glibc

/// Which agent speaks for a node: 32 random hex digits kept in the state dir (the same across
/// restarts of the agent, which the state-dir lock makes one at a time), and this boot's id, so
/// two boxes started from one cloned image (same state dir, same hostname, same NODE_ID) never
/// share one. The master refuses a second live instance of a node id with 409.
enum AgentInstance {
    static func id(stateDir: String) throws -> String {
        let file = stateDir + "/instance-id"
        let kept = FileIO.readIfExists(file, noFollow: true)?.trimmingCharacters(in: "\n")
        let mine: String
        if let kept, kept.utf8.count == 32, kept.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) {
            mine = kept
        } else {
            mine = randomHex(words: 2)
            try FileIO.writeAtomically(file, mine + "\n")
        }
        let boot = (FileIO.readIfExists("/proc/sys/kernel/random/boot_id") ?? "").filter { $0.isHexDigit }.prefix(32)
        return boot.isEmpty ? mine : "\(mine).\(boot)"
    }

    /// 16 hex digits per word, from the system's CSPRNG.
    static func randomHex(words: Int) -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<words).map { _ in
            let h = String(g.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - h.count) + h
        }.joined()
    }
}
