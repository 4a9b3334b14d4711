import Foundation
import PatchbayPostgres

/// Runs the chosen benchmarks in order and prints the report.
struct Bench {
    var options: BenchOptions

    func run() throws {
        var report = Report()
        try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
        let machine = try Machine.describe()
        report.emit("patchbay-bench")
        report.emit(machine.lines.map { "  " + $0 }.joined(separator: "\n"))
        report.emit("  disk:    \(options.directory) (\(Machine.disk(at: options.directory)))")
        report.emit("  command: " + CommandLine.arguments.joined(separator: " "))
        report.emit("  load:    \(Machine.loadAverage()) (1, 5, 15 min) at start")
        let started = Monotonic.now()

        let directory = options.directory
        for suite in options.suites.sorted(by: { Self.order.firstIndex(of: $0)! < Self.order.firstIndex(of: $1)! }) {
            switch suite {
            case .raw:
                try RawSQLiteBenchmark(directory: directory).run(&report)
                try RawSQLiteBenchmark(directory: directory).schemaCeiling(&report)
            case .ingest: try IngestBenchmark(directory: directory).run(&report)
            case .claim: try ClaimBenchmark(directory: directory).run(&report)
            case .retry: try OperatorRetryBenchmark(directory: directory).run(&report)
            case .hub: try HubBenchmark(directory: directory).runBlocking(&report)
            case .postgres: try PostgresBenchmark(server: PostgresLocation(url: options.database!)).run(&report)
            case .reads:
                try ReadBenchmark(
                    builder: HistoryBuilder(events: options.events, directory: directory),
                    repeatCount: options.repeatCount, rebuild: options.rebuild, explain: options.explain,
                    match: options.match
                ).run(&report)
            case .dashboard:
                // After `reads` has built the database, so --rebuild builds it once.
                try DashboardBenchmark(
                    builder: HistoryBuilder(events: options.events, directory: directory),
                    repeatCount: options.repeatCount, rebuild: options.rebuild && !options.suites.contains(.reads),
                    idleSeconds: options.idleSeconds
                ).run(&report)
            }
        }
        report.printSummary()
        report.emit("\n  load: \(Machine.loadAverage()) (1, 5, 15 min) at the end; run took \(Format.duration(Monotonic.now() - started))")
    }

    /// The ceiling first, so that the store's write figures can be read against it.
    static let order: [BenchOptions.Suite] = [.raw, .ingest, .claim, .retry, .hub, .postgres, .reads, .dashboard]
}
