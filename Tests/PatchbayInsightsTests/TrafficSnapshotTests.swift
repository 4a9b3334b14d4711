import Foundation
import Testing
import PatchbayStore
import TestSupport
@testable import PatchbayInsights

/// The snapshot read over a real store, written through the same calls the hub makes: two systems
/// point-to-point at 300 events a day for nine days, delivered within seconds, and an hourly import.
@Suite struct TrafficSnapshotTests {
    /// 2026-11-18 12:00:00 UTC.
    static let now = Date(millis: 1_795_003_200_000)
    static let hour: Int64 = 3_600_000

    struct Installation {
        let store: Store
        let directory: TemporaryDirectory
        let shop: ConnectorID
        let xero: ConnectorID
        let quickbooks: ConnectorID
        /// Receipt-to-delivery waits of the deliveries whose events arrived in the last 7 days, in ms.
        var waitsInWindow: [Int64] = []
    }

    /// 300 events a day from midnight nine days ago to now: 12 an hour before noon, 13 after; each
    /// hour's events arrive one second apart from the hour's start and are delivered at +20 s.
    static func pointToPointAt300ADay() throws -> Installation {
        let directory = try TemporaryDirectory()
        let store = try Store.open(at: directory.path("traffic.sqlite"), mode: .create(homeCurrency: "EUR"),
                                   durability: .bulkLoad)
        let created = now.addingTimeInterval(-30 * 86_400)
        let shop = try store.saveConnector(ConnectorSpec(name: "shopify-orders", module: "webhook", pattern: .pointToPoint,
                                                         system: "Shopify", direction: .source), now: created).id
        let xero = try store.saveConnector(ConnectorSpec(name: "xero-invoices", module: "xero", pattern: .pointToPoint,
                                                         system: "Xero", direction: .sink), now: created).id
        let quickbooks = try store.saveConnector(ConnectorSpec(name: "quickbooks-ar", module: "quickbooks-csv", pattern: .batch,
                                                               system: "QuickBooks", direction: .source), now: created).id
        var installation = Installation(store: store, directory: directory, shop: shop, xero: xero, quickbooks: quickbooks)
        let windowStart = now.millis - 7 * 86_400_000
        let first = (now.millis / 86_400_000 - 9) * 86_400_000
        var key = 0
        for hourStart in stride(from: first, to: now.millis, by: Int(hour)) {
            let perHour = (hourStart / hour) % 24 < 12 ? 12 : 13
            var events: [NewEvent] = []
            for second in 0..<perHour {
                key += 1
                events.append(NewEvent(topic: "order_created", sourceId: shop, idempotencyKey: "order-\(key)",
                                       payload: #"{"n":\#(key)}"#, receivedAt: Date(millis: hourStart + Int64(second) * 1000),
                                       targets: [DeliveryTarget(connectorId: xero, maxAttempts: 5)]))
                if hourStart >= windowStart { installation.waitsInWindow.append(Int64(20 - second) * 1000) }
            }
            _ = try store.ingest(events)
            let at = Date(millis: hourStart + 20_000)
            let claims = try store.claimDueDeliveries(connector: xero, limit: 100, lease: 60, owner: "w", now: at)
            #expect(claims.count == perHour)
            _ = try store.record(claims.map {
                DeliveryOutcome(deliveryId: $0.deliveryId, leaseToken: $0.leaseToken, result: .delivered,
                                startedAt: at, durationMs: 100, statusCode: 200, error: nil, errorSignature: nil,
                                responseExcerpt: nil, pauseConnectorReason: nil)
            }, now: at)
        }
        for (index, back) in [3, 2].enumerated() {
            let started = now.addingTimeInterval(-Double(back) * 3600)
            let run = try store.beginBatchRun(job: "quickbooks-ar", connector: quickbooks, input: "ar-\(index).csv", now: started)
            try store.advanceBatchRun(run.runId, cursor: 40, rowsLoaded: 40)
            _ = try store.finishBatchRun(run.runId, source: quickbooks, snapshot: false, now: started.addingTimeInterval(5))
        }
        return installation
    }

    @Test func theSnapshotReadsVolumesRoutesLatencyAndBatchRunsFromTheStore() throws {
        let installation = try Self.pointToPointAt300ADay()
        defer { installation.directory.remove() }
        let snapshot = try installation.store.trafficSnapshot(now: Self.now, days: 7, historyDays: 90)

        #expect(snapshot.historyDays == 10)
        let shop = try #require(snapshot.traffic.first { $0.connector == installation.shop })
        #expect(shop.windowReceived == 2_100)
        #expect(shop.daily.count == 10)
        #expect(shop.daily.dropLast().allSatisfy { $0.received == 300 })
        let xero = try #require(snapshot.traffic.first { $0.connector == installation.xero })
        #expect(xero.windowDelivered == 2_100)
        #expect(xero.peakHourEvents == 13)

        #expect(snapshot.routes == [TrafficSnapshot.Route(source: installation.shop, sink: installation.xero,
                                                          topic: "order_created", deliveries: 2_100, delivered: 2_100,
                                                          failing: 0, sampled: false)])
        let waits = installation.waitsInWindow.sorted()
        let latency = try #require(snapshot.latencies.first)
        #expect(latency.samples == 2_100)
        #expect(latency.p50Ms == waits[Int((0.5 * Double(waits.count)).rounded(.up)) - 1])
        #expect(latency.p95Ms == waits[Int((0.95 * Double(waits.count)).rounded(.up)) - 1])
        #expect(latency.p95Ms == 20_000)

        let job = try #require(snapshot.batchJobs.first)
        #expect(job.job == "quickbooks-ar" && job.runs == 2 && job.rowsLoaded == 80)
        #expect(job.medianIntervalMs == Self.hour)
        #expect(snapshot.fanOut.map(\.topic) == ["order_created"])
    }

    @Test func twoSystemsPointToPointAt300ADayFromTheStoreStayPointToPoint() throws {
        let installation = try Self.pointToPointAt300ADay()
        defer { installation.directory.remove() }
        let snapshot = try installation.store.trafficSnapshot(now: Self.now, days: 7, historyDays: 90)
        let map = IntegrationMap.build(from: snapshot)
        #expect(map.edges.map(\.id) == ["quickbooks-ar->patchbay", "shopify-orders->xero-invoices"])
        let edge = try #require(map.edges.last)
        #expect(edge.eventsPerDay == 300)
        #expect(edge.failureRate == 0)
        #expect(edge.latency?.p95Ms == 20_000)

        let advice = Advisor().advise(snapshot)
        #expect(advice.installation.recommended == .pointToPoint)
        #expect(advice.installation.reason.hasPrefix("2 systems wired directly: 1 possible integration, 1 configured; 300 events/day"))
        #expect(advice.installation.growth?.trend == .flat)
        #expect(advice.installation.growth?.days == 9)
        let batch = try #require(advice.integrations.first { $0.subject == "quickbooks-ar" })
        #expect(batch.reason.contains("2 runs in 7 days, every 1 h (median), 80 rows loaded, read only by the aging report"))
    }
}
