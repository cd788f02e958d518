// swift-tools-version:6.0
import PackageDescription

// Layers (arrows point down only):
//   ffrtmp (CLI front end) -> FFRTMPCore (governance core) -> CFFRTMPSys (syscalls Swift cannot call)
//   ffrtmp-shim is a separate C program: the per-job supervisor that outlives the CLI and the agent.
let package = Package(
    name: "ffrtmp",
    products: [
        .executable(name: "ffrtmp", targets: ["ffrtmp"]),
        .executable(name: "ffrtmp-shim", targets: ["ffrtmp-shim"]),
        .library(name: "FFRTMPCore", targets: ["FFRTMPCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "CFFRTMPSys", cSettings: [.define("_GNU_SOURCE")]),
        .target(name: "FFRTMPCore", dependencies: ["CFFRTMPSys"]),
        .executableTarget(
            name: "ffrtmp",
            dependencies: [
                "FFRTMPCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "ffrtmp-shim", cSettings: [.define("_GNU_SOURCE")]),
        // A deterministic workload for the tests (spin, alloc, escape via setsid, exit N).
        .executableTarget(name: "ffrtmp-testload", cSettings: [.define("_GNU_SOURCE")]),
        .testTarget(name: "FFRTMPCoreTests", dependencies: ["FFRTMPCore"]),
        .testTarget(
            name: "FFRTMPIntegrationTests",
            dependencies: ["FFRTMPCore"]),
    ]
)
