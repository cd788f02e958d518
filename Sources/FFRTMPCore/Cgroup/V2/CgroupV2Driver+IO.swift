extension CgroupV2Driver {
    func applyIO(_ c: Constraints, _ dir: String, _ enabled: Set<String>) throws -> [String] {
        guard !c.ioMax.isEmpty else { return [] }
        guard enabled.contains("io") else { return ["io controller not available in \(root): io_max not enforced"] }
        for io in c.ioMax {
            // io.max takes one device per write; unset keys are written as "max" so a re-apply clears them.
            let v = "\(io.device) rbps=\(io.readBPS.map(String.init) ?? "max") wbps=\(io.writeBPS.map(String.init) ?? "max") riops=\(io.readIOPS.map(String.init) ?? "max") wiops=\(io.writeIOPS.map(String.init) ?? "max")"
            try write(dir + "/io.max", v)
        }
        return []
    }
}
