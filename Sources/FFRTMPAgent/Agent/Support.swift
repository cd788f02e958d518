import FFRTMPWire
import FoundationEssentials

/// JSON answers of the control socket.
enum ControlJSON {
    static func json(_ v: JSONValue) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"ok":false,"error":"encoding failed"}"#
    }
}
