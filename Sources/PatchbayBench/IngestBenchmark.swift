import Foundation
import PatchbayStore

/// Events stored per second through `Store.ingest`, durable (`synchronous = FULL`), each event
/// fanned out to two targets: one event per transaction, then group commit.
struct IngestBenchmark {
    var directory: String
    static let goal = 20_000.0

    /// Batch size, how many events at most, and how long at most (a slow disk must not stall the run).
    static let modes: [(batch: Int, events: Int, budget: Double)] = [
        (1, 5_000, 10), (10, 20_000, 10), (100, 100_000, 20), (1000, 100_000, 20),
    ]

    func run(_ report: inout Report) throws {
        report.section("Ingest: events per second, durable (synchronous = FULL), 2 targets per event")
        let path = try BenchFiles.fresh("ingest.sqlite", in: directory)
        defer { BenchFiles.remove(path) }
        let store = try Store.open(at: path, mode: .create(homeCurrency: "EUR"))
        let connectors = try BenchConnectors.create(in: store, sinks: 2)
        var factory = EventFactory(seed: 1)

        var table = TextTable(headers: ["events per transaction", "events", "time", "events/s", "deliveries/s",
                                        "per commit", "goal", "verdict"],
                              rightAligned: [0, 1, 2, 3, 4, 5])
        for mode in Self.modes {
            let events = connectors.events(mode.events, factory: &factory)
            var done = 0
            var commits = 0
            let started = Monotonic.now()
            while done < events.count && Monotonic.now() - started < mode.budget {
                let batch = Array(events[done..<min(events.count, done + mode.batch)])
                _ = try store.ingest(batch)
                done += batch.count
                commits += 1
            }
            let rate = Rate(items: done, seconds: Monotonic.now() - started)
            let goal: Goal? = mode.batch >= 100 ? .atLeast(rate.perSecond, Self.goal) : nil
            let name = mode.batch == 1 ? "single-event transactions" : "group commit, \(mode.batch) events"
            table.add([
                Format.count(mode.batch), Format.count(done), Format.duration(rate.seconds), Format.rate(rate.perSecond),
                Format.rate(rate.perSecond * 2), Format.duration(rate.seconds / Double(max(1, commits))),
                goal?.text ?? "", goal?.verdict ?? "",
            ])
            report.record("ingest", name, Format.rate(rate.perSecond), goal: goal)
        }
        report.emit(table.render())
        report.emit("  (a fresh database; every event is one row in events, two in deliveries; the counters are one upsert per row they touch per transaction)")
    }
}
