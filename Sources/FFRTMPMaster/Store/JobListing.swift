import FFRTMPWire

/// One row of `GET /api/jobs` as the store holds it. Its JSON columns (`parameters`,
/// `wrapper_constraints`, `result`) stay the text the store wrote (`JobRules.encode`, our own
/// JSONEncoder), so a listing writes them out without decoding them again (`JobListing.json`).
public struct JobListing: Sendable {
    let row: JobRow

    init(_ row: JobRow) { self.row = row }

    public var id: String { row.id }
    /// The stored JSON text of the job's parameters.
    public var parametersJSON: String { row.parameters }
    /// The stored JSON text of the wrapper constraints, if the job has any.
    public var wrapperConstraintsJSON: String? { row.wrapperConstraints }
    /// The stored JSON text of the last result report, once there is one.
    public var resultJSON: String? { row.result }

    /// The job decoded, as `GET /api/jobs/{id}` shows it.
    public var job: MasterJob { JobRules.job(row) }
}
