import Foundation
import PatchbayStore
import TestSupport
import Testing

@Suite("several processes on one database file")
struct CrossProcessTests {
    @Test("two processes draining one queue never claim the same delivery, and neither hits SQLITE_BUSY")
    func twoWorkersClaimDisjointly() throws {
        let (store, dir) = try makeTestStore()
        defer { dir.remove() }
        let source = try store.saveConnector(ConnectorSpec(
            name: "shop", module: "webhook", pattern: .event, system: "Shopify", direction: .source))
        let targets = try (1...3).map { index in
            try store.saveConnector(ConnectorSpec(
                name: "sink-\(index)", module: "http", pattern: .event, system: "ERP", direction: .sink))
        }
        let at = Date(timeIntervalSince1970: 1_790_000_000)
        let events = (0..<1000).map { index in
            NewEvent(topic: "order_created", sourceId: source.id, idempotencyKey: "order-\(index)",
                     payload: #"{"n":\#(index)}"#, receivedAt: at,
                     targets: targets.map { DeliveryTarget(connectorId: $0.id, maxAttempts: 5) })
        }
        _ = try store.ingest(events)

        let workers = try ["a", "b"].map { owner in
            try BinaryRunner.start(["debug", "drain", "--db", store.path, "--owner", owner, "--batch", "7"])
        }
        let results = workers.map { $0.finish() }
        var seen: [Int64: Int] = [:]
        for result in results {
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.contains("locked"))
            for line in result.stdout.split(separator: "\n") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 2 && parts[1] == "delivered", "\(line)")
                seen[Int64(parts[0])!, default: 0] += 1
            }
        }
        #expect(seen.count == 3000)
        #expect(seen.values.allSatisfy { $0 == 1 })
        // Which worker claims how many depends on scheduling (one may start late on a loaded machine);
        // what must hold is above: every delivery claimed exactly once, and both exited cleanly.
        let statuses = try store.connectorStatuses()
        #expect(statuses.filter { $0.connector.direction == .sink }.map { $0.count(.delivered) } == [1000, 1000, 1000])
    }

    @Test("eight operators pressing retry on the same dead deliveries at once requeue each exactly once")
    func concurrentRetriesRequeueOnce() throws {
        let (store, dir) = try makeTestStore()
        defer { dir.remove() }
        let source = try store.saveConnector(ConnectorSpec(
            name: "shop", module: "webhook", pattern: .event, system: "Shopify", direction: .source))
        let sink = try store.saveConnector(ConnectorSpec(
            name: "erp", module: "http", pattern: .event, system: "ERP", direction: .sink))
        let events = (0..<20).map { index in
            NewEvent(topic: "order_created", sourceId: source.id, idempotencyKey: "order-\(index)", payload: "{}",
                     targets: [DeliveryTarget(connectorId: sink.id, maxAttempts: 1)])
        }
        _ = try store.ingest(events)
        let claims = try store.claimDueDeliveries(connector: sink.id, limit: 20, lease: 60, owner: "w")
        _ = try store.record(claims.map {
            DeliveryOutcome(deliveryId: $0.deliveryId, leaseToken: $0.leaseToken, result: .dead, startedAt: Date(),
                            durationMs: 1, statusCode: 400, error: "HTTP 400: bad")
        })
        let ids = claims.map { String($0.deliveryId) }
        // Half press "retry these ids", half press "retry all of this connector's failures".
        let operators = try (0..<8).map { n in
            try BinaryRunner.start(n % 2 == 0 ? ["retry", "--db", store.path] + ids
                                              : ["retry", "--all", "--connector", "erp", "--db", store.path])
        }
        let results = operators.map { $0.finish() }
        for result in results {
            // Exit 1 is "nothing of these ids was requeued" (someone else was first): by design.
            #expect(result.status == 0 || result.status == 1, "\(result.stderr)")
            #expect(!result.stderr.contains("locked") && !result.stderr.contains("busy"), "\(result.stderr)")
        }
        // Each delivery went dead → pending exactly once, whoever pressed first.
        for claim in claims {
            let detail = try #require(try store.eventDetail(claim.eventId))
            let requeues = detail.deliveries[0].transitions.filter { $0.toState == .pending && $0.actor == .operator_ }
            #expect(requeues.count == 1, "delivery \(claim.deliveryId)")
            #expect(detail.deliveries[0].delivery.state == .pending)
        }
    }
}
