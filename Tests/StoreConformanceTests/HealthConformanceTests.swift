import Foundation
import PatchbayPostgres
import PatchbayStore
import Testing

private let week: Int64 = 7 * 86_400

extension Harness {
    var health: any HealthReading { store as! any HealthReading }

    /// Ingests one event with this payload; its deliveries in target order.
    @discardableResult
    func ingest(_ key: String, payload: String, at seconds: Int64 = 0, to targets: [ConnectorID]) throws -> [DeliveryID] {
        let result = try store.ingest([event(key, at: seconds, to: targets, payload: payload)])[0]
        guard case .accepted(_, let deliveries) = result else { throw ConformanceFailure("'\(key)' was \(result)") }
        return deliveries
    }
}

/// Money at risk, sources' traffic and batch jobs' last runs: the same figures on every backend.
@Suite("Conformance: health reads (money at risk, sources, batch jobs)")
struct HealthConformanceTests {
    /// erp: A (EUR 12,000.00) and C (USD 310.50) and D (no amount) dead with "boom", B (EUR 480.00)
    /// retrying with "HTTP 503", G (EUR 99.00) delivered. mail: E (JPY 1500), F (a total that is a
    /// JSON number) and I (JPY with decimals) retrying with "timeout".
    private func moneyScenario(_ h: Harness) throws -> (a: DeliveryID, erpGroups: [String: Int64], mailGroup: Int64) {
        let a = try h.ingest("A", payload: #"{"currency":"EUR","total":"12,000.00","lines":[]}"#, to: [h.erp])[0]
        let b = try h.ingest("B", payload: #"{"total":"480.00","currency":"EUR"}"#, to: [h.erp])[0]
        let c = try h.ingest("C", payload: #"{"currency":"USD","total":"310.50"}"#, to: [h.erp])[0]
        let d = try h.ingest("D", payload: #"{"order":"D","amount":{"currency":"EUR","total":"5.00"}}"#, to: [h.erp])[0]
        let g = try h.ingest("G", payload: #"{"currency":"EUR","total":"99.00"}"#, to: [h.erp])[0]
        let e = try h.ingest("E", payload: #"{"currency":"JPY","total":"1500"}"#, to: [h.mail])[0]
        let f = try h.ingest("F", payload: #"{"currency":"EUR","total":12.5}"#, to: [h.mail])[0]
        let i = try h.ingest("I", payload: #"{"currency":"JPY","total":"1.5"}"#, to: [h.mail])[0]
        try h.settle(h.erp, at: 60, [a: (.dead, "boom"), b: (.retry(at: Harness.at(600)), "HTTP 503"), c: (.dead, "boom"),
                                     d: (.dead, "boom"), g: (.delivered, nil)])
        try h.settle(h.mail, at: 60, [e: (.retry(at: Harness.at(600)), "timeout"), f: (.retry(at: Harness.at(600)), "timeout"),
                                      i: (.retry(at: Harness.at(600)), "timeout")])
        let groups = try h.reads.errorGroups(connector: nil, limit: 100)
        let byKey = Dictionary(uniqueKeysWithValues: groups.map { ("\($0.connector):\($0.signature)", $0.id) })
        return (a, ["boom": try #require(byKey["erp:boom"]), "HTTP 503": try #require(byKey["erp:HTTP 503"])],
                try #require(byKey["mail:timeout"]))
    }

    private func amounts(_ risk: MoneyAtRisk) -> [String] { risk.amounts.map { "\($0.text) (\($0.deliveries))" } }

    @Test("money at risk sums each currency exactly, per connector and per error group, and counts payloads without an amount",
          arguments: Backend.available)
    func moneyAtRisk(backend: Backend) throws {
        let h = try backend.make()
        let (a, erpGroups, mailGroup) = try moneyScenario(h)
        let report = try h.health.moneyAtRiskReport()

        // Never added across currencies: EUR, JPY and USD stay apart, each in its own minor units.
        #expect(amounts(report.total) == ["EUR 12,480.00 (2)", "JPY 1,500 (1)", "USD 310.50 (1)"])
        #expect(report.total.withoutAmount == 3)
        #expect(report.total.deliveries == 7)
        #expect(report.total.amount(in: "EUR")?.minor == 1_248_000)

        #expect(amounts(report.connector(h.erp)) == ["EUR 12,480.00 (2)", "USD 310.50 (1)"])
        #expect(report.connector(h.erp).withoutAmount == 1)
        #expect(amounts(report.connector(h.mail)) == ["JPY 1,500 (1)"])
        #expect(report.connector(h.mail).withoutAmount == 2)
        #expect(report.connector(h.shop) == .none)

        #expect(amounts(report.group(erpGroups["boom"]!)) == ["EUR 12,000.00 (1)", "USD 310.50 (1)"])
        #expect(report.group(erpGroups["boom"]!).withoutAmount == 1)
        #expect(amounts(report.group(erpGroups["HTTP 503"]!)) == ["EUR 480.00 (1)"])
        #expect(report.group(mailGroup).summary == "JPY 1,500 · 2 without an amount")

        // The alert's read gives the connector's figures; nil means every connector.
        #expect(try h.health.moneyAtRisk(connector: h.erp) == report.connector(h.erp))
        #expect(try h.health.moneyAtRisk(connector: h.mail) == report.connector(h.mail))
        #expect(try h.health.moneyAtRisk(connector: nil) == report.total)
        #expect(report.connector(h.erp).sentence(notIn: "Xero")
                == "EUR 12,480.00 and USD 310.50 of orders not in Xero (1 more without an amount)")

        // A delivery an operator requeued is no longer failing: its money is no longer at risk.
        _ = try h.store.retry([a], reason: "test", now: Harness.at(120))
        let after = try h.health.moneyAtRisk(connector: h.erp)
        #expect(amounts(after) == ["EUR 480.00 (1)", "USD 310.50 (1)"])
        #expect(try h.countersAgree() == [])
    }

    @Test("a source is quiet against the median of the same hour in the previous weeks, unknown without history",
          arguments: Backend.available)
    func sourceActivity(backend: Backend) throws {
        let h = try backend.make()
        let crm = try h.store.saveConnector(ConnectorSpec(name: "crm", module: "webhook", pattern: .hub, system: "CRM",
                                                          direction: .source), now: Harness.at(0)).id
        func receive(_ source: ConnectorID, _ count: Int, from seconds: Int64, key: String) throws {
            let events = (0..<count).map { index in
                NewEvent(topic: "order_created", sourceId: source, idempotencyKey: "\(key)-\(index)", payload: "{}",
                         receivedAt: Harness.at(seconds + Int64(index) * 60), targets: [])
            }
            _ = try h.store.ingest(events)
        }
        // shop: 12:00 to 12:20 of each of the three previous weeks: 20, 4 and 20 events; usual is
        // their median, 20 (their mean, 14, would call 4 events usual).
        try receive(h.shop, 20, from: -3 * week, key: "w3")
        try receive(h.shop, 4, from: -2 * week, key: "w2")
        try receive(h.shop, 20, from: -1 * week, key: "w1")
        // crm: one week of history only.
        try receive(crm, 30, from: -1 * week, key: "crm-w1")
        try h.store.recordRejections([h.rejection(h.shop, at: -3600 * 13), h.rejection(h.shop, at: 100),
                                      h.rejection(h.shop, at: 200)])
        try receive(h.shop, 4, from: 60, key: "now")
        try receive(crm, 1, from: 60, key: "crm-now")

        // 12:59:59: the last 60 minutes are exactly the hour from 12:00.
        let now = Harness.at(3599)
        var health = try h.health.sourceHealth(window: 3600, now: now)
        let shop = try #require(health[h.shop])
        #expect(shop.lastHour == 4 && shop.usual == 20 && shop.activity == .quiet)
        #expect(shop.receivedToday == 4 && shop.receivedInWindow == 4)
        #expect(shop.refusedToday == 2 && shop.refusedInWindow == 2)
        #expect(shop.lastReceivedAt == Harness.at(60 + 3 * 60).millis)
        let crmHealth = try #require(health[crm])
        #expect(crmHealth.activity == .unknown && crmHealth.usual == nil && crmHealth.lastHour == 1)
        #expect(health[h.erp] == nil, "sinks are not sources")

        // Four more events: 8 of a usual 20 is not quiet.
        try receive(h.shop, 4, from: 600, key: "more")
        health = try h.health.sourceHealth(window: 86_400, now: now)
        #expect(health[h.shop]?.activity == .usual && health[h.shop]?.lastHour == 8)
        // The window reaches back a day: yesterday's refusal counts there, not today.
        #expect(health[h.shop]?.refusedInWindow == 3 && health[h.shop]?.refusedToday == 2)
        #expect(health[h.shop]?.receivedInWindow == 8)
    }

    @Test("a batch job shows its latest run; a source with neither the batch pattern nor runs is not one",
          arguments: Backend.available)
    func batchJobs(backend: Backend) throws {
        let h = try backend.make()
        let export = try h.store.saveConnector(ConnectorSpec(name: "erp-export", module: "csv-events", pattern: .batch,
                                                             system: "ERP", direction: .source), now: Harness.at(0)).id
        let drop = try h.store.saveConnector(ConnectorSpec(name: "ar-drop", module: "quickbooks-csv", pattern: .hub,
                                                           system: "QuickBooks", direction: .source), now: Harness.at(0)).id
        var jobs = try h.health.batchJobHealth()
        #expect(Set(jobs.keys) == [export], "a batch-pattern source is a job before it ever ran")
        #expect(jobs[export]?.lastRun == nil)

        let first = try h.store.beginBatchRun(job: "erp-export", connector: export, input: "a", now: Harness.at(10))
        try h.store.advanceBatchRun(first.runId, cursor: 40, rowsLoaded: 38)
        try h.store.finishBatchRun(first.runId, source: nil, snapshot: false, currencies: nil, rowsRejected: 2,
                                   now: Harness.at(20))
        try h.store.recordFailedBatchRun(job: "ar-drop", connector: drop, rowsRead: 7, error: "bad header", now: Harness.at(30))
        _ = try h.store.beginBatchRun(job: "erp-export", connector: export, input: "b", now: Harness.at(40))

        jobs = try h.health.batchJobHealth()
        #expect(Set(jobs.keys) == [export, drop])
        let latest = try #require(jobs[export]?.lastRun)
        #expect(latest.status == .running && latest.startedAt == Harness.at(40).millis)
        let failed = try #require(jobs[drop]?.lastRun)
        #expect(failed.status == .failed && failed.rowsRead == 7 && failed.error == "bad header")
        #expect(jobs[drop]?.job == "ar-drop")

        // Run now: the request shows until the hub clears it.
        #expect(jobs[export]?.runRequestedAt == nil)
        let requests = h.store as! any BatchRunRequests
        try requests.requestBatchRun(job: "erp-export", now: Harness.at(50))
        #expect(try h.health.batchJobHealth()[export]?.runRequestedAt == Harness.at(50).millis)
        try requests.clearBatchRunRequest(job: "erp-export", upTo: Harness.at(50).millis)
        #expect(try h.health.batchJobHealth()[export]?.runRequestedAt == nil)
    }
}
