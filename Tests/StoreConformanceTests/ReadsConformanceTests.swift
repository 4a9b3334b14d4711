import Foundation
import PatchbayPostgres
import PatchbayStore
import Testing

/// The dashboard's and the map's reads, declared here where they are used: the counters the
/// dashboard shows (throughput per connector, received, refused, failing) and the traffic snapshot
/// the integration map and the advisor are computed from.
protocol ReadsConformanceReading: Sendable {
    func throughputByConnector(window: TimeInterval, bucket: TimeInterval, now: Date) throws
        -> [ConnectorID: [ThroughputBucket]]
    func receivedCount(since date: Date) throws -> Int
    func rejectedCount(since: Date) throws -> Int
    func failingCount(_ filter: FailureFilter) throws -> Int
    func errorGroups(connector: ConnectorID?, limit: Int) throws -> [ErrorGroup]
    func trafficSnapshot(now: Date, days: Int, historyDays: Int) throws -> TrafficSnapshot
}

extension Store: ReadsConformanceReading {}
extension PostgresStore: ReadsConformanceReading {}

private let hour: Int64 = 3600
private let day: Int64 = 86400

/// Milliseconds of `Harness.at(seconds)`.
private func ms(_ seconds: Int64) -> Int64 { Harness.t0Millis + seconds * 1000 }

extension Harness {
    var reads: any ReadsConformanceReading { store as! any ReadsConformanceReading }

    /// Claims due deliveries of `connector` at `seconds` and records one outcome per delivery
    /// (`results` by delivery id; every claimed delivery must have one), now = `seconds`.
    func settle(_ connector: ConnectorID, at seconds: Int64,
                _ results: [DeliveryID: (DeliveryOutcome.Result, String?)]) throws {
        let claims = try claim(connector, at: seconds)
        #expect(Set(claims.map(\.deliveryId)) == Set(results.keys), "claimed at +\(seconds) s")
        let outcomes = claims.map { claim in
            let (result, error) = results[claim.deliveryId]!
            return outcome(claim, result, at: seconds, error: error)
        }
        _ = try store.record(outcomes, now: Harness.at(seconds))
    }

    func rejection(_ connector: ConnectorID?, at seconds: Int64, keep: Bool = true) -> NewRejection {
        NewRejection(connectorId: connector, receivedAt: Harness.at(seconds), status: 401, reason: "bad signature",
                     remote: "10.0.0.1", path: "/hooks/shop", bodyBytes: 12, bodyExcerpt: "{}", keepDetail: keep)
    }
}

/// `ThroughputBucket`s of a window: all zero but the ones given, by index.
private func series(start: Int64, bucketSeconds: Int64, count: Int, _ filled: [Int: ThroughputBucket]) -> [ThroughputBucket] {
    (0..<count).map { index in
        let begin = start + Int64(index) * bucketSeconds * 1000
        guard var bucket = filled[index] else { return ThroughputBucket(start: begin) }
        bucket.start = begin
        return bucket
    }
}

@Suite("Conformance: dashboard and traffic reads")
struct ReadsConformanceTests {
    /// t0 = 12:00 UTC. Rejections at 10:53:20, 12:00:10, 12:01:10 (counted only), 13:00:50, and one
    /// with no connector. shop receives A (12:00:00 → erp), B (12:00:30 → erp, mail), C (12:01:30
    /// → erp), D (13:01:40 → mail). At 12:02 erp delivers A, B retries ("HTTP 503"), C is dead
    /// ("boom"); at 12:03:20 mail's B retries ("timeout"); at 13:03:20 mail delivers B and D is
    /// dead ("bad"); at 13:04:10 an operator requeues C.
    private func dashboardScenario(_ h: Harness) throws -> (a: EventID, b: [DeliveryID], c: DeliveryID, d: DeliveryID) {
        try h.store.recordRejections([
            h.rejection(h.shop, at: -4000), h.rejection(h.shop, at: 10), h.rejection(nil, at: 20),
            h.rejection(h.shop, at: 70, keep: false), h.rejection(h.shop, at: 3650),
        ])
        let a = try h.ingest("A", at: 0)
        let b = try h.ingest("B", at: 30, to: [h.erp, h.mail])
        let c = try h.ingest("C", at: 90)
        try h.settle(h.erp, at: 120, [a.deliveries[0]: (.delivered, nil),
                                      b.deliveries[0]: (.retry(at: Harness.at(600)), "HTTP 503"),
                                      c.deliveries[0]: (.dead, "boom")])
        try h.settle(h.mail, at: 200, [b.deliveries[1]: (.retry(at: Harness.at(900)), "timeout")])
        let d = try h.ingest("D", at: 3700, to: [h.mail])
        try h.settle(h.mail, at: 3800, [b.deliveries[1]: (.delivered, nil), d.deliveries[0]: (.dead, "bad")])
        return (a.event, b.deliveries, c.deliveries[0], d.deliveries[0])
    }

    @Test("receivedCount and rejectedCount add whole hours and the minutes before them, at any time",
          arguments: Backend.available)
    func receivedAndRejected(backend: Backend) throws {
        let h = try backend.make()
        _ = try dashboardScenario(h)
        let received: [(Int64, Int)] = [(-7200, 4), (0, 4), (60, 2), (61, 2), (3599, 1), (3600, 1), (3701, 1),
                                        (3900, 0)]
        for (since, expected) in received {
            #expect(try h.reads.receivedCount(since: Harness.at(since)) == expected, "received since +\(since) s")
        }
        // A refusal with no connector is kept but counted nowhere; a counted-only one is counted.
        let rejected: [(Int64, Int)] = [(-7200, 4), (-4100, 4), (-3600, 3), (-3599, 3), (0, 3), (60, 2), (3651, 1),
                                        (3660, 0)]
        for (since, expected) in rejected {
            #expect(try h.reads.rejectedCount(since: Harness.at(since)) == expected, "rejected since +\(since) s")
        }
        #expect(try h.countersAgree() == [])
    }

    @Test("failingCount: the counters and the rows give the same count for every filter",
          arguments: Backend.available)
    func failingCounts(backend: Backend) throws {
        let h = try backend.make()
        let (_, _, c, _) = try dashboardScenario(h)
        let groups = try h.reads.errorGroups(connector: nil, limit: 100)
        #expect(Set(groups.map(\.signature)) == ["HTTP 503", "boom", "bad"])
        let boom = try #require(groups.first { $0.signature == "boom" }).id
        let bad = try #require(groups.first { $0.signature == "bad" }).id

        // Without a time range (the counters), and with one that selects everything (the rows).
        let everything = Date(millis: 0)
        let cases: [(FailureFilter, Int)] = [
            (FailureFilter(), 3),
            (FailureFilter(states: [.retrying]), 1),
            (FailureFilter(states: [.dead]), 2),
            (FailureFilter(states: [.retrying, .dead]), 3),
            (FailureFilter(states: [.pending, .dead]), 2),
            (FailureFilter(states: [.delivered]), 0),
            (FailureFilter(connectorId: h.erp), 2),
            (FailureFilter(connectorId: h.mail), 1),
            (FailureFilter(connectorId: h.shop), 0),
            (FailureFilter(connectorId: h.erp, states: [.dead]), 1),
            (FailureFilter(errorGroupId: boom), 1),
            (FailureFilter(errorGroupId: boom, states: [.retrying]), 0),
            (FailureFilter(connectorId: h.mail, errorGroupId: boom), 0),
            (FailureFilter(connectorId: h.erp, errorGroupId: boom), 1),
            (FailureFilter(errorGroupId: bad, states: [.dead]), 1),
        ]
        for (filter, expected) in cases {
            #expect(try h.reads.failingCount(filter) == expected, "counters: \(filter)")
            var ranged = filter
            ranged.since = everything
            #expect(try h.reads.failingCount(ranged) == expected, "rows: \(filter)")
        }

        // Time-ranged: last failed at +120 s (erp's B and C) and +3800 s (mail's D).
        let ranged: [(FailureFilter, Int)] = [
            (FailureFilter(since: Harness.at(100)), 3),
            (FailureFilter(since: Harness.at(120)), 3),
            (FailureFilter(since: Harness.at(121)), 1),
            (FailureFilter(until: Harness.at(120)), 0),
            (FailureFilter(until: Harness.at(3000)), 2),
            (FailureFilter(since: Harness.at(100), until: Harness.at(3800)), 2),
            (FailureFilter(connectorId: h.erp, states: [.dead], since: Harness.at(100), until: Harness.at(3000)), 1),
            (FailureFilter(errorGroupId: bad, since: Harness.at(3000)), 1),
            (FailureFilter(errorGroupId: bad, until: Harness.at(3000)), 0),
            (FailureFilter(connectorId: h.erp, errorGroupId: bad, since: everything), 0),
            (FailureFilter(states: [.delivered], since: everything), 0),
        ]
        for (filter, expected) in ranged {
            #expect(try h.reads.failingCount(filter) == expected, "ranged: \(filter)")
        }

        // An error group that does not exist, by either path.
        #expect(throws: StoreError.unknownErrorGroup(999_999)) {
            try h.reads.failingCount(FailureFilter(errorGroupId: 999_999))
        }
        #expect(throws: StoreError.unknownErrorGroup(999_999)) {
            try h.reads.failingCount(FailureFilter(errorGroupId: 999_999, since: everything))
        }

        // An operator requeues C: its group stops failing, in the counters and in the rows.
        #expect(try h.store.retry([c], reason: "fixed", now: Harness.at(3850)).changed == [c])
        #expect(try h.reads.failingCount(FailureFilter()) == 2)
        #expect(try h.reads.failingCount(FailureFilter(since: everything)) == 2)
        #expect(try h.reads.failingCount(FailureFilter(errorGroupId: boom)) == 0)
        #expect(try h.reads.failingCount(FailureFilter(errorGroupId: boom, since: everything)) == 0)
        #expect(try h.reads.failingCount(FailureFilter(states: [.dead])) == 1)
        #expect(try h.countersAgree() == [])
    }

    @Test("throughputByConnector: the same buckets from the minute, quarter and hour rollups",
          arguments: Backend.available)
    func throughputPerConnector(backend: Backend) throws {
        let h = try backend.make()
        let (_, _, c, _) = try dashboardScenario(h)
        #expect(try h.store.retry([c], reason: "fixed", now: Harness.at(3850)).changed == [c])
        let now = Harness.at(3900)  // 13:05

        // Ten-minute bars over two hours (minute rows): 11:10 … 13:00; 12:00 is #5, 13:00 is #11.
        let tenMinutes = try h.reads.throughputByConnector(window: 7200, bucket: 600, now: now)
        let start10 = ms(-3000)
        #expect(tenMinutes == [
            h.shop: series(start: start10, bucketSeconds: 600, count: 12, [
                5: ThroughputBucket(start: 0, received: 3), 11: ThroughputBucket(start: 0, received: 1)]),
            h.erp: series(start: start10, bucketSeconds: 600, count: 12, [
                5: ThroughputBucket(start: 0, delivered: 1, failed: 2, retried: 1, dead: 1),
                11: ThroughputBucket(start: 0, retried: 1)]),
            h.mail: series(start: start10, bucketSeconds: 600, count: 12, [
                5: ThroughputBucket(start: 0, failed: 1, retried: 1),
                11: ThroughputBucket(start: 0, delivered: 1, failed: 1, dead: 1)]),
        ])

        // Hour bars over a day (hour rows): 14:00 the day before … 13:00; 12:00 is #22.
        let hours = try h.reads.throughputByConnector(window: 86400, bucket: 3600, now: now)
        let startHours = ms(-79200)
        #expect(hours == [
            h.shop: series(start: startHours, bucketSeconds: 3600, count: 24, [
                22: ThroughputBucket(start: 0, received: 3), 23: ThroughputBucket(start: 0, received: 1)]),
            h.erp: series(start: startHours, bucketSeconds: 3600, count: 24, [
                22: ThroughputBucket(start: 0, delivered: 1, failed: 2, retried: 1, dead: 1),
                23: ThroughputBucket(start: 0, retried: 1)]),
            h.mail: series(start: startHours, bucketSeconds: 3600, count: 24, [
                22: ThroughputBucket(start: 0, failed: 1, retried: 1),
                23: ThroughputBucket(start: 0, delivered: 1, failed: 1, dead: 1)]),
        ])

        // Quarter bars over an hour (quarter rows): 12:15 … 13:00.
        let quarters = try h.reads.throughputByConnector(window: 3600, bucket: 900, now: now)
        let startQuarters = ms(900)
        #expect(quarters == [
            h.shop: series(start: startQuarters, bucketSeconds: 900, count: 4, [3: ThroughputBucket(start: 0, received: 1)]),
            h.erp: series(start: startQuarters, bucketSeconds: 900, count: 4, [3: ThroughputBucket(start: 0, retried: 1)]),
            h.mail: series(start: startQuarters, bucketSeconds: 900, count: 4, [
                3: ThroughputBucket(start: 0, delivered: 1, failed: 1, dead: 1)]),
        ])
        // Minutes 12:51 … 13:00: shop's only row there counts a refusal; it still has its (zero) series.
        let refusalsOnly = try h.reads.throughputByConnector(window: 600, bucket: 60, now: Harness.at(3655))
        #expect(refusalsOnly == [h.shop: series(start: ms(3060), bucketSeconds: 60, count: 10, [:])])

        // A window with no rows, and a bucket under a minute (a minute).
        #expect(try h.reads.throughputByConnector(window: 600, bucket: 60, now: Harness.at(10 * hour)) == [:])
        let seconds = try h.reads.throughputByConnector(window: 120, bucket: 1, now: Harness.at(30))
        #expect(seconds == [
            h.shop: series(start: ms(-60), bucketSeconds: 60, count: 2, [1: ThroughputBucket(start: 0, received: 2)]),
        ])
        #expect(try h.countersAgree() == [])
    }

    @Test("trafficSnapshot after routed traffic: volumes, peak hours, routes, latency and batch runs",
          arguments: Backend.available)
    func trafficSnapshot(backend: Backend) throws {
        let h = try backend.make()
        // A second source and a sink whose name sorts first in byte order (before lower case).
        let crm = try h.store.saveConnector(ConnectorSpec(name: "crm", module: "webhook", pattern: .event, system: "CRM",
                                                          direction: .source), now: Harness.at(0)).id
        let zed = try h.store.saveConnector(ConnectorSpec(name: "Zed", module: "http", pattern: .hub, system: "Zed",
                                                          direction: .sink), now: Harness.at(0)).id

        // Ten days ago: one delivered event, outside a week's window.
        let old = try h.ingest("old", at: -10 * day)
        try h.settle(h.erp, at: -10 * day + 60, [old.deliveries[0]: (.delivered, nil)])
        // Batch runs: qb-ar (crm) eight and two days ago, a day ago, failed 12 hours ago; nightly six
        // days ago (no connector) and five (shop).
        func run(_ job: String, _ connector: ConnectorID?, _ input: String, at seconds: Int64, loaded: Int) throws {
            let cursor = try h.store.beginBatchRun(job: job, connector: connector, input: input, now: Harness.at(seconds))
            if loaded > 0 { try h.store.advanceBatchRun(cursor.runId, cursor: loaded, rowsLoaded: loaded) }
            try h.store.finishBatchRun(cursor.runId, source: nil, snapshot: false, currencies: nil, rowsRejected: 0,
                                       now: Harness.at(seconds + 30))
        }
        try run("qb-ar", crm, "f1", at: -8 * day, loaded: 4)
        try run("nightly", nil, "n1", at: -6 * day, loaded: 0)
        try run("nightly", h.shop, "n2", at: -5 * day, loaded: 0)
        // Three days ago: two events in one hour, delivered together (20 and 10 minutes after receipt).
        let e2 = try h.ingest("d3a", at: -3 * day)
        let e3 = try h.ingest("d3b", at: -3 * day + 600)
        try h.settle(h.erp, at: -3 * day + 1200, [e2.deliveries[0]: (.delivered, nil), e3.deliveries[0]: (.delivered, nil)])
        try run("qb-ar", crm, "f2", at: -2 * day, loaded: 5)
        try run("qb-ar", crm, "f3", at: -1 * day, loaded: 7)
        try h.store.recordFailedBatchRun(job: "qb-ar", connector: crm, rowsRead: 3, error: "bad file",
                                         now: Harness.at(-12 * hour))
        // Today: shop → erp, mail; crm → erp, Zed; one more shop → erp left pending.
        let e4 = try h.ingest("today1", at: 0, to: [h.erp, h.mail])
        let e5 = try h.store.ingest([NewEvent(topic: "contact_updated", sourceId: crm, idempotencyKey: "c1",
                                              payload: #"{"contact":1}"#, receivedAt: Harness.at(60),
                                              targets: [DeliveryTarget(connectorId: h.erp, maxAttempts: 3),
                                                        DeliveryTarget(connectorId: zed, maxAttempts: 3)])])[0]
        guard case .accepted(_, let e5Deliveries) = e5 else { throw ConformanceFailure("c1 was \(e5)") }
        try h.settle(h.erp, at: 120, [e4.deliveries[0]: (.delivered, nil),
                                      e5Deliveries[0]: (.retry(at: Harness.at(600)), "HTTP 500")])
        try h.settle(zed, at: 180, [e5Deliveries[1]: (.dead, "nope")])
        try h.settle(h.mail, at: 300, [e4.deliveries[1]: (.delivered, nil)])
        try h.ingest("today2", at: 1800)
        #expect(try h.countersAgree() == [])

        let dayStart = ms(-12 * hour)  // midnight UTC of t0's day
        let now = Harness.at(hour)
        let week = try h.reads.trafficSnapshot(now: now, days: 7, historyDays: 90)
        #expect(week.now == ms(hour) && week.windowDays == 7)
        #expect(week.historyDays == 11, "ten days and an hour of rollups: 11 days retained")
        #expect(week.connectors.map(\.name) == ["Zed", "crm", "erp", "mail", "shop"])
        typealias Traffic = TrafficSnapshot.ConnectorTraffic
        typealias Volume = TrafficSnapshot.DailyVolume
        let weekTraffic: [Traffic] = [
            // Two hours carry 2 (three days ago, today): the peak is the first of them.
            Traffic(connector: h.shop, daily: [Volume(dayStart: dayStart - 10 * day * 1000, received: 1),
                                               Volume(dayStart: dayStart - 3 * day * 1000, received: 2),
                                               Volume(dayStart: dayStart, received: 2)],
                    windowReceived: 4, windowDelivered: 0, windowFailed: 0, windowDead: 0,
                    peakHourStart: ms(-3 * day), peakHourEvents: 2, firstActivity: ms(-10 * day)),
            Traffic(connector: h.erp, daily: [Volume(dayStart: dayStart - 10 * day * 1000, delivered: 1),
                                              Volume(dayStart: dayStart - 3 * day * 1000, delivered: 2),
                                              Volume(dayStart: dayStart, delivered: 1, failed: 1)],
                    windowReceived: 0, windowDelivered: 3, windowFailed: 1, windowDead: 0,
                    peakHourStart: ms(-3 * day), peakHourEvents: 2, firstActivity: ms(-10 * day)),
            Traffic(connector: h.mail, daily: [Volume(dayStart: dayStart, delivered: 1)],
                    windowReceived: 0, windowDelivered: 1, windowFailed: 0, windowDead: 0,
                    peakHourStart: ms(0), peakHourEvents: 1, firstActivity: ms(0)),
            Traffic(connector: crm, daily: [Volume(dayStart: dayStart, received: 1)],
                    windowReceived: 1, windowDelivered: 0, windowFailed: 0, windowDead: 0,
                    peakHourStart: ms(0), peakHourEvents: 1, firstActivity: ms(0)),
            Traffic(connector: zed, daily: [Volume(dayStart: dayStart, failed: 1, dead: 1)],
                    windowReceived: 0, windowDelivered: 0, windowFailed: 1, windowDead: 1,
                    peakHourStart: ms(0), peakHourEvents: 1, firstActivity: ms(0)),
        ].sorted { $0.connector < $1.connector }
        #expect(week.traffic == weekTraffic)

        typealias Route = TrafficSnapshot.Route
        // Sinks in name order (byte order: "Zed" first), sources by id, topics by name.
        let erpRoutes = [Route(source: h.shop, sink: h.erp, topic: "order_created", deliveries: 4, delivered: 3,
                               failing: 0, sampled: false),
                         Route(source: crm, sink: h.erp, topic: "contact_updated", deliveries: 1, delivered: 0,
                               failing: 1, sampled: false)].sorted { $0.source < $1.source }
        #expect(week.routes == [Route(source: crm, sink: zed, topic: "contact_updated", deliveries: 1, delivered: 0,
                                      failing: 1, sampled: false)]
                + erpRoutes
                + [Route(source: h.shop, sink: h.mail, topic: "order_created", deliveries: 1, delivered: 1, failing: 0,
                         sampled: false)])
        // erp from shop: 2 min, 10 min, 20 min → p50 10 min, p95 20 min.
        #expect(week.latencies == [
            TrafficSnapshot.RouteLatency(source: h.shop, sink: h.erp, p50Ms: 600_000, p95Ms: 1_200_000, samples: 3),
            TrafficSnapshot.RouteLatency(source: h.shop, sink: h.mail, p50Ms: 300_000, p95Ms: 300_000, samples: 1),
        ])
        #expect(week.batchJobs == [
            TrafficSnapshot.BatchJobActivity(job: "nightly", connector: h.shop, runs: 2, failedRuns: 0, rowsLoaded: 0,
                                             firstStartedAt: ms(-6 * day), lastStartedAt: ms(-5 * day),
                                             medianIntervalMs: 86_400_000),
            TrafficSnapshot.BatchJobActivity(job: "qb-ar", connector: crm, runs: 3, failedRuns: 1, rowsLoaded: 12,
                                             firstStartedAt: ms(-2 * day), lastStartedAt: ms(-12 * hour),
                                             medianIntervalMs: 43_200_000),
        ])
        #expect(week.fanOut.map(\.topic) == ["contact_updated", "order_created"])
        #expect(week.fanOut.map(\.sinks) == [[h.erp, zed].sorted(), [h.erp, h.mail].sorted()])

        // A day's window over two days of history: only today's hour, today's events and the failed run.
        let today = try h.reads.trafficSnapshot(now: now, days: 1, historyDays: 2)
        #expect(today.windowDays == 1 && today.historyDays == 1)
        #expect(today.traffic.map(\.connector) == weekTraffic.map(\.connector))
        #expect(today.traffic.first { $0.connector == h.shop } == Traffic(
            connector: h.shop, daily: [Volume(dayStart: dayStart, received: 2)], windowReceived: 2, windowDelivered: 0,
            windowFailed: 0, windowDead: 0, peakHourStart: ms(0), peakHourEvents: 2, firstActivity: ms(0)))
        #expect(today.traffic.first { $0.connector == h.erp } == Traffic(
            connector: h.erp, daily: [Volume(dayStart: dayStart, delivered: 1, failed: 1)], windowReceived: 0,
            windowDelivered: 1, windowFailed: 1, windowDead: 0, peakHourStart: ms(0), peakHourEvents: 1,
            firstActivity: ms(0)))
        #expect(today.routes.map { "\($0.sink)/\($0.source)/\($0.topic) \($0.deliveries) \($0.delivered) \($0.failing)" }
                == ["\(zed)/\(crm)/contact_updated 1 0 1"]
                + [(h.shop, "order_created", "2 1 0"), (crm, "contact_updated", "1 0 1")]
                    .sorted { $0.0 < $1.0 }.map { "\(h.erp)/\($0.0)/\($0.1) \($0.2)" }
                + ["\(h.mail)/\(h.shop)/order_created 1 1 0"])
        #expect(today.latencies == [
            TrafficSnapshot.RouteLatency(source: h.shop, sink: h.erp, p50Ms: 120_000, p95Ms: 120_000, samples: 1),
            TrafficSnapshot.RouteLatency(source: h.shop, sink: h.mail, p50Ms: 300_000, p95Ms: 300_000, samples: 1),
        ])
        #expect(today.batchJobs == [
            TrafficSnapshot.BatchJobActivity(job: "qb-ar", connector: crm, runs: 1, failedRuns: 1, rowsLoaded: 0,
                                             firstStartedAt: ms(-12 * hour), lastStartedAt: ms(-12 * hour),
                                             medianIntervalMs: nil),
        ])

        // Out-of-range arguments: at least a day, and history at least the window.
        #expect(try h.reads.trafficSnapshot(now: now, days: 0, historyDays: 0) == today)

        // Nothing in the window: no routes, no latency, no runs; the rollups still show the history.
        let later = try h.reads.trafficSnapshot(now: Harness.at(30 * day), days: 7, historyDays: 90)
        #expect(later.routes == [] && later.latencies == [] && later.batchJobs == [])
        #expect(later.historyDays == 41)
        #expect(later.traffic.allSatisfy { $0.windowReceived + $0.windowDelivered + $0.windowFailed + $0.windowDead == 0
            && $0.peakHourStart == nil && $0.peakHourEvents == 0 })
        #expect(later.traffic.map(\.daily) == week.traffic.map(\.daily))
    }
}
