// swift-tools-version:6.0
import PackageDescription

// Layers (arrows point down only):
//   ffrtmp (CLI front end) -> FFRTMPCore (governance core) -> CFFRTMPSys (syscalls Swift cannot call)
//                                        \-> FFRTMPModel (the leaf: JobID, Constraints, WireConstraints,
//                                             FFRTMPError, Clock, JSONValue; the standard library and Glibc only)
//   ffrtmp-master -> FFRTMPMaster -> FFRTMPWire (wire model) -> FFRTMPModel: no governance core
//   (cgroups, procfs, journal) in the master or the wire model. FFRTMPCore re-exports FFRTMPModel.
//   ffrtmp-shim is a separate C program: the per-job supervisor that outlives the CLI and the agent.
let package = Package(
    name: "ffrtmp",
    products: [
        .executable(name: "ffrtmp", targets: ["ffrtmp"]),
        .executable(name: "ffrtmp-shim", targets: ["ffrtmp-shim"]),
        .executable(name: "ffrtmp-master", targets: ["ffrtmp-master"]),
        .executable(name: "ffrtmp-console", targets: ["ffrtmp-console"]),
        .executable(name: "ffrtmp-agent", targets: ["ffrtmp-agent"]),
        .executable(name: "ffrtmp-bench-json", targets: ["ffrtmp-bench-json"]),
        .executable(name: "ffrtmp-fleet-sim", targets: ["ffrtmp-fleet-sim"]),
        .library(name: "FFRTMPCore", targets: ["FFRTMPCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Master only: keep these out of the edge binary (ffrtmp).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // The master client (ffrtmp-agent only): HTTP/1.1 with TLS to the master.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // SHA-256 of the node keys (already in the graph through postgres-nio).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        // The names in a node's client certificate (CN, SAN DNS), for the node-key binding under
        // mutual TLS (already in the graph through swift-nio-ssl and swift-nio-extras).
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Tests only: generated inputs for the property tests.
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        .target(name: "CFFRTMPSys", cSettings: [.define("_GNU_SOURCE")]),
        // The leaf: model types shared by the core, the wire model and the master.
        .target(name: "FFRTMPModel"),
        .target(name: "FFRTMPCore", dependencies: ["FFRTMPModel", "CFFRTMPSys"]),
        // The lean edge CLI: no HTTP, metrics or logging library (`ffrtmp run` loads it per job).
        .executableTarget(
            name: "ffrtmp",
            dependencies: [
                "FFRTMPCore", "FFRTMPWire", "FFRTMPCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // What ffrtmp and ffrtmp-agent share: CLIContext, error endings, output.
        .target(name: "FFRTMPCLI", dependencies: ["FFRTMPCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The worker daemon and the master client, exec'ed by `ffrtmp agent` / `ffrtmp jobs`.
        .executableTarget(
            name: "ffrtmp-agent",
            dependencies: [
                "FFRTMPCore", "FFRTMPWire", "FFRTMPCLI", "FFRTMPAgent", "FFRTMPMasterClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]),
        .executableTarget(name: "ffrtmp-shim", cSettings: [.define("_GNU_SOURCE")]),
        // The operator console: a pure view-model (FFRTMPConsole, unit-tested without a terminal)
        // and a thin ncursesw front end in its own binary, so `ffrtmp run` never loads ncurses.
        .target(name: "CNcursesw", cSettings: [.define("_GNU_SOURCE")], linkerSettings: [.linkedLibrary("ncursesw")]),
        .target(name: "FFRTMPConsole", dependencies: ["FFRTMPCore", "FFRTMPWire", "FFRTMPAgent"]),
        .executableTarget(name: "ffrtmp-console", dependencies: ["CNcursesw", "FFRTMPConsole", "FFRTMPAgent", "FFRTMPCore"]),
        // Benchmarks only: the master's JSON decoding against Foundation's JSONSerialization, and
        // the job listing (spliced) against the old decode-and-encode route.
        .executableTarget(name: "ffrtmp-bench-json", dependencies: ["FFRTMPModel", "FFRTMPWire", "FFRTMPMaster"]),
        // A deterministic workload for the tests (spin, alloc, escape via setsid, exit N).
        .executableTarget(name: "ffrtmp-testload", cSettings: [.define("_GNU_SOURCE")]),
        // The fleet simulator (scripts/bench/fleet-scale.sh): thousands of nodes through the agent's own client.
        .executableTarget(
            name: "ffrtmp-fleet-sim",
            dependencies: [
                "FFRTMPModel", "FFRTMPWire", "FFRTMPMasterClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        // The wire model shared by the master, the agent and the `ffrtmp jobs` client. Foundation and
        // FFRTMPModel only: no governance core.
        .target(name: "FFRTMPWire", dependencies: ["FFRTMPModel"]),
        // The agent layer: worker.env, routing between the wrapper and legacy paths, engine argv.
        // It reaches the master through a MasterTransport the daemon passes in, so it (and the
        // console, which links it) carries no HTTP or TLS code.
        .target(name: "FFRTMPAgent", dependencies: [
            "FFRTMPModel", "FFRTMPCore", "FFRTMPWire", .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The master API client on AsyncHTTPClient and NIOSSL, shared by `ffrtmp jobs` and the
        // agent daemon (both in ffrtmp-agent).
        .target(
            name: "FFRTMPMasterClient",
            dependencies: [
                "FFRTMPWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .target(
            name: "FFRTMPMaster",
            dependencies: [
                "FFRTMPModel", "FFRTMPWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]),
        .executableTarget(
            name: "ffrtmp-master",
            dependencies: [
                "FFRTMPModel", "FFRTMPWire", "FFRTMPMaster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // One TempDir for every test target.
        .target(name: "FFRTMPTestSupport", path: "Tests/FFRTMPTestSupport"),
        .testTarget(
            name: "FFRTMPMasterTests",
            dependencies: [
                "FFRTMPModel", "FFRTMPWire", "FFRTMPMaster", "FFRTMPTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                // The stores' own tables, read around the API (JobListingTests).
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
        .testTarget(name: "FFRTMPCoreTests", dependencies: ["FFRTMPCore", "FFRTMPTestSupport"]),
        .testTarget(name: "FFRTMPConsoleTests", dependencies: ["FFRTMPConsole", "FFRTMPCore"]),
        .testTarget(name: "FFRTMPMasterClientTests", dependencies: ["FFRTMPMasterClient", "FFRTMPWire"]),
        .testTarget(name: "FFRTMPAgentTests", dependencies: ["FFRTMPAgent", "FFRTMPCore", "FFRTMPWire"]),
        .testTarget(
            name: "FFRTMPPropertyTests",
            dependencies: [
                "FFRTMPModel", "FFRTMPCore", "FFRTMPWire", "FFRTMPAgent", "FFRTMPMaster", "FFRTMPTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "FFRTMPIntegrationTests",
            dependencies: ["FFRTMPCore", "FFRTMPConsole"]),
    ]
)
