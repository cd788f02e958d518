import Foundation
import Testing

/// How many generated inputs each property gets. The defaults keep the whole suite well under
/// a minute on two shared cores; `FFRTMP_PROPERTY_ITERATIONS=N` gives every property N inputs
/// instead, for a long run (e.g. 100000 overnight).
enum Iterations {
    static let override: Int? = {
        guard let raw = ProcessInfo.processInfo.environment["FFRTMP_PROPERTY_ITERATIONS"], !raw.isEmpty else { return nil }
        guard let n = Int(raw), n >= 1 else {
            fatalError("FFRTMP_PROPERTY_ITERATIONS must be a positive integer, not \"\(raw)\"")
        }
        return n
    }()

    static func count(_ base: Int) -> Int { override ?? base }
}

/// Counts what a property saw, so a test can prove both of its branches ran (a generator that
/// only ever produced valid, or only invalid, inputs would make the property vacuous) and
/// print one line for the run log.
final class Tally: @unchecked Sendable {
    let name: String
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    init(_ name: String) { self.name = name }

    func add(_ outcome: String) {
        lock.lock()
        counts[outcome, default: 0] += 1
        lock.unlock()
    }

    subscript(_ outcome: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return counts[outcome] ?? 0
    }

    var total: Int {
        lock.lock()
        defer { lock.unlock() }
        return counts.values.reduce(0, +)
    }

    /// Prints the tally and fails the test when an expected outcome never happened.
    func report(expecting outcomes: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        lock.lock()
        let snapshot = counts
        lock.unlock()
        let parts = snapshot.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        print("property \(name): \(snapshot.values.reduce(0, +)) inputs (\(parts))")
        // With a fixed seed (one input) or a tiny override, not every branch can be reached.
        guard snapshot.values.reduce(0, +) >= 200 else { return }
        for o in outcomes where (snapshot[o] ?? 0) == 0 {
            Issue.record("property \(name): no generated input ended as \"\(o)\"; the generator no longer covers that branch",
                         sourceLocation: sourceLocation)
        }
    }
}


/// Runs `body` and records any thrown error as a test failure. The property runner swallows
/// errors thrown from a property body (only recorded issues count), so every body goes
/// through this: an unexpected error must fail the property, not vanish.
func failing(_ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation,
             _ body: () async throws -> Void) async {
    do {
        try await body()
    } catch {
        Issue.record("\(what()): unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

func failing(_ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
    } catch {
        Issue.record("\(what()): unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

/// Records a failure; returns Void so a property body can `return fail(...)`.
func fail(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
}
