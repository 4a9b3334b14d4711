import Foundation
import PatchbayHub
import GRDB
@testable import PatchbayStore
import TestSupport
import Testing

/// A small deterministic generator (SplitMix64), so a "random" workload is the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Dashboard reads")
struct ReadsTests {
    private typealias T = DeliveryFixture

    // MARK: Throughput

    /// What the scenario below does, minute by minute from t0 (an hour boundary):
    /// m0 received 1; m1 delivered 1, failed 1, retried 1; m2 received 1; m5 delivered 1, failed 1,
    /// dead 1; m6 retried 1 (operator); m8 failed 1, retried 1 (expired lease).
    private func throughputScenario(_ f: DeliveryFixture) throws -> (erp1: DeliveryID, mail: DeliveryID, erp2: DeliveryID) {
        let first = try f.ingest("e1", at: 10, to: [f.erp, f.mail])
        let (erp1, mail) = (first.deliveries[0], first.deliveries[1])
        let claims = try f.claim(at: 70)
        #expect(claims.map(\.deliveryId) == [erp1, mail])
        try f.record(claims[0], .delivered, at: 71, status: 200)
        try f.record(claims[1], .retry(at: T.at(300)), at: 71, status: 503, error: "HTTP 503")
        let erp2 = try f.ingest("e2", at: 130).deliveries[0]
        let second = try f.claim(at: 300)
        #expect(second.map(\.deliveryId) == [erp2, mail])
        try f.record(second[1], .dead, at: 301, status: 400, error: "HTTP 400")
        try f.record(second[0], .delivered, at: 301, status: 200)
        #expect(try f.store.retry([mail], now: T.at(361)).changed == [mail])
        _ = try f.claimOne(mail, at: 420, lease: 30)
        #expect(try f.store.recoverExpiredLeases(now: T.at(480)) == [mail])
        return (erp1, mail, erp2)
    }

    @Test("minute throughput: aligned buckets, zeros filled, exactly what happened")
    func throughputPerMinute() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        _ = try throughputScenario(f)
        let series = try f.store.throughput(window: 600, bucket: 60, now: T.at(540))
        let m = { (minute: Int64) in T.t0Millis + minute * 60_000 }
        #expect(series == [
            ThroughputBucket(start: m(0), received: 1),
            ThroughputBucket(start: m(1), delivered: 1, failed: 1, retried: 1),
            ThroughputBucket(start: m(2), received: 1),
            ThroughputBucket(start: m(3)),
            ThroughputBucket(start: m(4)),
            ThroughputBucket(start: m(5), delivered: 1, failed: 1, dead: 1),
            ThroughputBucket(start: m(6), retried: 1),
            ThroughputBucket(start: m(7)),
            ThroughputBucket(start: m(8), failed: 1, retried: 1),
            ThroughputBucket(start: m(9)),
        ])
        // A window not a multiple of the bucket is rounded up to whole buckets, ending with the current one.
        let short = try f.store.throughput(window: 150, bucket: 60, now: T.at(330))
        #expect(short.map(\.start) == [m(3), m(4), m(5)])
        // A bucket that is not whole minutes is rounded down to one (and at least one minute).
        #expect(try f.store.throughput(window: 180, bucket: 90, now: T.at(540)).map(\.start) == [m(7), m(8), m(9)])
        #expect(try f.store.throughput(window: 60, bucket: 0, now: T.at(540)).map(\.start) == [m(9)])
    }

    @Test("throughput per connector: received under the source, outcomes under the target, summing to the total")
    func throughputPerConnector() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        _ = try throughputScenario(f)
        let total = try f.store.throughput(window: 600, bucket: 60, now: T.at(540))
        let shop = try f.store.throughput(window: 600, bucket: 60, connector: f.shop, now: T.at(540))
        let erp = try f.store.throughput(window: 600, bucket: 60, connector: f.erp, now: T.at(540))
        let mail = try f.store.throughput(window: 600, bucket: 60, connector: f.mail, now: T.at(540))
        #expect(shop.map(\.received) == [1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        #expect(shop.map { $0.delivered + $0.failed + $0.retried + $0.dead } == Array(repeating: 0, count: 10))
        #expect(erp.map(\.delivered) == [0, 1, 0, 0, 0, 1, 0, 0, 0, 0])
        #expect(erp.map { $0.received + $0.failed + $0.retried + $0.dead } == Array(repeating: 0, count: 10))
        #expect(mail.map(\.failed) == [0, 1, 0, 0, 0, 1, 0, 0, 1, 0])
        #expect(mail.map(\.retried) == [0, 1, 0, 0, 0, 0, 1, 0, 1, 0])
        #expect(mail.map(\.dead) == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
        for i in 0..<10 {
            let sum = ThroughputBucket(
                start: total[i].start,
                received: shop[i].received + erp[i].received + mail[i].received,
                delivered: shop[i].delivered + erp[i].delivered + mail[i].delivered,
                failed: shop[i].failed + erp[i].failed + mail[i].failed,
                retried: shop[i].retried + erp[i].retried + mail[i].retried,
                dead: shop[i].dead + erp[i].dead + mail[i].dead)
            #expect(sum == total[i])
        }
    }

    @Test("the hour table and the minute table give the same totals")
    func throughputHourMatchesMinute() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        _ = try throughputScenario(f)
        let hours = try f.store.throughput(window: 3 * 3600, bucket: 3600, now: T.at(540))
        #expect(hours.map(\.start) == [T.t0Millis - 7_200_000, T.t0Millis - 3_600_000, T.t0Millis])
        #expect(hours[0] == ThroughputBucket(start: T.t0Millis - 7_200_000))
        let hour = hours[2]
        #expect(hour == ThroughputBucket(start: T.t0Millis, received: 2, delivered: 2, failed: 3, retried: 3, dead: 1))

        let minutes = try f.store.throughput(window: 3600, bucket: 60, now: T.at(3599))
        #expect(minutes.count == 60)
        #expect(minutes.first?.start == T.t0Millis)
        func total(_ series: [ThroughputBucket]) -> [Int] {
            [series.map(\.received).reduce(0, +), series.map(\.delivered).reduce(0, +),
             series.map(\.failed).reduce(0, +), series.map(\.retried).reduce(0, +), series.map(\.dead).reduce(0, +)]
        }
        #expect(total(minutes) == total([hour]))
        let fiveMinutes = try f.store.throughput(window: 600, bucket: 300, now: T.at(540))
        #expect(fiveMinutes == [
            ThroughputBucket(start: T.t0Millis, received: 2, delivered: 1, failed: 1, retried: 1),
            ThroughputBucket(start: T.ms(300), delivered: 1, failed: 2, retried: 2, dead: 1),
        ])
        // Quarter-hour buckets read the quarter table; a half hour is two of its rows. They equal
        // the minutes summed fifteen or thirty at a time.
        for bucket in [900.0, 1800.0] {
            let quarters = try f.store.throughput(window: 3600, bucket: bucket, now: T.at(3599))
            let perMinute = Int(bucket) / 60
            #expect(quarters.count == 3600 / Int(bucket))
            #expect(quarters.map { [$0.received, $0.delivered, $0.failed, $0.retried, $0.dead] }
                    == stride(from: 0, to: 60, by: perMinute).map { total(Array(minutes[$0..<($0 + perMinute)])) })
        }
        #expect(total(try f.store.throughput(window: 3600, bucket: 900, now: T.at(3599))) == total([hour]))
        // Two-hour buckets read the hour table, aligned to multiples of two hours since 1970.
        let twoHours = try f.store.throughput(window: 4 * 3600, bucket: 7200, now: T.at(540))
        #expect(twoHours.allSatisfy { $0.start % 7_200_000 == 0 })
        #expect(total(twoHours) == total([hour]))

        // The counts are what the transitions say happened.
        let transitions = try f.store.read { db in
            try Transition.fetchAll(db, sql: "SELECT * FROM transitions")
        }
        #expect(transitions.filter { $0.toState == .delivered }.count == hour.delivered)
        #expect(transitions.filter { $0.fromState == .inFlight && [.retrying, .dead].contains($0.toState) }.count
                == hour.failed)
        #expect(transitions.filter { $0.toState == .retrying || ($0.toState == .pending && $0.fromState != .inFlight) }
                .count == hour.retried)
        #expect(transitions.filter { $0.toState == .dead }.count == hour.dead)
        #expect(try f.count("events") == hour.received)
    }

    // MARK: Failed list

    @Test("the failed list is newest first and keyset pages have no duplicates and no gaps")
    func failedListPaging() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        var ids: [DeliveryID] = []
        for i in 0..<13 { ids.append(try f.ingest("e\(i)", at: 0, to: [i % 3 == 0 ? f.mail : f.erp]).deliveries[0]) }
        let claims = try f.claim(at: 1, lease: 3600)
        #expect(claims.count == 13)
        // Several failures share a time, so the id must break ties.
        let times: [Int64] = [10, 10, 10, 20, 20, 30, 40, 40, 40, 40, 50, 60, 60]
        for (claim, time) in zip(claims, times) {
            let dead = claim.deliveryId % 2 == 0
            try f.record(claim, dead ? .dead : .retry(at: T.at(1000)), at: time, status: 503, error: "HTTP 503")
        }
        let delivered = try f.ingest("ok", at: 0).deliveries[0]
        try f.record(try f.claimOne(delivered, at: 70), .delivered, at: 71)

        let expected = try f.store.read { db in
            try Row.fetchAll(db, sql: "SELECT id, updated_at FROM deliveries WHERE state IN ('retrying', 'dead')")
        }.map { (id: $0[0] as DeliveryID, at: $0[1] as Int64) }
            .sorted { ($0.at, $0.id) > ($1.at, $1.id) }.map(\.id)
        #expect(expected.count == 13)

        let all = try f.store.failedDeliveries(limit: 100)
        #expect(all.map(\.id) == expected)
        for limit in [1, 3, 4, 13] {
            var seen: [DeliveryID] = []
            var cursor: FailureCursor?
            var pages = 0
            while true {
                let page = try f.store.failedDeliveries(limit: limit, before: cursor)
                if page.isEmpty { break }
                #expect(page.count <= limit)
                seen += page.map(\.id)
                cursor = FailureCursor(updatedAt: page.last!.updatedAt, id: page.last!.id)
                pages += 1
                if pages > 20 { break }
            }
            #expect(seen == expected, "limit \(limit)")
        }
        let first = try #require(all.first)
        #expect(first.topic == "orders/create")
        #expect(first.lastError == "HTTP 503" && first.lastStatus == 503)
        #expect(first.updatedAt == T.ms(60))
        #expect(first.connector == (first.connectorId == f.erp ? "erp" : "mail"))
        // The connector filter pages the same way.
        let mailOnly = try f.store.failedDeliveries(FailureFilter(connectorId: f.mail), limit: 2)
        #expect(mailOnly.allSatisfy { $0.connectorId == f.mail })
        let nextMail = try f.store.failedDeliveries(
            FailureFilter(connectorId: f.mail), limit: 10,
            before: FailureCursor(updatedAt: mailOnly[1].updatedAt, id: mailOnly[1].id))
        #expect((mailOnly + nextMail).map(\.id) == expected.filter { id in ids.firstIndex(of: id)! % 3 == 0 })
    }

    // MARK: Error groups

    @Test("errors that differ only in numbers are one group per connector, with counts and first/last seen")
    func errorGroups() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let texts = [
            (f.erp, 10, 429, "HTTP 429: Too Many Requests (retry in 27 s)"),
            (f.erp, 20, 503, "HTTP 503: Service Unavailable"),
            (f.erp, 30, 429, "HTTP 429: Too Many Requests (retry in 3 s)"),
            (f.mail, 40, 429, "HTTP 429: Too Many Requests (retry in 12 s)"),
            (f.erp, 50, 429, "HTTP 429: Too Many Requests (retry in 59 s)"),
        ]
        var ids: [DeliveryID] = []
        for (i, (connector, time, status, text)) in texts.enumerated() {
            let id = try f.ingest("e\(i)", at: 0, to: [connector]).deliveries[0]
            try f.fail(id, at: Int64(time), dead: i == 4, status: status, error: text, signature: ErrorSignature.of(text))
            ids.append(id)
        }
        let groups = try f.store.errorGroups()
        #expect(groups.count == 3)
        // Most recently seen first.
        #expect(groups.map(\.lastSeen) == [T.ms(50), T.ms(40), T.ms(20)])
        let erp429 = groups[0]
        #expect(erp429.connector == "erp")
        #expect(erp429.signature == "HTTP 429: Too Many Requests (retry in # s)")
        #expect(erp429.retrying == 2 && erp429.dead == 1 && erp429.count == 3 && erp429.occurrences == 3)
        #expect(erp429.firstSeen == T.ms(10))
        #expect(erp429.sampleError == "HTTP 429: Too Many Requests (retry in 59 s)")
        #expect(erp429.lastStatus == 429)
        #expect(groups[1].connector == "mail" && groups[1].count == 1)
        #expect(groups[1].signature == erp429.signature)
        #expect(groups[2].signature == "HTTP 503: Service Unavailable" && groups[2].count == 1)
        #expect(try f.store.errorGroups(connector: f.mail).map(\.id) == [groups[1].id])
        #expect(try f.store.errorGroups(limit: 1).map(\.id) == [erp429.id])

        // The group's failures are exactly those with its signature.
        let members = try f.store.failedDeliveries(FailureFilter(errorGroupId: erp429.id))
        #expect(Set(members.map(\.id)) == [ids[0], ids[2], ids[4]])
    }

    // MARK: Retry queue

    @Test("the retry queue lists retrying deliveries in the order they will be tried")
    func retryQueueOrder() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let a = try f.ingest("a", at: 0).deliveries[0]
        let b = try f.ingest("b", at: 0).deliveries[0]
        let c = try f.ingest("c", at: 0).deliveries[0]
        let d = try f.ingest("d", at: 0).deliveries[0]
        let e = try f.ingest("e", at: 0, to: [f.mail]).deliveries[0]
        try f.fail(a, at: 10, retryIn: 490)  // due +500
        try f.fail(b, at: 11, retryIn: 289)  // due +300
        try f.fail(c, at: 12, retryIn: 288)  // due +300
        try f.fail(d, at: 13, dead: true)
        try f.fail(e, at: 14, retryIn: 386)  // due +400
        let pendingLater = try f.ingest("p", at: 0).deliveries[0]  // pending, due +0: not a retry
        _ = pendingLater

        let queue = try f.store.retryQueue()
        #expect(queue.map(\.id) == [b, c, e, a])
        #expect(queue.map(\.nextAttemptAt) == [T.ms(300), T.ms(300), T.ms(400), T.ms(500)])
        #expect(queue.allSatisfy { $0.state == .retrying })
        #expect(try f.store.retryQueue(connector: f.erp).map(\.id) == [b, c, a])
        #expect(try f.store.retryQueue(connector: f.mail).map(\.id) == [e])
        #expect(try f.store.retryQueue(limit: 2).map(\.id) == [b, c])
        #expect(try f.store.retryQueue(after: (T.ms(300), b)).map(\.id) == [c, e, a])
        #expect(try f.store.retryQueue(connector: f.erp, after: (T.ms(300), c)).map(\.id) == [a])
    }

    // MARK: Events

    /// e1..e5, oldest first; see each for what filters should find it.
    private struct History {
        var e1: EventID, e2: EventID, e3: EventID, e4: EventID, e5: EventID
        var qb: ConnectorID
    }

    private func makeHistory(_ f: DeliveryFixture) throws -> History {
        let qb = try f.store.saveConnector(ConnectorSpec(
            name: "quickbooks", module: "quickbooks-csv", pattern: .batch, system: "QuickBooks", direction: .source)).id
        // e1: shop → erp, delivered; "100%" literally.
        let e1 = try f.ingest("e1", at: 0, to: [f.erp], topic: "orders/create", payload: #"{"sku":"MUG-100%"}"#,
                              correlation: "order-1")
        // e2: shop → mail, pending; "1000" would match an unescaped "100%".
        let e2 = try f.ingest("e2", at: 10, to: [f.mail], topic: "orders/paid", payload: #"{"sku":"MUG-1000"}"#,
                              correlation: "order-1")
        // e3: quickbooks → mail, pending; "a_b" and a backslash.
        let e3 = try f.ingest("e3", at: 20, to: [f.mail], topic: "invoices/sync",
                              payload: #"{"note":"a_b","path":"C:\\temp"}"#, source: qb)
        // e4: shop → erp (dead, with an error) and mail (pending); "axb" would match an unescaped "a_b".
        let e4 = try f.ingest("e4", at: 30, to: [f.erp, f.mail], topic: "orders/create", payload: #"{"note":"axb"}"#,
                              correlation: "order-4")
        // e5: shop, no targets.
        let e5 = try f.ingest("e5", at: 40, to: [], topic: "orders/create", payload: #"{"n":5}"#)
        try f.record(try f.claimOne(e1.deliveries[0], at: 50), .delivered, at: 51, status: 200)  // erp only
        let c4 = try #require(try f.claim(at: 60, connector: f.erp).first)
        #expect(c4.deliveryId == e4.deliveries[0])
        try f.record(c4, .dead, at: 61, status: 400, error: "HTTP 400: Account code 'X_1' is not valid")
        return History(e1: e1.event, e2: e2.event, e3: e3.event, e4: e4.event, e5: e5.event, qb: qb)
    }

    private func ids(_ f: DeliveryFixture, _ filter: EventFilter, limit: Int = 50) throws -> [EventID] {
        try f.store.events(filter, limit: limit).events.map(\.event.id)
    }

    @Test("events() filters by topic, connector (source or target), delivery state and correlation id")
    func eventFilters() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let h = try makeHistory(f)
        #expect(try ids(f, EventFilter()) == [h.e5, h.e4, h.e3, h.e2, h.e1])
        #expect(try ids(f, EventFilter(topic: "orders/create")) == [h.e5, h.e4, h.e1])
        #expect(try ids(f, EventFilter(topic: "orders")) == [])
        #expect(try ids(f, EventFilter(connectorId: f.erp)) == [h.e4, h.e1])
        #expect(try ids(f, EventFilter(connectorId: f.mail)) == [h.e4, h.e3, h.e2])
        #expect(try ids(f, EventFilter(connectorId: h.qb)) == [h.e3])
        #expect(try ids(f, EventFilter(connectorId: f.shop)) == [h.e5, h.e4, h.e2, h.e1])
        #expect(try ids(f, EventFilter(state: .dead)) == [h.e4])
        #expect(try ids(f, EventFilter(state: .pending)) == [h.e4, h.e3, h.e2])
        #expect(try ids(f, EventFilter(state: .delivered)) == [h.e1])
        #expect(try ids(f, EventFilter(state: .retrying)) == [])
        #expect(try ids(f, EventFilter(correlationId: "order-1")) == [h.e2, h.e1])
        #expect(try ids(f, EventFilter(topic: "orders/create", connectorId: f.erp, state: .dead)) == [h.e4])
        #expect(try ids(f, EventFilter(topic: "orders/create", correlationId: "order-1")) == [h.e1])

        let page = try f.store.events(EventFilter(topic: "orders/create"))
        let e4 = try #require(page.events.first { $0.event.id == h.e4 })
        #expect(e4.source == "shop")
        #expect(e4.deliveryStates == [.dead: 1, .pending: 1])
        #expect(page.events.first { $0.event.id == h.e5 }?.deliveryStates == [:])
        #expect(page.nextCursor == nil)
    }

    @Test("events() filters by time: since is inclusive, until exclusive")
    func eventTimeFilters() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let h = try makeHistory(f)
        #expect(try ids(f, EventFilter(since: T.at(20))) == [h.e5, h.e4, h.e3])
        #expect(try ids(f, EventFilter(since: T.at(21))) == [h.e5, h.e4])
        #expect(try ids(f, EventFilter(since: T.at(41))) == [])
        #expect(try ids(f, EventFilter(until: T.at(20))) == [h.e2, h.e1])
        #expect(try ids(f, EventFilter(since: T.at(10), until: T.at(30))) == [h.e3, h.e2])
        #expect(try ids(f, EventFilter(connectorId: f.mail, since: T.at(15))) == [h.e4, h.e3])
    }

    @Test("events(since:) finds every event received since, even when arrival times are not in id order")
    func eventSinceWithOutOfOrderArrivals() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        // One batch whose events carry their own receive times (the seeder does this; so can a clock step).
        let results = try f.store.ingest([f.newEvent("late", at: 100), f.newEvent("early", at: 50),
                                          f.newEvent("old", at: 0)])
        let late = results[0].eventId, early = results[1].eventId
        let since40 = try ids(f, EventFilter(since: T.at(40)))
        #expect(since40 == [early, late])
        #expect(try ids(f, EventFilter(since: T.at(60))) == [late])
    }

    @Test("events() text search looks in payloads and in deliveries' last errors; % and _ are literal")
    func eventTextSearch() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let h = try makeHistory(f)
        #expect(try ids(f, EventFilter(text: "MUG-")) == [h.e2, h.e1])
        #expect(try ids(f, EventFilter(text: "100%")) == [h.e1])
        #expect(try ids(f, EventFilter(text: "a_b")) == [h.e3])
        #expect(try ids(f, EventFilter(text: "%")) == [h.e1])
        #expect(try ids(f, EventFilter(text: "_")) == [h.e4, h.e3])  // e4's error names 'X_1'
        #expect(try ids(f, EventFilter(text: "a_")) == [h.e3])
        #expect(try ids(f, EventFilter(text: #":\\"#)) == [h.e3])  // the JSON text holds `C:\\temp`
        #expect(try ids(f, EventFilter(text: "\\")) == [h.e3])
        // In a delivery's last error, not in the payload.
        #expect(try ids(f, EventFilter(text: "Account code")) == [h.e4])
        #expect(try ids(f, EventFilter(text: "'X_1'")) == [h.e4])
        #expect(try ids(f, EventFilter(text: "'X%1'")) == [])
        // ASCII letters match in any case (SQLite LIKE).
        #expect(try ids(f, EventFilter(text: "account CODE")) == [h.e4])
        #expect(try ids(f, EventFilter(text: "nothing like this")) == [])
        // An empty search text is no filter.
        #expect(try ids(f, EventFilter(text: "")).count == 5)
        #expect(try ids(f, EventFilter(topic: "orders/create", text: "note")) == [h.e4])
    }

    @Test("events() pages newest first by id: no duplicates, no gaps, no cursor on the last page")
    func eventPaging() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        var all: [EventID] = []
        for i in 0..<11 { all.append(try f.ingest("e\(i)", at: Int64(i), to: [i % 2 == 0 ? f.erp : f.mail]).event) }
        for (filter, expected) in [(EventFilter(), Array(all.reversed())),
                                   (EventFilter(connectorId: f.mail), all.enumerated().filter { $0.offset % 2 == 1 }
                                    .map(\.element).reversed())] {
            for limit in [1, 2, 3, 5, 11, 12] {
                var seen: [EventID] = []
                var before: EventID?
                var pages = 0
                repeat {
                    let page = try f.store.events(filter, limit: limit, before: before)
                    #expect(page.events.count <= limit)
                    seen += page.events.map(\.event.id)
                    if let next = page.nextCursor { #expect(next == page.events.last?.event.id) }
                    before = page.nextCursor
                    pages += 1
                } while before != nil && pages < 20
                #expect(seen == expected, "limit \(limit)")
                #expect(pages == max(1, (expected.count + limit - 1) / limit), "limit \(limit)")
            }
        }
    }

    // MARK: Event detail

    @Test("eventDetail shows every delivery with its attempts and transitions, in order")
    func eventDetail() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let (eventId, deliveries) = try f.ingest("order-9", at: 0, to: [f.erp, f.mail], correlation: "order-9")
        let (erp, mail) = (deliveries[0], deliveries[1])
        var claims = try f.claim(at: 10, lease: 30)
        try f.record(claims[0], .retry(at: T.at(100)), at: 11, status: 502, error: "HTTP 502")
        // mail's lease runs out.
        try f.store.recoverExpiredLeases(now: T.at(50))
        claims = try f.claim(at: 100, lease: 30, connector: f.erp)
        try f.record(claims[0], .delivered, at: 101, status: 201)
        _ = try f.store.discard([mail], now: T.at(110))

        let detail = try #require(try f.store.eventDetail(eventId))
        #expect(detail.event.id == eventId)
        #expect(detail.event.correlationId == "order-9")
        #expect(detail.source == "shop")
        #expect(detail.deliveries.map(\.delivery.id) == [erp, mail])
        #expect(detail.deliveries.map(\.connector) == ["erp", "mail"])
        let erpHistory = detail.deliveries[0]
        #expect(erpHistory.delivery.state == .delivered)
        #expect(erpHistory.attempts.map(\.number) == [1, 2])
        #expect(erpHistory.attempts.map(\.outcome) == [.failure, .success])
        #expect(erpHistory.attempts.map(\.statusCode) == [502, 201])
        #expect(erpHistory.transitions.map(\.toState) == [.inFlight, .retrying, .inFlight, .delivered])
        let mailHistory = detail.deliveries[1]
        #expect(mailHistory.delivery.state == .discarded)
        #expect(mailHistory.attempts.map(\.outcome) == [.leaseExpired])
        #expect(mailHistory.transitions.map(\.toState) == [.inFlight, .retrying, .discarded])
        #expect(mailHistory.transitions.map(\.actor) == [.worker, .system, .operator_])

        #expect(try f.store.eventDetail(eventId + 1_000) == nil)
        #expect(try f.store.eventId(ofDelivery: mail) == eventId)
        #expect(try f.store.eventId(ofDelivery: 9_999) == nil)
    }

    // MARK: Counters against brute force

    /// Runs a deterministic mix of everything a delivery can go through.
    /// - Returns: how many events were stored.
    private func mixedWorkload(_ f: DeliveryFixture, seed: UInt64, prune: Bool) throws -> Int {
        var rng = SeededGenerator(seed: seed)
        let signatures = ["HTTP 503: Service Unavailable", "HTTP 429: Too Many Requests (retry in # s)", "timed out"]
        var clock: Int64 = 0
        var events = 0
        for round in 0..<40 {
            clock += 30
            for i in 0..<Int.random(in: 0...3, using: &rng) {
                let targets = [f.erp, f.mail].filter { _ in Bool.random(using: &rng) }
                try f.ingest("r\(round)-\(i)", at: clock, to: targets, maxAttempts: Int.random(in: 1...3, using: &rng))
                events += 1
            }
            if round % 7 == 3 { try f.store.setPaused("mail", paused: true) }
            if round % 7 == 5 { try f.store.setPaused("mail", paused: false) }
            let claims = try f.claim(at: clock, limit: Int.random(in: 1...6, using: &rng), lease: 45)
            var outcomes: [DeliveryOutcome] = []
            for claim in claims {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<4:
                    outcomes.append(f.outcome(claim, .delivered, at: clock + 1, status: 200))
                case 4..<7:
                    let signature = signatures.randomElement(using: &rng)!
                    outcomes.append(f.outcome(claim, .retry(at: T.at(clock + Int64.random(in: 0...90, using: &rng))),
                                              at: clock + 1, status: 503, error: signature, signature: signature))
                case 7:
                    outcomes.append(f.outcome(claim, .dead, at: clock + 1, status: 400, error: "HTTP 400",
                                              signature: "HTTP 400"))
                default:
                    break  // the worker vanishes: its lease will expire
                }
            }
            _ = try f.store.record(outcomes, now: T.at(clock + 1))
            try f.store.recoverExpiredLeases(now: T.at(clock + 2))
            if round % 5 == 4 {
                let failing = try f.store.failedDeliveries(limit: 100).map(\.id)
                let picked = failing.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
                if Bool.random(using: &rng) {
                    _ = try f.store.retry(picked, now: T.at(clock + 3))
                } else {
                    _ = try f.store.discard(picked, now: T.at(clock + 3))
                }
            }
            if prune && round == 30 { try f.store.prune(receivedBefore: T.at(300), batchSize: 3) }
        }
        return events
    }

    @Test("connector statuses, error groups and throughput equal a brute-force count after a mixed workload",
          arguments: [(1, false), (2, false), (3, true), (4, true)] as [(UInt64, Bool)])
    func countersMatchBruteForce(seed: UInt64, prune: Bool) throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let events = try mixedWorkload(f, seed: seed, prune: prune)

        let brute = try f.store.read { db in
            try Row.fetchAll(db, sql: "SELECT connector_id, state, count(*) FROM deliveries GROUP BY 1, 2")
        }
        var expected: [ConnectorID: [DeliveryState: Int]] = [:]
        for row in brute { expected[row[0], default: [:]][DeliveryState(rawValue: row[1])!] = row[2] }
        let statuses = try f.store.connectorStatuses()
        #expect(statuses.map(\.connector.name) == ["erp", "mail", "shop"])
        for status in statuses {
            #expect(status.counts == (expected[status.connector.id] ?? [:]), "\(status.connector.name)")
        }
        #expect(try f.count("deliveries") > 20)

        // Error groups: what is failing now, per (connector, signature).
        let failing = try f.store.read { db in
            try Row.fetchAll(db, sql: """
                SELECT connector_id, error_signature, sum(state = 'retrying'), sum(state = 'dead')
                FROM deliveries WHERE state IN ('retrying', 'dead') GROUP BY 1, 2
                """)
        }
        var expectedGroups: [String: [Int]] = [:]
        for row in failing { expectedGroups["\(row[0] as Int64) \(row[1] as String)"] = [row[2], row[3]] }
        var actualGroups: [String: [Int]] = [:]
        for group in try f.store.errorGroups(limit: 1000) {
            actualGroups["\(group.connectorId) \(group.signature)"] = [group.retrying, group.dead]
        }
        #expect(actualGroups == expectedGroups)
        #expect(try f.store.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM error_groups WHERE retrying < 0 OR dead < 0")
        } == 0)

        // Throughput: the minute and hour rollups agree; without a prune, they equal what the log says.
        let hour = try f.store.throughput(window: 6 * 3600, bucket: 3600, now: T.at(2000))
        let minute = try f.store.throughput(window: 6 * 3600, bucket: 60, now: T.at(2000))
        func totals(_ s: [ThroughputBucket]) -> [Int] {
            [s.map(\.received).reduce(0, +), s.map(\.delivered).reduce(0, +), s.map(\.failed).reduce(0, +),
             s.map(\.retried).reduce(0, +), s.map(\.dead).reduce(0, +)]
        }
        #expect(totals(hour) == totals(minute))
        #expect(totals(hour)[0] == events)
        if !prune {
            let transitions = try f.store.read { db in try Transition.fetchAll(db, sql: "SELECT * FROM transitions") }
            #expect(try f.count("events") == events)
            let delivered = transitions.filter { $0.toState == .delivered }.count
            let failed = transitions.filter { $0.fromState == .inFlight && ($0.toState == .retrying || $0.toState == .dead) }.count
            let retried = transitions.filter { t in
                t.toState == .retrying || (t.toState == .pending && t.fromState != .inFlight)
            }.count
            let dead = transitions.filter { $0.toState == .dead }.count
            #expect(totals(hour) == [events, delivered, failed, retried, dead])
            // Every attempt that failed is one `failed`.
            let failedAttempts = try f.count("attempts WHERE outcome <> 'success'")
            #expect(totals(hour)[2] == failedAttempts)
        }
    }

    // MARK: Prune

    @Test("prune removes old finished events with their history, keeps unfinished ones and the rollups")
    func prune() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let delivered = try f.ingest("delivered", at: 0)
        let mixed = try f.ingest("mixed", at: 0, to: [f.erp, f.mail])
        let discarded = try f.ingest("discarded", at: 0)
        let pending = try f.ingest("pending", at: 0, to: [f.mail])
        let inFlight = try f.ingest("in-flight", at: 0)
        let retrying = try f.ingest("retrying", at: 0)
        let noTargets = try f.ingest("no-targets", at: 0, to: [])
        let recent = try f.ingest("recent", at: 500)
        _ = try f.store.discard(discarded.deliveries, now: T.at(1))
        let claims = try f.claim(at: 10, lease: 10_000, connector: f.erp)
        #expect(claims.map(\.deliveryId) ==
                [delivered, mixed, inFlight, retrying].map { $0.deliveries[0] })
        try f.record(claims[0], .retry(at: T.at(20)), at: 11, error: "once")
        try f.record(claims[1], .delivered, at: 11)
        try f.record(claims[3], .retry(at: T.at(9_000)), at: 11, error: "later")
        try f.fail(mixed.deliveries[1], at: 12, dead: true)
        try f.record(try f.claimOne(delivered.deliveries[0], at: 20), .delivered, at: 21)
        try f.record(try f.claimOne(recent.deliveries[0], at: 501), .delivered, at: 502)
        #expect(try f.delivery(pending.deliveries[0]).state == .pending)

        let rollups = try [f.dump("throughput_minute"), f.dump("throughput_hour")]
        let groups = try f.store.errorGroups()
        #expect(try f.store.prune(receivedBefore: T.at(100), batchSize: 2) == 3)

        let left = try Set(f.store.events(limit: 100).events.map(\.event.id))
        #expect(left == [mixed.event, pending.event, inFlight.event, retrying.event, recent.event])
        for gone in [delivered, discarded, noTargets] {
            #expect(try f.store.eventDetail(gone.event) == nil)
            for id in gone.deliveries {
                #expect(try f.store.eventId(ofDelivery: id) == nil)
                #expect(try f.attempts(id).isEmpty)
                #expect(try f.transitions(id).isEmpty)
            }
        }
        #expect(try f.attempts(mixed.deliveries[0]).count == 1)
        #expect(try f.transitions(mixed.deliveries[1]).count == 2)
        #expect(try [f.dump("throughput_minute"), f.dump("throughput_hour")] == rollups)
        #expect(try f.store.errorGroups() == groups)
        // Nothing orphaned.
        #expect(try f.store.read { db in
            try Int.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM attempts WHERE delivery_id NOT IN (SELECT id FROM deliveries))
                     + (SELECT count(*) FROM transitions WHERE delivery_id NOT IN (SELECT id FROM deliveries))
                     + (SELECT count(*) FROM deliveries WHERE event_id NOT IN (SELECT id FROM events))
                """)
        } == 0)
        // Counts follow the deletions.
        let erp = try #require(try f.store.connectorStatuses().first { $0.connector.id == f.erp })
        #expect(erp.counts == [.delivered: 2, .inFlight: 1, .retrying: 1])
        #expect(try f.store.prune(receivedBefore: T.at(100)) == 0)
        #expect(try f.store.prune(receivedBefore: T.at(1_000)) == 1)  // recent, now old enough
    }
}
