import Glibc

extension CgroupV1Driver {
    /// Freeze, SIGKILL every member, thaw, in that order: a frozen task cannot fork or
    /// escape while we enumerate it, and SIGKILL to a frozen task only takes effect after
    /// THAWED (verified on this kernel, see ENVIRONMENT.md).
    func killFrozen(_ dir: String) throws {
        try FileIO.writeCgroup(dir + "/freezer.state", "FROZEN")
        // FREEZING can last while tasks leave uninterruptible sleep; bounded wait.
        // Usually FROZEN at once: look again after 0.25 ms, backing off to 5 ms (about 1 s in all).
        var pause = 0.00025
        for _ in 0..<210 {
            let s = (FileIO.readIfExists(dir + "/freezer.state") ?? "").trimmingCharacters(in: "\n")
            if s == "FROZEN" { break }
            Clock.sleep(seconds: pause)
            pause = min(pause * 2, 0.005)
        }
        for pid in CgroupFS.procs(dir) { _ = Glibc.kill(pid, SIGKILL) }
        try FileIO.writeCgroup(dir + "/freezer.state", "THAWED")
    }
}
