import Foundation
import PatchbayStore

/// An operator requeues every dead letter at once (`retry(matching:)`), durable.
struct OperatorRetryBenchmark {
    var directory: String
    static let dead = 100_000
    static let goal = 2.0

    static let errors = [
        "HTTP 503: Service Unavailable (gave up after 20 attempts)",
        "HTTP 400: ValidationException: Account code '2000' is not a valid code for this document.",
        "connection failed: connection refused (crm.example.com:443) (gave up after 20 attempts)",
    ]

    func run(_ report: inout Report) throws {
        report.section("Operator retry: requeue \(Format.count(Self.dead)) dead deliveries with retry(matching:)")
        let path = try BenchFiles.fresh("operator-retry.sqlite", in: directory)
        defer { BenchFiles.remove(path) }
        report.progress("loading \(Format.count(Self.dead)) events; one target dead-letters, the other delivers")
        try killDeliveries(at: path)
        let store = try Store.open(at: path, mode: .existing, durability: .full)

        let before = try store.connectorStatuses().reduce(0) { $0 + $1.count(.dead) }
        guard before == Self.dead else { throw BenchError("operator retry: expected \(Self.dead) dead deliveries, found \(before)") }
        let (result, seconds) = try Monotonic.time {
            try store.retry(matching: FailureFilter(states: [.dead]), reason: "benchmark: requeue all dead letters")
        }
        guard result.changed.count == Self.dead else {
            throw BenchError("operator retry: requeued \(result.changed.count) of \(Self.dead)")
        }
        let goal = Goal.atMost(seconds, Self.goal)
        var table = TextTable(headers: ["figure", "measured", "goal", "verdict"], rightAligned: [1])
        table.add(["requeue \(Format.count(Self.dead)) dead (one transaction)", Format.duration(seconds), goal.text, goal.verdict])
        table.add(["  per delivery", Format.fixed(seconds / Double(Self.dead) * 1e6, 1) + " µs", "", ""])
        table.add(["  deliveries/s", Format.rate(Double(Self.dead) / seconds), "", ""])
        report.emit(table.render())
        report.record("operator", "retry(matching:) \(Format.count(Self.dead)) dead", Format.duration(seconds), goal: goal)
        try replay(store, &report)
    }

    /// `patchbay replay` on the same database: every delivered event sent again to its sink (after a
    /// mapping bug), then every event given to a sink added afterwards (a backfill).
    private func replay(_ store: Store, _ report: inout Report) throws {
        report.section("Replay: \(Format.count(Self.dead)) events sent again, then backfilled to a new sink")
        guard let delivered = try store.connector(named: "bench-sink-2") else { throw BenchError("replay: no bench-sink-2") }
        let since = Date().addingTimeInterval(-86_400)
        let (again, againSeconds) = try Monotonic.time {
            try store.replay(ReplayFilter(since: since, states: [.delivered]), to: delivered.name,
                             reason: "benchmark: mapping fixed", dryRun: false, now: Date())
        }
        guard again.requeued.count == Self.dead else {
            throw BenchError("replay: requeued \(again.requeued.count) of \(Self.dead) delivered")
        }
        let fresh = try store.saveConnector(ConnectorSpec(name: "bench-new-sink", module: "http", pattern: .event,
                                                          system: "New", direction: .sink, maxAttempts: 20))
        let (backfill, backfillSeconds) = try Monotonic.time {
            try store.replay(ReplayFilter(since: since), to: fresh.name, reason: "benchmark: backfill", dryRun: false,
                             now: Date())
        }
        guard backfill.created.count == Self.dead else {
            throw BenchError("replay: created \(backfill.created.count) of \(Self.dead)")
        }
        var table = TextTable(headers: ["figure", "measured", "goal", "verdict"], rightAligned: [1])
        for (name, seconds) in [("replay \(Format.count(Self.dead)) delivered (requeue)", againSeconds),
                                ("replay \(Format.count(Self.dead)) to a new sink (backfill)", backfillSeconds)] {
            let goal = Goal.atMost(seconds, Self.goal)
            table.add([name + ", one transaction", Format.duration(seconds), goal.text, goal.verdict])
            report.record("operator", name, Format.duration(seconds), goal: goal)
        }
        report.emit(table.render())
    }

    /// Ingests `dead` events to two sinks, then dead-letters every delivery to the first sink (three
    /// error signatures) and delivers every one to the second, through a `.bulkLoad` store.
    private func killDeliveries(at path: String) throws {
        let (bulk, connectors) = try BenchConnectors.prepared(
            at: path, sinks: 2, events: Self.dead, maxAttempts: 20, seed: 4, durability: .bulkLoad)
        let doomed = connectors.sinks[0]
        while true {
            let claims = try bulk.claimDueDeliveries(limit: 20_000, lease: 600, owner: "bench-loader")
            if claims.isEmpty { break }
            let now = Date()
            let outcomes = claims.enumerated().map { index, claim in
                let error = Self.errors[index % Self.errors.count]
                return DeliveryOutcome(
                    deliveryId: claim.deliveryId, leaseToken: claim.leaseToken,
                    result: claim.connectorId == doomed ? .dead : .delivered, startedAt: now, durationMs: 200,
                    statusCode: claim.connectorId == doomed ? 503 : 200,
                    error: claim.connectorId == doomed ? error : nil,
                    errorSignature: claim.connectorId == doomed ? error : nil)
            }
            _ = try bulk.record(outcomes, now: now)
        }
    }
}
