@testable import FFRTMPCore
import Foundation
import XCTest
import FFRTMPTestSupport

/// The media-root resolver against real files (a temp dir as the root, another as "outside"):
/// symlinks out of the root, inside it, FIFOs, devices, hard links, both resolution paths.
final class MediaRootsTests: XCTestCase {
    var root: TempDir!
    var outside: TempDir!
    var roots: MediaRoots!

    override func setUpWithError() throws {
        root = try TempDir()
        outside = try TempDir()
        outside.write("secret", "TOP SECRET")
        root.write("in/ok.mp4", "media")
        roots = try MediaRoots([root.path])
    }

    // XCTest keeps every test case instance until the run ends: drop the dirs now, or each
    // test would leave two behind in /tmp.
    override func tearDown() {
        root = nil
        outside = nil
        roots = nil
        super.tearDown()
    }

    func refusal(_ body: () throws -> Any) -> String? {
        do { _ = try body(); return nil } catch let FFRTMPError.pathRefused(_, _, reason) { return reason } catch { return "other: \(error)" }
    }

    func both(_ check: (MediaRoots) throws -> Void) throws {
        try check(roots)
        try check(try MediaRoots([root.path], walkOnly: true))
    }

    func testInsideTheRootOpens() throws {
        try both { r in
            let o = try r.openInput(root.path + "/in/ok.mp4", field: "parameters.input", user: nil)
            defer { o.close() }
            // The workload reopens the O_PATH fd through /proc and reads the file itself.
            XCTAssertEqual(try String(contentsOfFile: "/proc/self/fd/\(o.fd)", encoding: .utf8), "media")
        }
    }

    func testTextualRefusals() {
        for p in ["in/ok.mp4", root.path + "/in/../../x", root.path, outside.path + "/secret", "/proc/self/root" + root.path + "/in/ok.mp4"] {
            XCTAssertNotNil(refusal { try self.roots.locate(p, field: "parameters.input") }, p)
        }
        XCTAssertEqual(try roots.locate("/" + root.path + "//in/./ok.mp4", field: "f").components, ["in", "ok.mp4"])
    }

    func testSymlinksLeadingOutAreRefused() throws {
        try FileManager.default.createSymbolicLink(atPath: root.path + "/in/abs.mp4", withDestinationPath: outside.path + "/secret")
        try FileManager.default.createSymbolicLink(atPath: root.path + "/in/rel.mp4", withDestinationPath: "../../" + (outside.path as NSString).lastPathComponent + "/secret")
        try FileManager.default.createSymbolicLink(atPath: root.path + "/dirlink", withDestinationPath: outside.path)
        try both { r in
            for name in ["in/abs.mp4", "in/rel.mp4", "dirlink/secret"] {
                XCTAssertNotNil(refusal { try r.openInput(self.root.path + "/" + name, field: "parameters.input", user: nil) }, name)
            }
            XCTAssertNotNil(refusal { try r.openOutput(self.root.path + "/dirlink/new.mp4", field: "parameters.output", user: nil, pattern: false) })
            XCTAssertNotNil(refusal { try r.openOutput(self.root.path + "/in/abs.mp4", field: "parameters.output", user: nil, pattern: false) })
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: outside.path + "/new.mp4"))
        XCTAssertEqual(outside.read("secret"), "TOP SECRET")
    }

    func testARelativeSymlinkInsideTheRootIsFollowedOnlyWithOpenat2() throws {
        try FileManager.default.createSymbolicLink(atPath: root.path + "/alias.mp4", withDestinationPath: "in/ok.mp4")
        let o = try roots.openInput(root.path + "/alias.mp4", field: "parameters.input", user: nil)
        o.close()
        let walk = try MediaRoots([root.path], walkOnly: true)
        XCTAssertEqual(refusal { try walk.openInput(self.root.path + "/alias.mp4", field: "parameters.input", user: nil) }.map { $0.contains("symlink") }, true)
    }

    /// The resolver walks with the job user's rights: another user's private directory inside a
    /// root stays closed, and nothing is created where the job user may not write.
    func testDirectoriesAreSearchedAndWrittenWithTheJobUsersRights() throws {
        try XCTSkipUnless(geteuid() == 0, "skipped: needs root to switch the filesystem identity")
        let nobody = try JobUser.lookup("nobody")
        chmod(root.path, 0o755)
        try FileManager.default.createDirectory(atPath: root.path + "/private", withIntermediateDirectories: true)
        root.write("private/theirs.mp4", "someone else's")
        chmod(root.path + "/private", 0o700)  // root's, 0700: nobody may not enter
        try both { r in
            XCTAssertEqual(refusal { try r.openInput(self.root.path + "/private/theirs.mp4", field: "i", user: nobody) }.map { $0.contains("permission denied") }, true)
            XCTAssertEqual(refusal { try r.openOutput(self.root.path + "/private/new.mp4", field: "o", user: nobody, pattern: false) }.map { $0.contains("permission denied") }, true)
            // A directory nobody may enter but not write (root's 0755): no file appears in it.
            chmod(self.root.path + "/private", 0o755)
            XCTAssertEqual(refusal { try r.openOutput(self.root.path + "/private/new.mp4", field: "o", user: nobody, pattern: false) }.map { $0.contains("permission denied") }, true)
            chmod(self.root.path + "/private", 0o700)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.path + "/private/new.mp4"))
        // The thread's own identity is back: root still reads its private file.
        XCTAssertEqual(root.read("private/theirs.mp4"), "someone else's")
    }

    /// The root's own path is the operator's: a private parent (0700, root's) does not keep the
    /// job user out of a media root it owns.
    func testARootBehindAPrivateDirectoryWorksForTheJobUser() throws {
        try XCTSkipUnless(geteuid() == 0, "skipped: needs root to hand a directory to another user")
        let nobody = try JobUser.lookup("nobody")
        try FileManager.default.createDirectory(atPath: root.path + "/media", withIntermediateDirectories: true)
        chown(root.path + "/media", nobody.uid, nobody.gid)
        chmod(root.path, 0o700)
        let r = try MediaRoots([root.path + "/media"])
        let o = try r.openOutput(root.path + "/media/out.mp4", field: "parameters.output", user: nobody, pattern: false)
        o.close()
        var st = stat()
        XCTAssertEqual(stat(root.path + "/media/out.mp4", &st), 0)
        XCTAssertEqual(st.st_uid, nobody.uid, "created as the job user")
    }

    func testSpecialFilesAndHardLinksAreRefused() throws {
        XCTAssertEqual(mkfifo(root.path + "/fifo.mp4", 0o644), 0)
        XCTAssertEqual(mknod(root.path + "/dev.mp4", S_IFCHR | 0o644, dev_t((1 << 8) | 3)), 0)
        XCTAssertEqual(link(outside.path + "/secret", root.path + "/hard.mp4"), 0)
        chmod(root.path, 0o755)  // nobody (the job user below) searches the root
        try both { r in
            XCTAssertEqual(refusal { try r.openInput(self.root.path + "/fifo.mp4", field: "i", user: nil) }.map { $0.contains("FIFO") }, true)
            XCTAssertEqual(refusal { try r.openOutput(self.root.path + "/fifo.mp4", field: "o", user: nil, pattern: false) }.map { $0.contains("FIFO") }, true)
            XCTAssertEqual(refusal { try r.openInput(self.root.path + "/dev.mp4", field: "i", user: nil) }.map { $0.contains("device") }, true)
            let nobody = try JobUser.lookup("nobody")
            XCTAssertEqual(refusal { try r.openInput(self.root.path + "/hard.mp4", field: "i", user: nobody) }.map { $0.contains("hard links") }, true)
            XCTAssertEqual(refusal { try r.openOutput(self.root.path + "/hard.mp4", field: "o", user: nobody, pattern: false) }.map { $0.contains("hard links") }, true)
        }
    }

    func testANewOutputIsCreatedForTheJobUserAndDiscardedIfUnused() throws {
        try XCTSkipUnless(geteuid() == 0, "skipped: needs root to hand a file to another user")
        let nobody = try JobUser.lookup("nobody")
        let path = root.path + "/out/new.mp4"
        chmod(root.path, 0o755)
        try FileManager.default.createDirectory(atPath: root.path + "/out", withIntermediateDirectories: true)
        chown(root.path + "/out", nobody.uid, nobody.gid)
        let o = try roots.openOutput(path, field: "parameters.output", user: nobody, pattern: false)
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_uid, nobody.uid)
        XCTAssertTrue(o.created)
        roots.discard(o, path: path, field: "parameters.output")
        o.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "an unused, empty output is removed")
        // A root-owned existing file is not the job user's to write.
        root.write("out/root.mp4", "x")
        XCTAssertEqual(refusal { try self.roots.openOutput(self.root.path + "/out/root.mp4", field: "o", user: nobody, pattern: false) }.map { $0.contains("may not write") }, true)
    }

    func testAnImagePatternNeedsADirectoryOthersCannotWrite() throws {
        try FileManager.default.createDirectory(atPath: root.path + "/drop", withIntermediateDirectories: true)
        chmod(root.path + "/drop", 0o777)
        XCTAssertEqual(refusal { try self.roots.openOutput(self.root.path + "/drop/img%03d.png", field: "o", user: nil, pattern: true) }.map { $0.contains("image-sequence") }, true)
        chmod(root.path + "/drop", 0o755)
        let o = try roots.openOutput(root.path + "/drop/img%03d.png", field: "o", user: nil, pattern: true)
        XCTAssertEqual(o.patternName, "img%03d.png")
        o.close()
    }
}

/// "Only root can change it", on real files and directories.
final class TrustedPathTests: XCTestCase {
    func testOpenFilesAndDirectoriesAreRefusedNamingTheCulprit() throws {
        try XCTSkipUnless(geteuid() == 0, "skipped: needs root to make files owned by another user")
        let d = try TempDir()
        d.write("worker.env", "NODE_ID=x\n")
        XCTAssertNoThrow(try TrustedPath.check(d.path + "/worker.env", what: "worker.env"), "a 0644 root file in a private dir under sticky /tmp")
        chmod(d.path + "/worker.env", 0o666)
        XCTAssertThrowsError(try TrustedPath.check(d.path + "/worker.env", what: "worker.env")) { e in
            XCTAssertTrue("\(e)".contains("worker.env \(d.path)/worker.env is not safe") && "\(e)".contains("mode 666"), "\(e)")
        }
        chmod(d.path + "/worker.env", 0o644)
        let nobody = try JobUser.lookup("nobody")
        try FileManager.default.createDirectory(atPath: d.path + "/state", withIntermediateDirectories: true)
        chown(d.path + "/state", nobody.uid, nobody.gid)
        XCTAssertThrowsError(try TrustedPath.check(d.path + "/state", what: "the state dir")) { e in
            XCTAssertTrue("\(e)".contains("owned by uid \(nobody.uid)"), "\(e)")
        }
        XCTAssertThrowsError(try TrustedPath.check(d.path + "/state/not-yet", what: "the state dir"), "a parent owned by nobody")
        // A symlink is judged by where it leads.
        try FileManager.default.createSymbolicLink(atPath: d.path + "/ffmpeg", withDestinationPath: d.path + "/state/ffmpeg")
        d.write("state/ffmpeg", "#!/bin/sh\n")
        XCTAssertThrowsError(try TrustedPath.check(d.path + "/ffmpeg", what: "FFMPEG_PATH"))
        XCTAssertNoThrow(try TrustedPath.check("/usr/bin/env", what: "FFMPEG_PATH"))
    }

    /// An ACL can let another user write a file whose mode bits say 0644.
    func testAnACLIsRefused() throws {
        try XCTSkipUnless(geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setfacl"),
                          "skipped: needs root and setfacl (scripts/install-deps.sh test installs acl)")
        let d = try TempDir()
        d.write("worker.env", "NODE_ID=x\n")
        XCTAssertNoThrow(try TrustedPath.check(d.path + "/worker.env", what: "worker.env"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setfacl")
        p.arguments = ["-m", "u:daemon:rw", d.path + "/worker.env"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertThrowsError(try TrustedPath.check(d.path + "/worker.env", what: "worker.env")) { e in
            XCTAssertTrue("\(e)".contains("POSIX ACL"), "\(e)")
        }
    }
}
