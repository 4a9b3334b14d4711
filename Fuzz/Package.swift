// swift-tools-version: 6.1
//
// libFuzzer targets for Patchbay's parsers of untrusted input. Not part of the main build: run
// `scripts/fuzz.sh [seconds-per-target]` (see Fuzz/README.md).
//
// The root package exports only the PatchbayStore and PatchbayHub libraries, and SwiftPM refuses a
// second target named like one of the root's anywhere in the graph, so this package does not depend
// on the root: it compiles the modules the fuzzers need (PatchbayValues, PatchbayModel, PatchbayStore,
// PatchbayHub, PatchbayText, PatchbayInsights, PatchbayConnectors) from the root's own sources through the symlinks in Sources/
// (same module names, same dependencies as ../Package.swift, pinned by a copy of
// ../Package.resolved). Nothing is copied: a change to those sources is fuzzed on the next build.
//
// Build (what scripts/fuzz.sh runs): every Swift module, libraries included, must be compiled with
// coverage instrumentation and ASan, so the flags go on the command line, not in this manifest:
//
//   swift build --package-path Fuzz -c debug -Xswiftc -sanitize=fuzzer,address
//
// Each fuzz target defines `LLVMFuzzerTestOneInput` and no `main`: libFuzzer's main is linked in by
// `-sanitize=fuzzer`.
import PackageDescription

// Each fuzz target is an executable whose only source defines LLVMFuzzerTestOneInput. The
// entry-point flags keep SwiftPM from expecting a Swift `main` of the module's own.
func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: dependencies + ["FuzzSupport"],
        path: "Targets/\(name)",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])],
        linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    )
}

let package = Package(
    name: "PatchbayFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        // As ../Package.swift asks for them.
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // Symlinks to ../Sources/<module>; dependencies as in ../Package.swift.
        .target(name: "PatchbayValues", path: "Sources/PatchbayValues"),
        .target(name: "PatchbayModel", dependencies: ["PatchbayValues"], path: "Sources/PatchbayModel"),
        .target(
            name: "PatchbayStore",
            dependencies: [
                "PatchbayModel",
                "PatchbayValues",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/PatchbayStore"
        ),
        .target(
            name: "PatchbayHub",
            dependencies: ["PatchbayStore", .product(name: "Logging", package: "swift-log")],
            path: "Sources/PatchbayHub"
        ),
        .target(name: "PatchbayText", path: "Sources/PatchbayText"),
        .target(name: "PatchbayInsights", dependencies: ["PatchbayStore"], path: "Sources/PatchbayInsights"),
        // The libFuzzer entry point the four targets share.
        .target(name: "FuzzSupport", path: "Support/FuzzSupport"),
        .target(
            name: "PatchbayConnectors",
            dependencies: [
                "PatchbayStore",
                "PatchbayHub",
                "PatchbayText",
                "PatchbayInsights",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),  // smtp sink
            ],
            path: "Sources/PatchbayConnectors"
        ),
        fuzzTarget("FuzzWebhookSignature", ["PatchbayConnectors", .product(name: "Crypto", package: "swift-crypto")]),
        fuzzTarget("FuzzCSV", ["PatchbayHub", "PatchbayStore"]),
        fuzzTarget("FuzzSafeText", ["PatchbayText"]),
        fuzzTarget("FuzzConfig", ["PatchbayConnectors"]),
    ],
    swiftLanguageModes: [.v6]
)
