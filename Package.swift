// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Patchbay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "patchbay", targets: ["patchbay"]),
        .executable(name: "patchbay-bench", targets: ["PatchbayBench"]),
        .library(name: "PatchbayStore", targets: ["PatchbayStore"]),
        .library(name: "PatchbayHub", targets: ["PatchbayHub"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // Schema, migrations, records, every query and write.
        .target(
            name: "PatchbayStore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Untrusted text made safe for a terminal; used by every module that prints.
        .target(name: "PatchbayText"),
        // Delivery policies (retry, backoff, classification, leases) and the engine.
        .target(
            name: "PatchbayHub",
            dependencies: [
                "PatchbayStore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The command line: argument parsing, output formatting; `patchbay` only calls it.
        .target(
            name: "PatchbayCLI",
            dependencies: [
                "PatchbayStore",
                "PatchbayHub",
                "PatchbayText",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "patchbay", dependencies: ["PatchbayCLI"]),
        .executableTarget(
            name: "PatchbayBench",
            dependencies: ["PatchbayStore", "PatchbayHub",
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Fixture paths and temporary databases for the test targets.
        .target(name: "TestSupport", dependencies: ["PatchbayStore"], path: "Sources/TestSupport"),
        .testTarget(name: "PatchbayStoreTests", dependencies: ["PatchbayStore", "PatchbayHub", "TestSupport"]),
        .testTarget(name: "PatchbayHubTests", dependencies: ["PatchbayHub", "TestSupport"]),
        .testTarget(name: "PatchbayCLITests", dependencies: ["PatchbayCLI", "PatchbayHub", "TestSupport", "patchbay"]),
        .testTarget(name: "PatchbayTextTests", dependencies: ["PatchbayText"]),
    ],
    swiftLanguageModes: [.v6]
)
