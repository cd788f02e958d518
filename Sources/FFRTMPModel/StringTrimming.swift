// Moved here from Sources/FFRTMPCore/Proc/ProcFS.swift: FFRTMPWire's ControlClient uses it too.

extension StringProtocol {
    /// Strips one character from both ends (Foundation's CharacterSet version is not in FoundationEssentials).
    public func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
