@testable import FFRTMPAgent
import FFRTMPCore
import FFRTMPWire
import Foundation
import XCTest

/// STATE_DIR/instance-id as a hostile local user might leave it: garbage is replaced with a
/// fresh id, a symlink planted there is replaced (its target never written), and a valid id is
/// kept across calls (a restart keeps the instance).
final class AgentInstanceTests: XCTestCase {
    func testInstanceIDIsKeptAndHostileFilesAreReplaced() throws {
        let dir = NSTemporaryDirectory() + "ffrtmp-instance-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/instance-id"
        let first = try AgentInstance.id(stateDir: dir)
        XCTAssertNoThrow(try WireValidation.instanceID(first))
        XCTAssertEqual(try AgentInstance.id(stateDir: dir), first, "kept across restarts")
        let kept = String(first.prefix(32))

        try "not-hex; rm -rf /\n".write(toFile: file, atomically: true, encoding: .utf8)
        let afterGarbage = try AgentInstance.id(stateDir: dir)
        XCTAssertNotEqual(String(afterGarbage.prefix(32)), kept, "garbage is replaced by a new random id")
        XCTAssertNoThrow(try WireValidation.instanceID(afterGarbage))

        let target = dir + "/target"
        try "precious\n".write(toFile: target, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: file)
        try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: target)
        let afterLink = try AgentInstance.id(stateDir: dir)
        XCTAssertNoThrow(try WireValidation.instanceID(afterLink))
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious\n", "the symlink's target is never written")
        let attrs = try FileManager.default.attributesOfItem(atPath: file)
        XCTAssertEqual(attrs[.type] as? FileAttributeType, .typeRegular, "the planted symlink was replaced by a file")
    }
}
