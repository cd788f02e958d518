import ArgumentParser
import FFRTMPCLI
import FFRTMPAgent
import FFRTMPCore
import FFRTMPMasterClient
import FFRTMPWire
import FoundationEssentials

extension FFRTMP {
    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit, list, show and cancel jobs on the master.",
            discussion: """
                Talks to MASTER_URL (e.g. https://master:8443; MASTER_CA_FILE pins its CA, \
                MASTER_CLIENT_CERT and MASTER_CLIENT_KEY give mutual TLS) with the key from FFRTMP_API_KEY or the \
                file named by FFRTMP_API_KEY_FILE; both can also come from the worker.env given with \
                --config. The key is never taken from argv, where `ps` would show it.
                """,
            subcommands: [Submit.self, List.self, Get.self, Cancel.self])
    }
}

/// Where the master is and how to authenticate, from the environment or a worker.env file.
struct MasterOptions: ParsableArguments {
    @Option(help: "A worker.env file (KEY=VALUE lines) to read MASTER_URL and the key from; the environment wins.")
    var config: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    /// One call to the master with a client made for it (closed after).
    func call<T: Sendable>(_ body: @escaping @Sendable (MasterClient) async throws -> T) throws -> T {
        let (url, key, tls) = try settings()
        return try MasterClient.once(baseURL: url, key: key, tls: tls, body)
    }

    func settings() throws -> (url: String, key: String, tls: MasterTLS) {
        var values: [String: String] = [:]
        if let config {
            guard let text = FileIO.readIfExists(config) else { throw ValidationError("cannot read --config \(config)") }
            values = try EnvFile.parse(text)
        }
        for (k, v) in ProcessEnvironment.current() where !v.isEmpty { values[k] = v }
        guard let url = values["MASTER_URL"] else { throw ValidationError("set MASTER_URL (e.g. https://master.example:8443) in the environment or --config") }
        var key = values["FFRTMP_API_KEY"]
        if key == nil, let file = values["FFRTMP_API_KEY_FILE"] {
            guard let text = FileIO.readIfExists(file) else { throw ValidationError("cannot read FFRTMP_API_KEY_FILE \(file)") }
            key = text.trimmingCharacters(in: "\n")
        }
        guard let key, !key.isEmpty else { throw ValidationError("set FFRTMP_API_KEY or FFRTMP_API_KEY_FILE") }
        // The same TLS settings as the agent's (MASTER_CA_FILE, MASTER_CLIENT_CERT/KEY).
        return (url, key, MasterTLS(caFile: values["MASTER_CA_FILE"], clientCert: values["MASTER_CLIENT_CERT"], clientKey: values["MASTER_CLIENT_KEY"]))
    }

    func show(_ jobs: [MasterJob]) {
        if json { Output.out(Output.json(jobs)); return }
        let rows = jobs.map { j in
            [j.id, j.status.rawValue, j.engine.rawValue, j.wrapperEnabled.map { $0 ? "on" : "off" } ?? "-",
             j.nodeID ?? "-", String(j.attempt), j.platformSLA.map { $0 ? "ok" : "FAIL" } ?? "-", j.createdAt]
        }
        Output.out(Output.table(["ID", "STATUS", "ENGINE", "WRAPPER", "NODE", "ATTEMPT", "SLA", "CREATED"], rows))
    }

    func show(_ job: MasterJob) {
        if json { Output.out(Output.json(job)) } else { show([job]) }
    }
}

func masterFailure(_ error: Error) -> ExitCode {
    Output.err("ffrtmp: error: \(error)")
    return ExitCode(1)
}

extension FFRTMP.Jobs {
    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Submit a job to the master.")
        @OptionGroup var master: MasterOptions
        @Option(help: "The job id (default: the master generates one).") var id: String?
        @Option(help: "auto, ffmpeg or gstreamer.") var engine: String = "auto"
        @Option(help: "Job parameters as a JSON object, e.g. '{\"input\":\"testsrc\",\"duration_seconds\":10}'.") var parameters: String = "{}"
        @Option(name: .customLong("wrapper-enabled"), help: "true or false; omit to let the worker decide.") var wrapperEnabled: Bool?
        @Option(name: .customLong("cpu-max"), help: "wrapper_constraints.cpu_max, \"QUOTA PERIOD\".") var cpuMax: String?
        @Option(name: .customLong("cpu-weight"), help: "wrapper_constraints.cpu_weight, 1-10000.") var cpuWeight: Int?
        @Option(name: .customLong("memory-max-mb"), help: "wrapper_constraints.memory_max_mb.") var memoryMaxMB: Int?
        @Option(name: .customLong("memory-swap-max-mb"), help: "wrapper_constraints.memory_swap_max_mb.") var memorySwapMaxMB: Int?
        @Option(name: .customLong("io-max"), help: "wrapper_constraints.io_max.") var ioMax: String?

        func run() throws {
            do {
                guard let eng = Engine(rawValue: engine) else { throw ValidationError("--engine must be auto, ffmpeg or gstreamer") }
                let params: JSONValue
                do { params = try JSONDecoder().decode(JSONValue.self, from: Data(parameters.utf8)) } catch {
                    throw ValidationError("--parameters is not valid JSON")
                }
                let c = WireConstraints(cpuMax: cpuMax, cpuWeight: cpuWeight, memoryMaxMB: memoryMaxMB, memorySwapMaxMB: memorySwapMaxMB, ioMax: ioMax)
                let job = NewJob(id: id, engine: eng, parameters: params, wrapperEnabled: wrapperEnabled,
                                 wrapperConstraints: c == WireConstraints() ? nil : c)
                let valid = try job.validated()
                master.show(try master.call { try await $0.submit(valid) })
            } catch let e as ValidationError { throw e } catch { throw masterFailure(error) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs on the master.")
        @OptionGroup var master: MasterOptions
        @Option(help: "Only jobs in this status.") var status: String?
        @Option(name: .customLong("node-id"), help: "Only jobs of this node.") var nodeID: String?
        @Option(help: "At most this many (1-1000).") var limit: Int?

        func run() throws {
            do {
                let s = try status.map { raw -> MasterJobStatus in
                    guard let s = MasterJobStatus(rawValue: raw) else { throw ValidationError("--status must be one of \(MasterJobStatus.allCases.map(\.rawValue).joined(separator: ", "))") }
                    return s
                }
                let (node, lim) = (nodeID, limit)
                master.show(try master.call { try await $0.list(status: s, nodeID: node, limit: lim) })
            } catch let e as ValidationError { throw e } catch { throw masterFailure(error) }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job, with its result and SLA.")
        @OptionGroup var master: MasterOptions
        @Argument(help: "The job id.") var id: String

        func run() throws {
            do {
                let id = id
                master.show(try master.call { try await $0.job(id) })
            } catch let e as ValidationError { throw e } catch { throw masterFailure(error) }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job (queued: at once; running: on its node's next heartbeat).")
        @OptionGroup var master: MasterOptions
        @Argument(help: "The job id.") var id: String

        func run() throws {
            do {
                let id = id
                master.show(try master.call { try await $0.cancel(id) })
            } catch let e as ValidationError { throw e } catch { throw masterFailure(error) }
        }
    }
}
