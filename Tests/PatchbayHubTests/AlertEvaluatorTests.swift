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

    @Test("quota_low: the day's calls left below a share of the limit or a count, for sinks and pulls alike; a reading a day old says nothing")
    func quotaLow() {
        let xero = ConnectorStatus(connector: Self.connector(2, "xero", .sink), counts: [:])
        let pull = ConnectorStatus(connector: Self.connector(3, "xero-ar", .source, pattern: .batch), counts: [:])
        let erp = ConnectorStatus(connector: Self.connector(4, "erp", .sink), counts: [:])
        func reading(_ id: ConnectorID, _ left: Int?, limit: Int? = 5000, age: Int64 = 120_000) -> APIQuota {
            APIQuota(connector: id, dayRemaining: left, dayLimit: limit, minuteRemaining: 40, observedAt: Self.now.millis - age)
        }
        func evaluate(_ rule: AlertRule, _ quotas: [APIQuota]) -> [AlertFinding] {
            var inputs = Self.inputs([xero, pull, erp])
            inputs.quotas = Dictionary(uniqueKeysWithValues: quotas.map { ($0.connector, $0) })
            return AlertEvaluator.evaluate([rule], inputs)
        }
        let share = AlertRule(name: "quota", kind: .quotaLow, notify: ["x"])  // default: below 10 %
        #expect(share.threshold == 0.1 && share.minimum == 0)
        let found = evaluate(share, [reading(2, 312), reading(3, 4_800)])
        #expect(found.map(\.subject) == ["xero"], "the batch pull at 4,800 is fine; the sink at 312 is not")
        #expect(found.first?.summary == "xero has 312 of its 5000 API calls left for the day (read 2m ago); "
                + "when none are left the provider refuses every call until the quota resets")
        #expect(found.first?.value == "312" && found.first?.threshold == "10% of 5000")
        // Exactly at the floor (500 of 5,000) is not below it.
        #expect(evaluate(share, [reading(2, 500)]).isEmpty)
        #expect(evaluate(share, [reading(2, 499)]).map(\.subject) == ["xero"])
        // A pull is watched too, by name.
        let named = AlertRule(name: "quota", kind: .quotaLow, connector: "xero-ar", notify: ["x"])
        #expect(evaluate(named, [reading(2, 10), reading(3, 10)]).map(\.subject) == ["xero-ar"])
        // A count instead of a share, which needs no known limit.
        let count = AlertRule(name: "quota", kind: .quotaLow, minimum: 1000, notify: ["x"])
        #expect(evaluate(count, [reading(2, 999, limit: nil)]).first?.threshold == "1000")
        #expect(evaluate(count, [reading(2, 1000, limit: nil)]).isEmpty)
        // A share with no known limit, no day figure, or a reading older than a day: nothing to say.
        #expect(evaluate(share, [reading(2, 10, limit: nil)]).isEmpty)
        #expect(evaluate(share, [reading(2, nil)]).isEmpty)
        #expect(evaluate(share, [reading(2, 10, age: 86_400_000)]).isEmpty)
        #expect(evaluate(share, [reading(2, 10, age: 86_399_000)]).count == 1)
        #expect(evaluate(share, []).isEmpty)
    }
}
