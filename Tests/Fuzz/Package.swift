// swift-tools-version: 6.0
// libFuzzer targets for kgb's parsers and the logger's readers. Built only by `make fuzz` (scripts/fuzz.sh), with
// -sanitize=fuzzer,address: libFuzzer supplies main(), so these cannot live in the main package's normal build.
// Each target checks properties (a message split anywhere parses as it does whole, bytes forwarded equal bytes
// received, a record is valid JSON), not just "no crash".
import PackageDescription

let fuzzers = ["FuzzRequestParser", "FuzzResponseParser", "FuzzSSEAnalyzer", "FuzzUsageReaders", "FuzzInflater",
               "FuzzRecordAssembler"]

let package = Package(
    name: "kgb-fuzz",
    dependencies: [.package(name: "kgb", path: "../..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "HTTP1", package: "kgb")]),
        .systemLibrary(name: "CZlibFuzz", pkgConfig: "zlib"),
    ] + fuzzers.map { name in
        .executableTarget(name: name, dependencies: [
            "FuzzSupport", "CZlibFuzz",
            .product(name: "HTTP1", package: "kgb"),
            .product(name: "Gateway", package: "kgb"),
            .product(name: "ExchangeLog", package: "kgb"),
            .product(name: "LogRing", package: "kgb"),
            .product(name: "UV", package: "kgb"),
        ])
    }
)
