import Foundation
import PatchbayStore
import Testing

/// Alerts, the circuit breaker and run-now requests (SQLite migration v8, PostgreSQL v2), the same
/// on every backend.
@Suite("Conformance: alerts, breaker, run now")
struct AlertsConformanceTests {
    typealias Extra = AlertLedger & AlertReading & CircuitBreaking & BatchRunRequests

    func extra(_ h: Harness) throws -> any Extra {
        guard let store = h.store as? any Extra else { throw ConformanceFailure("the backend lacks the alert roles") }
        return store
    }

    @Test("an alert fires once per rule and subject, counts its notices, resolves, and may fire again", arguments: Backend.available)
    func alertLifecycle(backend: Backend) throws {
        let h = try backend.make()
        let store = try extra(h)
        let finding = AlertFinding(rule: "erp-down", kind: .connectorFailing, subject: "erp", summary: "erp failing for 12m",
                                   value: "12m", threshold: "10m")
        let first = try store.fireAlert(finding, now: Harness.at(10))
        let again = try store.fireAlert(finding, now: Harness.at(20))
        #expect(again.id == first.id && again.firedAt == Harness.at(10).millis && again.notifications == 0)
        try store.updateAlert(first.id, summary: "erp failing for 13m", value: "13m", notified: true, now: Harness.at(30))
        try store.updateAlert(first.id, summary: "erp failing for 14m", value: "14m", notified: false, now: Harness.at(40))
        var firing = try store.firingAlerts()
        #expect(firing.count == 1)
        #expect(firing[0].notifications == 1 && firing[0].lastNotifiedAt == Harness.at(30).millis)
        #expect(firing[0].summary == "erp failing for 14m" && firing[0].value == "14m")
        try store.resolveAlert(first.id, summary: "resolved", now: Harness.at(50))
        firing = try store.firingAlerts()
        #expect(firing.isEmpty)
        let second = try store.fireAlert(finding, now: Harness.at(60))
        #expect(second.id != first.id)
        _ = try store.fireAlert(AlertFinding(rule: "dead", kind: .deadLetters, subject: "*", summary: "3 dead"), now: Harness.at(5))
        let recent = try store.recentAlerts(limit: 10)
        #expect(recent.map(\.id).first == second.id || recent.first?.state == .firing)
        #expect(recent.prefix(2).allSatisfy { $0.state == .firing })
        #expect(recent.last?.id == first.id && recent.last?.state == .resolved && recent.last?.resolvedAt == Harness.at(50).millis
                && recent.last?.notifications == 2)
    }

    @Test("the breaker pauses, claims skip the connector, a probe takes one delivery with a free attempt, closing resumes",
          arguments: Backend.available)
    func breaker(backend: Backend) throws {
        let h = try backend.make()
        let store = try extra(h)
        let (_, first) = try h.ingest("A", at: 0, maxAttempts: 1)
        try h.ingest("B", at: 1, maxAttempts: 1)
        #expect(try store.tripBreaker(connector: h.erp, reason: "breaker: 20 failed", now: Harness.at(2)))
        #expect(try !store.tripBreaker(connector: h.erp, reason: "again", now: Harness.at(2)))
        let paused = try h.store.connector(named: "erp")!
        #expect(paused.paused && paused.pausedBy == .breaker && paused.pausedReason == "breaker: 20 failed")
        #expect(try h.claim(at: 3).isEmpty)
        // The probe: the next in line, its attempt free: max_attempts 1 stays a budget of 1.
        let probe = try #require(try store.claimProbe(connector: h.erp, lease: 30, owner: "probe", now: Harness.at(4)))
        #expect(probe.deliveryId == first[0] && probe.attempt == 1 && probe.maxAttempts == 2)
        _ = try h.store.record([h.outcome(probe, .retry(at: Harness.at(10)), at: 5, error: "HTTP 503")], now: Harness.at(5))
        #expect(try h.delivery(first[0]).state == .retrying)
        #expect(try store.claimProbe(connector: h.mail, lease: 30, owner: "probe", now: Harness.at(6)) == nil)
        #expect(try store.closeBreaker(connector: h.erp, now: Harness.at(7)))
        #expect(try !(h.store.connector(named: "erp")!.paused))
        #expect(try h.claim(at: 20).count == 2)
        #expect(try h.countersAgree() == [])
    }

    @Test("an operator's pause is never resumed by the breaker, and takes over a breaker's pause", arguments: Backend.available)
    func operatorPauseWins(backend: Backend) throws {
        let h = try backend.make()
        let store = try extra(h)
        try h.ingest("A", at: 0)
        #expect(try h.store.setPaused("erp", paused: true, reason: "maintenance window"))
        #expect(try !store.tripBreaker(connector: h.erp, reason: "breaker", now: Harness.at(1)))
        #expect(try store.claimProbe(connector: h.erp, lease: 30, owner: "probe", now: Harness.at(2)) == nil)
        #expect(try !store.closeBreaker(connector: h.erp, now: Harness.at(3)))
        #expect(try h.store.connector(named: "erp")!.pausedBy == .operator)
        #expect(try h.store.setPaused("erp", paused: false, reason: nil))
        #expect(try store.tripBreaker(connector: h.erp, reason: "breaker", now: Harness.at(4)))
        #expect(try h.store.setPaused("erp", paused: true, reason: "taking over"))
        let connector = try h.store.connector(named: "erp")!
        #expect(connector.pausedBy == .operator && connector.pausedReason == "taking over")
        #expect(try !store.closeBreaker(connector: h.erp, now: Harness.at(5)))
    }

    @Test("run now: a request on a batch job is kept until cleared; other connectors are refused", arguments: Backend.available)
    func runNow(backend: Backend) throws {
        let h = try backend.make()
        let store = try extra(h)
        _ = try h.store.saveConnector(ConnectorSpec(name: "qb-import", module: "quickbooks-csv", pattern: .batch, system: "QuickBooks",
                                                    direction: .source), now: Harness.at(0))
        #expect(try store.batchRunRequest(job: "qb-import") == nil)
        try store.requestBatchRun(job: "qb-import", now: Harness.at(10))
        #expect(try store.batchRunRequest(job: "qb-import") == Harness.at(10).millis)
        try store.clearBatchRunRequest(job: "qb-import", upTo: Harness.at(5).millis)
        #expect(try store.batchRunRequest(job: "qb-import") == Harness.at(10).millis)
        try store.clearBatchRunRequest(job: "qb-import", upTo: Harness.at(10).millis)
        #expect(try store.batchRunRequest(job: "qb-import") == nil)
        #expect(throws: StoreError.self) { try store.requestBatchRun(job: "erp", now: Harness.at(11)) }
        #expect(throws: StoreError.self) { try store.requestBatchRun(job: "nope", now: Harness.at(11)) }
    }

    @Test("alert inputs: hourly and minute counters, the oldest waiting delivery, batch runs", arguments: Backend.available)
    func inputs(backend: Backend) throws {
        let h = try backend.make()
        let store = try extra(h)
        try h.ingest("A", at: 0)
        try h.ingest("B", at: 120)
        let claims = try h.claim(limit: 1, at: 130)
        _ = try h.store.record([h.outcome(claims[0], .retry(at: Harness.at(400)), at: 131, error: "HTTP 503")], now: Harness.at(131))
        let hour = Harness.at(0).millis / 3_600_000
        let hourly = try store.hourlyCounts(buckets: [hour, hour - 168])
        #expect(hourly[hour]?[h.shop]?.received == 2)
        #expect(hourly[hour]?[h.erp]?.failed == 1)
        #expect(hourly[hour - 168] == nil)
        let minutes = try store.minuteCounts(sinceMinute: Harness.at(60).millis / 60_000)
        #expect(minutes[h.shop]?.received == 1 && minutes[h.erp]?.failed == 1)
        #expect(try store.oldestWaiting()[h.erp] == Harness.at(0).millis)
        #expect(try store.oldestWaiting()[h.mail] == nil)
        let run = try h.store.beginBatchRun(job: "qb-import", connector: nil, input: "a.csv", now: Harness.at(200))
        _ = try h.store.finishBatchRun(run.runId, source: nil, snapshot: false, currencies: nil, rowsRejected: 0, now: Harness.at(210))
        _ = try h.store.recordFailedBatchRun(job: "qb-import", connector: nil, rowsRead: 0, error: "no file", now: Harness.at(300))
        let runs = try store.batchJobRuns()
        #expect(runs == [BatchJobRuns(job: "qb-import", lastStartedAt: Harness.at(300).millis, lastStatus: .failed,
                                      lastSucceededAt: Harness.at(200).millis)])
    }
}
