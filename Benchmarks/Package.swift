// swift-tools-version: 6.1
import PackageDescription

// Latchkey's micro-benchmarks of the hot path (ordo-one/benchmark), apart from the main package
// so that `swift build` and `swift test` there never build the benchmark machinery.
//
//   swift package --package-path Benchmarks benchmark            # or: make bench (runs them too)
//
// The main package offers only the `latchkey` and `latchkeyd` executables, and an executable's
// modules cannot be imported. Until it offers a library product, the modules the benchmarks
// need are compiled here from the main package's own files, through symlinks:
//   Sources/LatchkeyCoreLink    -> ../Sources/LatchkeyCore (the whole module)
//   Sources/LatchkeyServerLink  -> ../Sources/LatchkeyServer/APIRequest.swift (request decoding)
//   Sources/LatchkeyBrokerLink  -> ../Sources/LatchkeyBroker/AccountSummary.swift (status JSON)
// Target names must be unique across the package graph, so the links have their own names and
// `-module-alias LatchkeyCore=LatchkeyCoreLink` lets the linked files keep `import LatchkeyCore`.
// With a library product in the main package, replace the links by `.product(…, package: …)`.
let aliases: [SwiftSetting] = [
    .unsafeFlags(["-module-alias", "LatchkeyCore=LatchkeyCoreLink"])
]

let package = Package(
    name: "LatchkeyBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // LatchkeyCore imports nothing; it needs libm, which the main package's other modules pull in.
        .target(name: "LatchkeyCoreLink", linkerSettings: [.linkedLibrary("m")]),
        .target(name: "LatchkeyServerLink", dependencies: ["LatchkeyCoreLink"], swiftSettings: aliases),
        .target(name: "LatchkeyBrokerLink", dependencies: ["LatchkeyCoreLink"], swiftSettings: aliases),
        .executableTarget(
            name: "HotPath",
            dependencies: [
                "LatchkeyCoreLink", "LatchkeyServerLink", "LatchkeyBrokerLink",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/HotPath",
            swiftSettings: aliases,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
