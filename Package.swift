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
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // Values every layer may use, each defined once: durations, money, civil dates.
        .target(name: "PatchbayValues"),
        // What every backend shares, with no storage types: the records, the values the store's
        // roles take and return, and the roles themselves.
        .target(name: "PatchbayModel", dependencies: ["PatchbayValues"]),
        // The SQLite backend: schema, migrations, every query and write.
        .target(
            name: "PatchbayStore",
            dependencies: [
                "PatchbayModel",
                "PatchbayValues",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The PostgreSQL backend: the same roles over a shared database, for several hub nodes.
        .target(
            name: "PatchbayPostgres",
            dependencies: [
                "PatchbayModel",
                "PatchbayValues",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The integration map and the pattern advisor: pure functions over a traffic snapshot.
        .target(name: "PatchbayInsights", dependencies: ["PatchbayStore"]),
        // Untrusted text made safe for a terminal; used by every module that prints.
        .target(name: "PatchbayText"),
        // ncurses, reached only from TerminalUI's curses backend.
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses"),
        // Cells, layout, widgets and backends: everything draws into an in-memory buffer.
        .target(name: "TerminalUI", dependencies: ["CNcurses", "PatchbayText"]),
        // The dashboard: views, keys, themes, live data.
        .target(
            name: "PatchbayDashboard",
            dependencies: ["TerminalUI", "PatchbayStore", "PatchbayPostgres", "PatchbayText",
                           .product(name: "Yams", package: "Yams"), "PatchbayInsights"]
        ),
        // Delivery policies (retry, backoff, classification, leases) and the engine.
        .target(
            name: "PatchbayHub",
            dependencies: [
                "PatchbayStore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Connector modules (sources, sinks, transforms, batch jobs), the canonical model, the
        // configuration file. Transport-free: HTTP in and out are the runtime's adapters.
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
            ]
        ),
        // `patchbay run`: the HTTP server (webhooks, metrics), HTTP client, delivery workers,
        // batch scheduler, retention, graceful shutdown; and the demo's mock SaaS endpoints.
        .target(
            name: "PatchbayRuntime",
            dependencies: [
                "PatchbayStore",
                "PatchbayPostgres",
                "PatchbayHub",
                "PatchbayConnectors",
                "PatchbayText",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The command line: argument parsing, output formatting; `patchbay` only calls it.
        .target(
            name: "PatchbayCLI",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "PatchbayStore",
                "PatchbayPostgres",
                "PatchbayHub",
                "PatchbayText",
                "PatchbayDashboard",
                "PatchbayConnectors",
                "PatchbayRuntime",
                "PatchbayInsights",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "patchbay", dependencies: ["PatchbayCLI"]),
        .executableTarget(
            name: "PatchbayBench",
            dependencies: ["PatchbayStore", "PatchbayPostgres", "PatchbayHub", "PatchbayConnectors", "PatchbayRuntime",
                           "PatchbayDashboard", "TerminalUI",
                           .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // Fixture paths and temporary databases for the test targets.
        .target(name: "TestSupport", dependencies: ["PatchbayStore"], path: "Sources/TestSupport"),
        .testTarget(name: "PatchbayStoreTests", dependencies: ["PatchbayStore", "PatchbayHub", "TestSupport"]),
        .testTarget(name: "PatchbayHubTests", dependencies: ["PatchbayHub", "TestSupport"]),
        // One suite, written against the store's roles, that every backend must pass.
        .testTarget(name: "StoreConformanceTests", dependencies: ["PatchbayStore", "PatchbayPostgres", "TestSupport"]),
        .testTarget(name: "PatchbayCLITests", dependencies: ["PatchbayCLI", "PatchbayHub", "TestSupport", "patchbay"]),
        .testTarget(name: "PatchbayConnectorsTests", dependencies: ["PatchbayConnectors", "TestSupport"]),
        .testTarget(name: "PatchbayRuntimeTests", dependencies: [
            "PatchbayRuntime", "PatchbayConnectors", "TestSupport", "patchbay",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The promises of docs/GUARANTEES.md, each proved against the real binary: crashes, stale
        // workers, contention, bad input.
        .testTarget(name: "ProofTests", dependencies: [
            "patchbay", "PatchbayStore", "PatchbayPostgres", "PatchbayHub", "PatchbayRuntime", "PatchbayConnectors",
            "TestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "PatchbayInsightsTests", dependencies: ["PatchbayInsights", "PatchbayHub", "TestSupport"]),
        .testTarget(name: "PatchbayTextTests", dependencies: ["PatchbayText"]),
        .testTarget(name: "PatchbayValuesTests", dependencies: ["PatchbayValues"]),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI"]),
        // The real binary in a real terminal (tmux): what a person at the keyboard sees.
        .testTarget(name: "EndToEndTests", dependencies: ["patchbay", "PatchbayStore", "TestSupport"]),
        .testTarget(name: "PatchbayDashboardTests", dependencies: ["PatchbayDashboard", "PatchbayHub", "TestSupport"],
                    exclude: ["Snapshots"]),
    ],
    swiftLanguageModes: [.v6]
)
