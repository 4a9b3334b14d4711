import Foundation
import PatchbayHub
import PatchbayStore
import Testing

/// Each alert kind from plain data: what holds fires, what does not stays quiet, and the words say why.
@Suite("Alert rules")
struct AlertEvaluatorTests {
    /// Thursday 2026-12-03 10:00 UTC.
    static let now = Date(millis: 1_796_292_000_000)
    static let weekAgo = now.millis - 8 * 86_400_000

    static func connector(_ id: Int64, _ name: String, _ direction: ConnectorDirection, pattern: IntegrationPattern = .hub,
                          lastSuccess: Int64? = nil, lastError: Int64? = nil, error: String? = nil,
                          paused: Bool = false, by: PauseCause? = nil, created: Int64 = weekAgo * 5) -> Connector {
        Connector(id: id, name: name, module: "http", pattern: pattern, system: name, direction: direction, paused: paused,
                  pausedReason: paused ? "why \(name)" : nil, health: .healthy, lastSuccessAt: lastSuccess,
                  lastErrorAt: lastError, lastError: error, createdAt: min(created, weekAgo - 30 * 86_400_000), pausedBy: by)
    }

    static func inputs(_ statuses: [ConnectorStatus], lastHour: [ConnectorID: RollupCounts] = [:],
                       usual: [ConnectorID: RollupCounts] = [:], oldest: [ConnectorID: Int64] = [:],
                       runs: [BatchJobRuns] = [], overdue: [String: Int64] = [:],
                       money: [ConnectorID: [String: Int64]] = [:]) -> AlertInputs {
        AlertInputs(now: now, statuses: statuses, lastHour: lastHour, sameHourBefore: Array(repeating: usual, count: 4),
                    oldestWaiting: oldest, batchRuns: runs, overdue90: overdue, moneyAtRisk: money)
    }

    let shop = connector(1, "shop", .source)
    let minute: Int64 = 60_000

    @Test("connector_failing: no success for longer than the span, with failing deliveries and money at risk per currency")
    func failing() {
        let erp = Self.connector(2, "erp", .sink, lastSuccess: Self.now.millis - 15 * minute,
                                 lastError: Self.now.millis - minute, error: "HTTP 503 Service Unavailable")
        let rule = AlertRule(name: "erp-down", kind: .connectorFailing, connector: "erp", span: 600, notify: ["oncall"])
        let found = AlertEvaluator.evaluate([rule], Self.inputs([ConnectorStatus(connector: erp, counts: [.retrying: 3])],
                                                                money: [2: ["EUR": 1_248_000, "USD": 5000]]))
        #expect(found.count == 1)
        #expect(found.first?.summary == "erp has had no success for 15m: HTTP 503 Service Unavailable; at risk: EUR 12,480.00, USD 50.00")
        // Ten minutes is not yet longer than the span; no failing deliveries is not failing.
        let recent = Self.connector(2, "erp", .sink, lastSuccess: Self.now.millis - 5 * minute, lastError: Self.now.millis - minute)
        #expect(AlertEvaluator.evaluate([rule], Self.inputs([ConnectorStatus(connector: recent, counts: [.retrying: 3])])).isEmpty)
        #expect(AlertEvaluator.evaluate([rule], Self.inputs([ConnectorStatus(connector: erp, counts: [.delivered: 3])])).isEmpty)
    }

    @Test("dead_letters: over the threshold, per connector or for the whole hub")
    func dead() {
        let erp = ConnectorStatus(connector: Self.connector(2, "erp", .sink), counts: [.dead: 7])
        let mail = ConnectorStatus(connector: Self.connector(3, "mail", .sink), counts: [.dead: 4])
        let all = AlertRule(name: "dead", kind: .deadLetters, threshold: 10, notify: ["x"])
        #expect(AlertEvaluator.evaluate([all], Self.inputs([erp, mail])).map(\.subject) == ["*"])
        let each = AlertRule(name: "dead", kind: .deadLetters, connector: "erp", threshold: 5, notify: ["x"])
        #expect(AlertEvaluator.evaluate([each], Self.inputs([erp, mail])).map(\.subject) == ["erp"])
        let high = AlertRule(name: "dead", kind: .deadLetters, threshold: 11, notify: ["x"])
        #expect(AlertEvaluator.evaluate([high], Self.inputs([erp, mail])).isEmpty)
    }

    @Test("source_quiet: well below the usual volume for this hour of the week; no usual, no alert")
    func quiet() {
        let status = ConnectorStatus(connector: shop, counts: [:])
        let rule = AlertRule(name: "shop-quiet", kind: .sourceQuiet, connector: "shop", threshold: 0.2, minimum: 10, notify: ["x"])
        let quiet = AlertEvaluator.evaluate([rule], Self.inputs([status], lastHour: [1: RollupCounts(received: 3)],
                                                                usual: [1: RollupCounts(received: 140)]))
        #expect(quiet.first?.summary == "shop received 3 events in the last hour; usually 140 at this hour of the week")
        #expect(AlertEvaluator.evaluate([rule], Self.inputs([status], lastHour: [1: RollupCounts(received: 40)],
                                                            usual: [1: RollupCounts(received: 140)])).isEmpty)
        // Too little usual traffic to call anything quiet.
        #expect(AlertEvaluator.evaluate([rule], Self.inputs([status], usual: [1: RollupCounts(received: 5)])).isEmpty)
        // A source created yesterday has no usual for last week's hour yet.
        let young = ConnectorStatus(connector: Connector(id: 1, name: "shop", module: "webhook", pattern: .event, system: "s",
                                                         direction: .source, paused: false, health: .healthy,
                                                         createdAt: Self.now.millis - 86_400_000), counts: [:])
        #expect(AlertEvaluator.evaluate([rule], Self.inputs([young], usual: [1: RollupCounts(received: 140)])).isEmpty)
        // With the store's own usual (the median `status` shows), that one decides: present, it is
        // used; absent (no usual yet), nothing fires whatever the weekly counts say.
        var shared = Self.inputs([status], lastHour: [1: RollupCounts(received: 3)], usual: [1: RollupCounts(received: 140)])
        shared.sourceUsual = [1: 40]
        #expect(AlertEvaluator.evaluate([rule], shared).first?.summary == "shop received 3 events in the last hour; usually 40 at this hour of the week")
        shared.sourceUsual = [:]
        #expect(AlertEvaluator.evaluate([rule], shared).isEmpty)
    }

    @Test("failure_rate: above N times the usual rate for the hour, with a floor and a minimum of attempts")
    func rate() {
        let erp = ConnectorStatus(connector: Self.connector(2, "erp", .sink), counts: [:])
        let rule = AlertRule(name: "erp-rate", kind: .failureRate, connector: "erp", threshold: 3, minimum: 20, notify: ["x"])
        let usual = [Int64(2): RollupCounts(delivered: 98, failed: 2)]
        let high = AlertEvaluator.evaluate([rule], Self.inputs([erp], lastHour: [2: RollupCounts(delivered: 60, failed: 40)], usual: usual))
        #expect(high.first?.summary == "erp failed 40% of 100 attempts in the last hour; usually 2.0% at this hour of the week")
        #expect(AlertEvaluator.evaluate([rule], Self.inputs([erp], lastHour: [2: RollupCounts(delivered: 95, failed: 5)], usual: usual)).isEmpty)
        #expect(AlertEvaluator.evaluate([rule], Self.inputs([erp], lastHour: [2: RollupCounts(delivered: 5, failed: 10)], usual: usual)).isEmpty)
    }

    @Test("queue_age, batch_late, invoices_overdue (per currency, never summed) and connector_paused (not an operator's pause)")
    func others() {
        let erp = ConnectorStatus(connector: Self.connector(2, "erp", .sink), counts: [.pending: 40])
        let age = AlertRule(name: "q", kind: .queueAge, span: 1800, notify: ["x"])
        #expect(AlertEvaluator.evaluate([age], Self.inputs([erp], oldest: [2: Self.now.millis - 45 * minute])).first?.summary
                == "erp: the oldest of 40 waiting deliveries is 45m old")
        #expect(AlertEvaluator.evaluate([age], Self.inputs([erp], oldest: [2: Self.now.millis - 5 * minute])).isEmpty)

        let job = ConnectorStatus(connector: Self.connector(4, "qb-import", .source, pattern: .batch), counts: [:])
        let late = AlertRule(name: "late", kind: .batchLate, span: 26 * 3600, notify: ["x"])
        let stale = BatchJobRuns(job: "qb-import", lastStartedAt: Self.now.millis - 3600_000, lastStatus: .failed,
                                 lastSucceededAt: Self.now.millis - 30 * 3600_000)
        #expect(AlertEvaluator.evaluate([late], Self.inputs([job], runs: [stale])).first?.summary
                == "qb-import has not succeeded for 1d6h, last run failed")
        let fresh = BatchJobRuns(job: "qb-import", lastStartedAt: Self.now.millis, lastStatus: .succeeded, lastSucceededAt: Self.now.millis)
        #expect(AlertEvaluator.evaluate([late], Self.inputs([job], runs: [fresh])).isEmpty)

        let overdue = AlertRule(name: "overdue", kind: .invoicesOverdue, threshold: 10_000, notify: ["x"])
        let found = AlertEvaluator.evaluate([overdue], Self.inputs([], overdue: ["EUR": 1_250_000, "USD": 900_000, "JPY": 20_000]))
        #expect(found.map(\.subject) == ["EUR", "JPY"])
        let eurOnly = AlertRule(name: "overdue", kind: .invoicesOverdue, threshold: 10_000, currency: "USD", notify: ["x"])
        #expect(AlertEvaluator.evaluate([eurOnly], Self.inputs([], overdue: ["EUR": 1_250_000, "USD": 900_000])).isEmpty)

        let paused = AlertRule(name: "paused", kind: .connectorPaused, notify: ["x"])
        let byBreaker = ConnectorStatus(connector: Self.connector(2, "erp", .sink, paused: true, by: .breaker), counts: [:])
        let byOperator = ConnectorStatus(connector: Self.connector(3, "mail", .sink, paused: true, by: .operator), counts: [:])
        #expect(AlertEvaluator.evaluate([paused], Self.inputs([byBreaker, byOperator])).map(\.subject) == ["erp"])
    }
}
