import FFRTMPWire
import Foundation

/// Judges one outcome against what the generator promised. Returns the problems found
/// (empty when the outcome is right), so the caller records each as a test issue.
enum Verdict {
    /// An error as the master puts it in a 400 (and the control socket in its answer): only
    /// WireError is expected, whether from WireDecoding or from validation.
    static func explain(_ error: Error) -> (message: String, expected: Bool) {
        switch error {
        case let e as WireError: return (e.description, true)
        default: return ("\(type(of: error)): \(error)", false)
        }
    }

    /// For a decoder: `message` is nil when the body was accepted.
    static func judge(accepted: Bool, message: String?, _ c: WireCase) -> [String] {
        var problems: [String] = []
        let m = message ?? ""
        switch c.expect {
        case .valid:
            if !accepted { problems.append("a valid body was refused: \(m)") }
        case .invalid(let fields):
            if accepted {
                problems.append("accepted although \(fields.map(\.description).sorted()) is invalid")
            } else if !fields.contains(where: { $0.isNamed(in: m) }) {
                problems.append("the error does not name \(fields.map(\.description).sorted().joined(separator: " or ")): \(m)")
            }
        case .notJSON:
            if accepted { problems.append("truncated JSON was accepted") } else if !m.contains("not valid JSON") {
                problems.append("truncated JSON: the error does not say it is not valid JSON: \(m)")
            }
        case .notAnObject:
            if accepted { problems.append("a body that is not an object was accepted") } else if !m.contains("invalid body") {
                problems.append("a body that is not an object: the error does not name the body: \(m)")
            }
        case .unknown:
            if !accepted, !m.hasPrefix("invalid ") || m.count <= "invalid ".count + 1 {
                problems.append("damaged body: the error does not name what was wrong: \(m)")
            }
        }
        return problems
    }
}
