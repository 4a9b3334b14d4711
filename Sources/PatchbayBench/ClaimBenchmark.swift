import Foundation
import PatchbayStore

/// The worker's loop, durable: claim a batch with a lease, record every outcome in one transaction.
struct ClaimBenchmark {
    var directory: String
    static let goal = 20_000.0
    static let claimBatch = 500

    func run(_ report: inout Report) throws {
        try claimAndComplete(&report)
        try failAndRetry(&report)
    }

    /// Deliveries claimed and recorded delivered per second.
    private func claimAndComplete(_ report: inout Report) throws {
        report.section("Claim and complete: batches of \(Self.claimBatch), 60 s lease, outcomes in one transaction per batch")
        let path = try BenchFiles.fresh("claim.sqlite", in: directory)
        defer { BenchFiles.remove(path) }
        let events = 150_000
        report.progress("loading \(Format.count(events)) events (\(Format.count(events * 2)) pending deliveries)")
        let (store, _) = try BenchConnectors.prepared(at: path, sinks: 2, events: events, seed: 2)

        var claimTimes = Samples()
        var recordTimes = Samples()
        var done = 0
        let started = Monotonic.now()
        while Monotonic.now() - started < 30 {
            let (claims, claimTime) = try Monotonic.time {
                try store.claimDueDeliveries(limit: Self.claimBatch, lease: 60, owner: "bench-worker")
            }
            if claims.isEmpty { break }
            let now = Date()
            let outcomes = claims.map { claim in
                DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: .delivered,
                                startedAt: now, durationMs: 120, statusCode: 200, responseExcerpt: #"{"status":"ok"}"#)
            }
            let (_, recordTime) = try Monotonic.time { try store.record(outcomes) }
            claimTimes.add(claimTime)
            recordTimes.add(recordTime)
            done += claims.count
        }
        let rate = Rate(items: done, seconds: Monotonic.now() - started)
        let goal = Goal.atLeast(rate.perSecond, Self.goal)
        var table = TextTable(headers: ["figure", "measured", "goal", "verdict"], rightAligned: [1])
        table.add(["deliveries claimed and completed", Format.rate(rate.perSecond), goal.text, goal.verdict])
        table.add(["  deliveries / time", "\(Format.count(done)) in \(Format.duration(rate.seconds))", "", ""])
        table.add(["  claim of \(Self.claimBatch), median", Format.duration(claimTimes.median), "", ""])
        table.add(["  record of \(Self.claimBatch), median", Format.duration(recordTimes.median), "", ""])
        report.emit(table.render())
        report.record("claim", "claim \(Self.claimBatch) + complete", Format.rate(rate.perSecond), goal: goal)
    }

    /// Claim, record a failure whose retry is due at once, claim it again: the retry path's cost.
    private func failAndRetry(_ report: inout Report) throws {
        report.section("Fail and retry: claim, record a failure with the retry due now, claim again")
        let path = try BenchFiles.fresh("retry-cycle.sqlite", in: directory)
        defer { BenchFiles.remove(path) }
        let (store, connectors) = try BenchConnectors.prepared(
            at: path, sinks: 1, events: Self.claimBatch, maxAttempts: 1_000_000, seed: 3)
        let sink = connectors.sinks[0]

        var table = TextTable(headers: ["deliveries per claim", "cycles", "time", "deliveries/s", "cycles/s", "per cycle"],
                              rightAligned: [0, 1, 2, 3, 4, 5])
        for (batch, budget) in [(Self.claimBatch, 10.0), (1, 5.0)] {
            var cycles = 0
            var deliveries = 0
            let started = Monotonic.now()
            while Monotonic.now() - started < budget {
                let claims = try store.claimDueDeliveries(connector: sink, limit: batch, lease: 60, owner: "bench-worker")
                guard !claims.isEmpty else { throw BenchError("fail-and-retry: nothing due to claim after \(cycles) cycles") }
                let now = Date()
                let outcomes = claims.map { claim in
                    DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: .retry(at: now),
                                    startedAt: now, durationMs: 30_000, statusCode: 503,
                                    error: "HTTP 503: Service Unavailable", errorSignature: "HTTP 503: Service Unavailable")
                }
                let recorded = try store.record(outcomes, now: now)
                guard recorded.allSatisfy({ $0 == .recorded(.retrying) }) else {
                    throw BenchError("fail-and-retry: an outcome was not recorded as retrying: \(recorded.first { $0 != .recorded(.retrying) }!)")
                }
                cycles += 1
                deliveries += claims.count
            }
            let seconds = Monotonic.now() - started
            let perSecond = Double(deliveries) / seconds
            table.add([Format.count(batch), Format.count(cycles), Format.duration(seconds), Format.rate(perSecond),
                       Format.rate(Double(cycles) / seconds), Format.duration(seconds / Double(max(1, cycles)))])
            report.record("retry cycle", "fail + retry, \(batch) per claim", Format.rate(perSecond) + " deliveries")
        }
        report.emit(table.render())
        report.emit("  (each cycle is two durable transactions: the claim, then the outcomes)")
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
