// swift-tools-version: 6.2
import PackageDescription

// Two executables (SPEC.md §2): `latchkey`, the thin client that sync tools run once per
// connection (Swift stdlib, ArgumentParser and LatchkeyCore only: no libcurl, GSSAPI,
// libsecret or Foundation), and `latchkeyd`, the daemon that owns every flow and secret.
let package = Package(
    name: "Latchkey",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "latchkey", targets: ["latchkey"]),
        .executable(name: "latchkeyd", targets: ["latchkeyd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // C doors: a modulemap and a shim of prefixed static inline helpers, nothing else.
        // libcurl is loaded on the first transfer (dlopen: Sources/CCurl/ccurl.c), so an idle daemon
        // maps none of its ~18 libraries; its headers come from libcurl4-openssl-dev.
        .target(name: "CCurl"),
        .systemLibrary(name: "CGSSAPI", pkgConfig: "krb5-gssapi", providers: [.apt(["libkrb5-dev"])]),
        .systemLibrary(name: "CLibSecret", pkgConfig: "libsecret-1", providers: [.apt(["libsecret-1-dev"])]),
        .systemLibrary(name: "CGIO", pkgConfig: "gio-2.0", providers: [.apt(["libglib2.0-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libssl", providers: [.apt(["libssl-dev"])]),

        // Linux process calls Swift cannot reach (prctl, posix_spawn's closefrom).
        .target(name: "CLinux"),

        // Plain values: no I/O, no clock, no logging, no Foundation (the thin client links it).
        .target(name: "LatchkeyCore"),
        // The one helper that runs blocking C calls off the cooperative pool (Dispatch only).
        .target(name: "LatchkeyBlocking"),
        .target(name: "LatchkeyHTTP", dependencies: ["LatchkeyCore", "LatchkeyBlocking", "CCurl"]),
        .target(name: "LatchkeyCrypto", dependencies: ["LatchkeyCore", "COpenSSL"]),
        .target(
            name: "LatchkeyOAuth",
            dependencies: ["LatchkeyCore", "LatchkeyBlocking", "LatchkeyHTTP", "LatchkeyCrypto", "CLinux"]),
        .target(name: "LatchkeyGSS", dependencies: ["LatchkeyCore", "LatchkeyBlocking", "CGSSAPI"]),
        .target(name: "LatchkeyDiscovery", dependencies: ["LatchkeyCore", "LatchkeyHTTP", "LatchkeyOAuth"]),
        .target(name: "LatchkeyActiveSync", dependencies: ["LatchkeyCore", "LatchkeyHTTP"]),
        .target(name: "LatchkeyNotify", dependencies: ["LatchkeyCore", "LatchkeyBlocking", "CGIO", "CLinux"]),
        .target(
            name: "LatchkeyStore", dependencies: ["LatchkeyCore", "LatchkeyBlocking", "LatchkeyCrypto", "CLibSecret"]),
        .target(
            name: "LatchkeyBroker",
            dependencies: [
                "LatchkeyCore", "LatchkeyBlocking", "LatchkeyHTTP", "LatchkeyOAuth", "LatchkeyStore", "LatchkeyGSS",
                "LatchkeyCrypto", "LatchkeyNotify", "LatchkeyDiscovery", "LatchkeyActiveSync",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LatchkeyServer",
            dependencies: [
                "LatchkeyCore", "LatchkeyBroker", "LatchkeyClient", "LatchkeyBlocking", "CLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                // Only the signals: ServiceGroup.swift replaces ServiceLifecycle (it links swift-async-algorithms).
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "LatchkeyClient", dependencies: ["LatchkeyCore", "CLinux"]),
        .target(
            name: "LatchkeyDiagnostics",
            dependencies: [
                "LatchkeyCore", "LatchkeyBlocking", "LatchkeyHTTP", "LatchkeyOAuth", "LatchkeyGSS", "LatchkeyStore",
                "LatchkeyCrypto", "LatchkeyDiscovery", "LatchkeyClient",
            ]
        ),
        .executableTarget(
            name: "latchkey",
            dependencies: [
                "LatchkeyCore", "LatchkeyClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "latchkeyd",
            dependencies: [
                "LatchkeyCore", "LatchkeyBroker", "LatchkeyServer", "LatchkeyHTTP", "LatchkeyOAuth",
                "LatchkeyStore", "LatchkeyNotify", "LatchkeyDiscovery", "LatchkeyGSS", "LatchkeyClient",
                "LatchkeyDiagnostics",
                "CLinux",
                // No swift-argument-parser: it links FoundationEssentials (CommandLineArguments.swift).
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            // lld instead of gold, so the relative relocations are packed (DT_RELR: 1 MB of
            // `.rela.dyn` read at every start becomes 20 KB), and no symbol exported that no
            // library looks up (the Swift toolchain's -export-dynamic: 0.8 MB of dynamic symbol
            // table the loader searches). docs/performance.md "Idle memory".
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-use-ld=lld", "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker",
                        "pack-relative-relocs",
                    ],
                    .when(platforms: [.linux]))
            ]
        ),
        // toml-test's decoder interface over the config reader (scripts/toml-test.sh, the
        // differential test against tomllib); not a product, ships nowhere.
        .executableTarget(name: "toml-decoder", dependencies: ["LatchkeyCore"]),

        .testTarget(
            name: "LatchkeyCoreTests",
            dependencies: ["LatchkeyCore", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(name: "LatchkeyOAuthTests", dependencies: ["LatchkeyOAuth", "LatchkeyHTTP", "LatchkeyCore"]),
        .testTarget(
            name: "LatchkeyDiscoveryTests",
            dependencies: [
                "LatchkeyDiscovery", "LatchkeyCore", "LatchkeyOAuth",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "LatchkeyGSSTests", dependencies: ["LatchkeyGSS", "LatchkeyCore"]),
        .testTarget(name: "LatchkeyStoreTests", dependencies: ["LatchkeyStore", "LatchkeyCrypto", "LatchkeyCore"]),
        .testTarget(name: "LatchkeyActiveSyncTests", dependencies: ["LatchkeyActiveSync", "LatchkeyCore"]),
        .testTarget(name: "LatchkeyHTTPTests", dependencies: ["LatchkeyHTTP", "LatchkeyCore"]),
        .testTarget(name: "LatchkeyClientTests", dependencies: ["LatchkeyClient"]),
        // The broker's flows over an in-memory provider, a memory store and a hand-moved clock.
        .testTarget(
            name: "LatchkeyBrokerTests",
            dependencies: [
                "LatchkeyBroker", "LatchkeyCore", "LatchkeyOAuth", "LatchkeyHTTP", "LatchkeyStore", "LatchkeyGSS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "LatchkeyServerTests",
            dependencies: [
                "LatchkeyServer", "LatchkeyBroker", "LatchkeyClient", "LatchkeyCore", "LatchkeyOAuth",
                "LatchkeyHTTP", "LatchkeyStore", "LatchkeyDiscovery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ]
)

// The libFuzzer harnesses (Tests/Fuzz, docs/security-testing.md): declared only for the fuzz
// build (scripts/fuzz.sh: `LATCHKEY_FUZZ=1`, scratch path .build-fuzz, every module built with
// `-sanitize=fuzzer,address`), so `swift build` and `make test`'s build never compile them.
// libFuzzer brings `main`: the harness is parsed as a library.
if Context.environment["LATCHKEY_FUZZ"] == "1" {
    package.targets.append(
        .executableTarget(
            name: "latchkey-fuzz",
            dependencies: ["LatchkeyCore", "LatchkeyHTTP", "LatchkeyOAuth", "LatchkeyDiscovery"],
            path: "Tests/Fuzz/Harness",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    )
}
