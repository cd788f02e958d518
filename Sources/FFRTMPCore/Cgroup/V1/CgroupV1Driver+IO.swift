extension CgroupV1Driver {
    /// v1 throttles are one file per direction and unit; "0" removes a throttle, which is how "max" is written.
    func applyIO(_ c: Constraints, _ cg: JobCgroup) throws -> [String] {
        guard !c.ioMax.isEmpty else { return [] }
        guard let dir = cg.dir("blkio") else { return ["blkio controller not mounted: io_max not enforced"] }
        for io in c.ioMax {
            let pairs: [(String, Int?)] = [
                ("blkio.throttle.read_bps_device", io.readBPS), ("blkio.throttle.write_bps_device", io.writeBPS),
                ("blkio.throttle.read_iops_device", io.readIOPS), ("blkio.throttle.write_iops_device", io.writeIOPS),
            ]
            for (file, value) in pairs {
                try FileIO.writeCgroup(dir + "/" + file, "\(io.device) \(value ?? 0)")
            }
        }
        return []
    }
}
