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
}
