// swift-tools-version: 6.0
// kgb: a streaming gateway for LLM APIs. Swift over libuv (event loop) and llhttp (HTTP/1.1 parsing).
import PackageDescription

// Release builds of the loop-thread code: inline across modules, and no dynamic exclusivity checks (every object
// here is owned by one loop thread; the checks were ~4% of the gateway's CPU in a profile, see bench/RESULTS.md).
let optimise: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "kgb",
    products: [
        .executable(name: "kgb", targets: ["kgb"]),
        .executable(name: "kgb-mock-upstream", targets: ["MockUpstream"]),
        // For Tests/Fuzz, a package of its own (its targets are built only with -sanitize=fuzzer).
        .library(name: "HTTP1", targets: ["HTTP1"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .library(name: "ExchangeLog", targets: ["ExchangeLog"]),
        .library(name: "LogRing", targets: ["LogRing"]),
        .library(name: "UV", targets: ["UV"]),
        .library(name: "LogBrowser", targets: ["LogBrowser"]),
    ],
    dependencies: [
        // The mock upstream's command line (kgb reads its own: Sources/kgb/CommandLineOptions.swift).
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ],
    targets: [
        // C modules: module maps and the llhttp sources Debian ships (symlinks, see README).
        .systemLibrary(name: "CLibUV", path: "CModules/CLibUV", pkgConfig: "libuv",
                       providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CZlib", path: "CModules/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "CModules/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .target(name: "CLLHTTP", path: "CModules/CLLHTTP",
                cSettings: [
                    // Strict: no lenient parsing of what clients or upstreams send (spaces in names, obs-fold).
                    .define("LLHTTP_STRICT_MODE", to: "1"),
                    .unsafeFlags(["-O2"]),
                ]),

        // The hot path: no Foundation below this line.
        // Growable raw byte buffers, under the loop's streams and heads and the logger's payloads.
        .target(name: "Bytes", swiftSettings: optimise),
        .target(name: "UV", dependencies: ["CLibUV", "Bytes"], swiftSettings: optimise),
        .target(name: "HTTP1", dependencies: ["CLLHTTP", "Bytes"], swiftSettings: optimise),
        .target(name: "Gateway", dependencies: ["UV", "HTTP1", "LogRing", "TLS", "Metrics", "Bytes"], swiftSettings: optimise),
        // Lock-free counters and histograms: one writer thread each, read by the admin endpoint.
        .target(name: "Metrics", swiftSettings: optimise),
        // OpenSSL over memory BIOs: a byte transformer the loop drives, with no sockets of its own.
        .target(name: "TLS", dependencies: ["COpenSSL"], swiftSettings: optimise),
        .target(name: "LogRing", swiftSettings: optimise),

        // The logger thread's side (never on the event loop). No Foundation either: the static sidecar would link it.
        .target(name: "ExchangeLog", dependencies: ["CZlib", "COpenSSL", "CSQLite", "CPostgres", "HTTP1", "LogRing", "Metrics",
                                                  "TLS", "Bytes"],
                path: "Sources/ExchangeLog",
                // The logger thread's code too: its objects each belong to one thread (a logger, a delivery thread),
                // and the dynamic exclusivity checks were ~8% of the logger's instructions per record.
                swiftSettings: optimise),
        .systemLibrary(name: "CSQLite", path: "CModules/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // libpq, for the postgres:// sink (on a delivery thread of the spool) and for reading that store back.
        // Loaded with dlopen when a postgres:// store is first used, not linked (see CModules/CPostgres/include).
        .target(name: "CPostgres", path: "CModules/CPostgres", linkerSettings: [.linkedLibrary("dl")]),

        // `kgb ui`: a web page over a log store, on a loop and thread pool of its own (never in the gateway).
        .target(name: "LogBrowser", dependencies: ["UV", "HTTP1", "ExchangeLog", "CSQLite"]),

        // The --config, --agents and --prices files: TOML in plain Swift (no Foundation, no C++ in the binary).
        .target(name: "TOML"),

        // Executables.
        .executableTarget(name: "kgb", dependencies: [
            "Gateway", "UV", "HTTP1", "ExchangeLog", "LogRing", "TLS", "Metrics", "LogBrowser", "TOML",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: optimise),
        .executableTarget(name: "MockUpstream", dependencies: [
            "UV", "HTTP1", "CZlib", "TLS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimise),

        .testTarget(name: "BytesTests", dependencies: ["Bytes"]),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "HTTP1", "UV", "Metrics", "TLS", "LogRing"]),
        .testTarget(name: "LogRingTests", dependencies: ["LogRing"]),
        .testTarget(name: "UVTests", dependencies: ["UV"]),
        .testTarget(name: "TLSTests", dependencies: ["TLS"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics"]),
        .testTarget(name: "TOMLTests", dependencies: ["TOML"]),
        // CZlib: the inflate tests make their gzip and deflate input with zlib itself; LogRing: the assembler
        // tests write the records the loop would.
        .testTarget(name: "ExchangeLogTests", dependencies: ["ExchangeLog", "CZlib", "LogRing"]),
        .testTarget(name: "LogBrowserTests", dependencies: ["LogBrowser", "ExchangeLog", "HTTP1"]),
    ]
)
