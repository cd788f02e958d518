// The model (JobID, Constraints, WireConstraints, FFRTMPError, Clock, JSONValue) lives in the
// leaf target FFRTMPModel, so the wire model and the master need no cgroup, procfs or journal
// code. Re-exported here, in this one file, so every user of the core sees the model through
// the core, as it did when these types were in it. FFRTMPWire and FFRTMPMaster import
// FFRTMPModel directly and do not depend on the core.
@_exported import FFRTMPModel
