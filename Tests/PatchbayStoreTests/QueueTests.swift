import Foundation
import GRDB
@testable import PatchbayStore
import TestSupport
import Testing

/// A fresh store with one source (`shop`) and two sinks (`erp`, `mail`), and ways to read rows back.
///
/// Shared by the queue, operator, read and query-plan tests. Every time is an explicit offset in
/// whole seconds from `t0`, so no test depends on the clock or on rounding of fractional milliseconds.
struct DeliveryFixture {
    let store: Store
    let directory: TemporaryDirectory
    let shop: ConnectorID
    let erp: ConnectorID
    let mail: ConnectorID

    /// 2026-11-18 12:00:00 UTC, on an hour boundary.
    static let t0Millis: Int64 = 1_795_003_200_000
    static let t0 = Date(millis: t0Millis)

    /// `t0` plus `seconds`.
    static func at(_ seconds: Int64) -> Date { Date(millis: t0Millis + seconds * 1000) }
    static func ms(_ seconds: Int64) -> Int64 { t0Millis + seconds * 1000 }

    init() throws {
        (store, directory) = try makeTestStore()
        shop = try store.saveConnector(ConnectorSpec(
            name: "shop", module: "shopify-webhook", pattern: .event, system: "Shopify", direction: .source),
            now: Self.t0).id
        erp = try store.saveConnector(ConnectorSpec(
            name: "erp", module: "xero-invoices", pattern: .pointToPoint, system: "Xero", direction: .sink),
            now: Self.t0).id
        mail = try store.saveConnector(ConnectorSpec(
            name: "mail", module: "smtp", pattern: .hub, system: "SMTP", direction: .sink),
            now: Self.t0).id
    }

    func newEvent(_ key: String, at seconds: Int64 = 0, to targets: [ConnectorID]? = nil, maxAttempts: Int = 5,
                  topic: String = "orders/create", payload: String? = nil, correlation: String? = nil,
                  source: ConnectorID? = nil) -> NewEvent {
        NewEvent(topic: topic, sourceId: source ?? shop, idempotencyKey: key,
                 payload: payload ?? #"{"order":"\#(key)"}"#, receivedAt: Self.at(seconds),
                 correlationId: correlation,
                 targets: (targets ?? [erp]).map { DeliveryTarget(connectorId: $0, maxAttempts: maxAttempts) })
    }

    /// Ingests one event and returns its id and its deliveries' ids, in target order.
    @discardableResult
    func ingest(_ key: String, at seconds: Int64 = 0, to targets: [ConnectorID]? = nil, maxAttempts: Int = 5,
                topic: String = "orders/create", payload: String? = nil, correlation: String? = nil,
                source: ConnectorID? = nil) throws -> (event: EventID, deliveries: [DeliveryID]) {
        let result = try store.ingest(newEvent(key, at: seconds, to: targets, maxAttempts: maxAttempts, topic: topic,
                                               payload: payload, correlation: correlation, source: source))
        guard case .accepted(let event, let deliveries) = result else {
            throw StoreError.invalidInput("expected '\(key)' to be accepted, got \(result)")
        }
        return (event, deliveries)
    }

    func claim(at seconds: Int64, limit: Int = 100, lease: TimeInterval = 60, owner: String = "w1",
               connector: ConnectorID? = nil) throws -> [Claim] {
        try store.claimDueDeliveries(connector: connector, limit: limit, lease: lease, owner: owner,
                                     now: Self.at(seconds))
    }

    /// Claims the delivery `id`, which must be the oldest due one of its connector (only it is claimed).
    func claimOne(_ id: DeliveryID, at seconds: Int64, lease: TimeInterval = 60, owner: String = "w1") throws -> Claim {
        let connector = try delivery(id).connectorId
        let claims = try claim(at: seconds, limit: 1, lease: lease, owner: owner, connector: connector)
        guard let claim = claims.first, claim.deliveryId == id else {
            throw StoreError.invalidInput("delivery \(id) was not claimed at +\(seconds) s; got \(claims.map(\.deliveryId))")
        }
        return claim
    }

    func outcome(_ claim: Claim, _ result: DeliveryOutcome.Result, at seconds: Int64, status: Int? = nil,
                 error: String? = nil, signature: String? = nil, pause: String? = nil) -> DeliveryOutcome {
        DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: result,
                        startedAt: Self.at(seconds - 1), durationMs: 250, statusCode: status, error: error,
                        errorSignature: signature, responseExcerpt: status.map { "status \($0)" },
                        pauseConnectorReason: pause)
    }

    @discardableResult
    func record(_ claim: Claim, _ result: DeliveryOutcome.Result, at seconds: Int64, status: Int? = nil,
                error: String? = nil, signature: String? = nil, pause: String? = nil) throws -> OutcomeRecord {
        try store.record(outcome(claim, result, at: seconds, status: status, error: error, signature: signature,
                                 pause: pause), now: Self.at(seconds))
    }

    /// Takes a fresh delivery through one failed attempt: `retrying` (due `retryIn` later) or, with
    /// `dead`, dead-lettered.
    func fail(_ id: DeliveryID, at seconds: Int64, dead: Bool = false, retryIn: Int64 = 300, status: Int = 503,
              error: String = "HTTP 503: Service Unavailable", signature: String? = nil) throws {
        let claim = try claimOne(id, at: seconds)
        let result: DeliveryOutcome.Result = dead ? .dead : .retry(at: Self.at(seconds + retryIn))
        let recorded = try record(claim, result, at: seconds, status: status, error: error,
                                  signature: signature ?? error)
        guard recorded == .recorded(dead ? .dead : .retrying) else {
            throw StoreError.invalidInput("failing \(id) recorded \(recorded)")
        }
    }

    func delivery(_ id: DeliveryID) throws -> Delivery {
        try store.read { db in
            try Delivery.fetchOne(db, sql: "SELECT * FROM deliveries WHERE id = ?", arguments: [id])
        } ?? { throw StoreError.invalidInput("no delivery \(id)") }()
    }

    func attempts(_ id: DeliveryID) throws -> [Attempt] {
        try store.read { db in
            try Attempt.fetchAll(db, sql: "SELECT * FROM attempts WHERE delivery_id = ? ORDER BY id", arguments: [id])
        }
    }

    func transitions(_ id: DeliveryID) throws -> [Transition] {
        try store.read { db in
            try Transition.fetchAll(db, sql: "SELECT * FROM transitions WHERE delivery_id = ? ORDER BY id",
                                    arguments: [id])
        }
    }

    func connector(_ id: ConnectorID) throws -> Connector {
        try store.read { db in
            try Connector.fetchOne(db, sql: "SELECT * FROM connectors WHERE id = ?", arguments: [id])
        } ?? { throw StoreError.invalidInput("no connector \(id)") }()
    }

    /// `SELECT count(*) FROM table`.
    func count(_ table: String) throws -> Int {
        try store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? -1 }
    }

    /// Every row of a table as text, to prove a refused write changed nothing.
    func dump(_ table: String) throws -> [String] {
        try store.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2").map { $0.description }
        }
    }

    /// The tables a write can touch, as text.
    func snapshot() throws -> [String: [String]] {
        var tables: [String: [String]] = [:]
        for table in ["connectors", "events", "deliveries", "attempts", "transitions", "delivery_counts",
                      "error_groups", "throughput_minute", "throughput_hour"] {
            tables[table] = try dump(table)
        }
        return tables
    }
}

@Suite("Delivery queue: ingest, claim, outcomes, leases")
struct QueueTests {
    // MARK: Ingest

    @Test("an event fans out to one pending delivery per target, due when received")
    func ingestFansOut() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let event = NewEvent(
            topic: "orders/create", sourceId: f.shop, idempotencyKey: "order-1042", payload: #"{"id":1042}"#,
            receivedAt: DeliveryFixture.at(5), occurredAt: DeliveryFixture.at(3), correlationId: "order-1042",
            targets: [DeliveryTarget(connectorId: f.erp, maxAttempts: 20),
                      DeliveryTarget(connectorId: f.mail, maxAttempts: 0)])
        let result = try f.store.ingest(event)
        guard case .accepted(let eventId, let deliveries) = result else {
            Issue.record("expected accepted, got \(result)")
            return
        }
        #expect(deliveries.count == 2)
        #expect(result.eventId == eventId)

        let stored = try #require(try f.store.eventDetail(eventId))
        #expect(stored.event.topic == "orders/create")
        #expect(stored.event.sourceId == f.shop)
        #expect(stored.event.receivedAt == DeliveryFixture.ms(5))
        #expect(stored.event.occurredAt == DeliveryFixture.ms(3))
        #expect(stored.event.correlationId == "order-1042")
        #expect(stored.event.payload == #"{"id":1042}"#)
        #expect(stored.event.payloadHash == Store.payloadHash(#"{"id":1042}"#))
        #expect(stored.source == "shop")

        let erp = try f.delivery(deliveries[0])
        let mail = try f.delivery(deliveries[1])
        #expect(erp.connectorId == f.erp && mail.connectorId == f.mail)
        for delivery in [erp, mail] {
            #expect(delivery.eventId == eventId)
            #expect(delivery.state == .pending)
            #expect(delivery.attempts == 0)
            #expect(delivery.nextAttemptAt == DeliveryFixture.ms(5))
            #expect(delivery.createdAt == DeliveryFixture.ms(5) && delivery.updatedAt == DeliveryFixture.ms(5))
            #expect(delivery.leaseToken == nil && delivery.lastError == nil)
        }
        #expect(erp.maxAttempts == 20)
        #expect(mail.maxAttempts == 1)  // DeliveryTarget clamps to at least one attempt

        let statuses = try f.store.connectorStatuses()
        #expect(statuses.first { $0.connector.id == f.erp }?.counts == [.pending: 1])
        #expect(statuses.first { $0.connector.id == f.mail }?.counts == [.pending: 1])
        #expect(statuses.first { $0.connector.id == f.shop }?.counts == [:])
        // Creating a delivery is not a state change: no transition yet.
        #expect(try f.count("transitions") == 0)
        let series = try f.store.throughput(window: 60, bucket: 60, connector: f.shop, now: DeliveryFixture.at(5))
        #expect(series == [ThroughputBucket(start: DeliveryFixture.t0Millis, received: 1)])
    }

    @Test("the payload hash is the hex SHA-256 of the payload's UTF-8 bytes")
    func payloadHashIsSHA256() {
        #expect(Store.payloadHash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Store.payloadHash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("a second event with the same (source, key) is a duplicate with the same id and writes nothing")
    func duplicateWritesNothing() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let first = try f.ingest("order-1", at: 0, to: [f.erp, f.mail])
        let before = try f.snapshot()

        // Same key, another payload, other targets, later: still the same event.
        let again = try f.store.ingest(f.newEvent("order-1", at: 90, to: [f.mail], payload: #"{"changed":true}"#))
        #expect(again == .duplicate(first.event))
        #expect(again.eventId == first.event)
        #expect(try f.snapshot() == before)

        // In a batch, alongside a new event: the new one is stored, the repeat is reported.
        let batch = try f.store.ingest([f.newEvent("order-2", at: 100), f.newEvent("order-1", at: 100),
                                        f.newEvent("order-2", at: 100)])
        #expect(batch.count == 3)
        guard case .accepted(let second, let deliveries) = batch[0] else {
            Issue.record("order-2 should be accepted, got \(batch[0])")
            return
        }
        #expect(deliveries.count == 1)
        #expect(batch[1] == .duplicate(first.event))
        #expect(batch[2] == .duplicate(second))
        #expect(try f.count("events") == 2)
        #expect(try f.count("deliveries") == 3)

        // The same key from another source is another event.
        let other = try f.store.saveConnector(ConnectorSpec(
            name: "shop-eu", module: "shopify-webhook", pattern: .event, system: "Shopify", direction: .source)).id
        let fromOther = try f.ingest("order-1", at: 120, source: other)
        #expect(fromOther.event != first.event)
        #expect(try f.count("events") == 3)
    }

    @Test("a batch with one invalid event stores nothing and names the event")
    func batchIsAllOrNothing() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        try f.ingest("existing", at: 0)
        let before = try f.snapshot()
        let good = f.newEvent("good-1", at: 10, to: [f.erp, f.mail])
        let good2 = f.newEvent("good-2", at: 10)

        let cases: [(NewEvent, StoreError)] = [
            (f.newEvent("bad-json", at: 10, payload: "{not json"),
             .invalidInput("event 'bad-json': payload is not valid JSON")),
            (f.newEvent("empty-payload", at: 10, payload: ""),
             .invalidInput("event 'empty-payload': payload is not valid JSON")),
            (f.newEvent("no-target", at: 10, to: [f.erp, 999]),
             .invalidInput("event 'no-target': unknown target connector id 999")),
            (f.newEvent("no-source", at: 10, source: 998),
             .invalidInput("event 'no-source': unknown source connector id 998")),
            (f.newEvent("twice", at: 10, to: [f.erp, f.erp]),
             .invalidInput("event 3 (key 'twice'): a target connector is listed twice")),
            (f.newEvent("", at: 10), .invalidInput("event 3 (key ''): idempotency key must be 1 to 500 bytes")),
            (f.newEvent("no-topic", at: 10, topic: ""),
             .invalidInput("event 3 (key 'no-topic'): topic must be 1 to 200 bytes")),
        ]
        for (bad, error) in cases {
            #expect(throws: error, "\(bad.idempotencyKey)") {
                try f.store.ingest([good, good2, bad])
            }
            #expect(try f.snapshot() == before, "after \(bad.idempotencyKey)")
        }
        // Inside a multi-row statement the bad payload fails the statement; the store then names it.
        let third = f.newEvent("good-3", at: 10)
        #expect(throws: StoreError.invalidInput("event 'bad-json-2': payload is not valid JSON")) {
            try f.store.ingest([good, f.newEvent("bad-json-2", at: 10, payload: "[1,"), good2, third])
        }
        #expect(try f.snapshot() == before, "after a bad payload inside a statement of several rows")
        // The batch goes through once the bad event is left out.
        let results = try f.store.ingest([good, good2])
        #expect(results.count == 2)
        #expect(try f.count("events") == 3)
        #expect(try f.count("deliveries") == 4)
    }

    // MARK: Claim

    @Test("claims take the oldest due deliveries first, across connectors, and never one not yet due")
    func claimOldestDueFirst() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let late = try f.ingest("late", at: 20).deliveries[0]
        let early = try f.ingest("early", at: 0).deliveries[0]
        let middle = try f.ingest("middle", at: 10, to: [f.mail]).deliveries[0]
        let future = try f.ingest("future", at: 100).deliveries[0]

        let claims = try f.claim(at: 30)
        #expect(claims.map(\.deliveryId) == [early, middle, late])
        #expect(try f.delivery(future).state == .pending)
        #expect(try f.claim(at: 99).isEmpty)
        #expect(try f.claim(at: 100).map(\.deliveryId) == [future])
    }

    @Test("a retrying delivery is claimed only once its next attempt is due")
    func retryingIsClaimedWhenDue() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0).deliveries[0]
        try f.fail(id, at: 10, retryIn: 300)
        #expect(try f.claim(at: 309).isEmpty)
        let claim = try #require(try f.claim(at: 310).first)
        #expect(claim.deliveryId == id)
        #expect(claim.attempt == 2)
    }

    @Test("a paused connector's deliveries are not claimed until it is resumed")
    func pausedConnectorIsSkipped() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let (_, deliveries) = try f.ingest("a", at: 0, to: [f.erp, f.mail])
        #expect(try f.store.setPaused("mail", paused: true, reason: "maintenance"))
        #expect(try f.store.setPaused("mail", paused: true) == false)
        #expect(try f.connector(f.mail).pausedReason == "maintenance")

        #expect(try f.claim(at: 10).map(\.deliveryId) == [deliveries[0]])
        #expect(try f.claim(at: 10, connector: f.mail).isEmpty)
        #expect(try f.delivery(deliveries[1]).state == .pending)

        #expect(try f.store.setPaused("mail", paused: false))
        #expect(try f.connector(f.mail).pausedReason == nil)
        #expect(try f.claim(at: 11, connector: f.mail).map(\.deliveryId) == [deliveries[1]])
        #expect(throws: StoreError.unknownConnector("nope")) { try f.store.setPaused("nope", paused: true) }
    }

    @Test("a claim takes at most `limit` deliveries, for one connector when asked")
    func claimLimit() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        var ids: [DeliveryID] = []
        for i in 0..<5 { ids.append(try f.ingest("e\(i)", at: Int64(i)).deliveries[0]) }
        let mailId = try f.ingest("m", at: 0, to: [f.mail]).deliveries[0]

        #expect(try f.claim(at: 10, limit: 0).isEmpty)
        #expect(try f.claim(at: 10, limit: 2, connector: f.erp).map(\.deliveryId) == [ids[0], ids[1]])
        #expect(try f.delivery(ids[2]).state == .pending)
        #expect(try f.delivery(mailId).state == .pending)
        #expect(try f.claim(at: 10, limit: 2).map(\.deliveryId) == [mailId, ids[2]])
        #expect(try f.claim(at: 10, limit: 10).map(\.deliveryId) == [ids[3], ids[4]])
        #expect(try f.claim(at: 10, limit: 10).isEmpty)
    }

    @Test("a claim counts the attempt, leases the delivery with a token and records who took it")
    func claimLeases() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let (eventId, deliveries) = try f.ingest(
            "order-7", at: 0, to: [f.erp, f.mail], topic: "orders/paid", payload: #"{"n":7}"#, correlation: "corr-7")
        let claims = try f.claim(at: 10, lease: 30, owner: "hub-1")
        try #require(claims.count == 2)
        let claim = try #require(claims.first { $0.deliveryId == deliveries[0] })
        #expect(claim.eventId == eventId)
        #expect(claim.connectorId == f.erp)
        #expect(claim.attempt == 1)
        #expect(claim.maxAttempts == 5)
        #expect(claim.leaseExpiresAt == DeliveryFixture.ms(40))
        #expect(claim.topic == "orders/paid")
        #expect(claim.payload == #"{"n":7}"#)
        #expect(claim.correlationId == "corr-7")
        #expect(claim.idempotencyKey == "patchbay-delivery-\(deliveries[0])")
        #expect(claims[0].leaseToken != claims[1].leaseToken)

        let row = try f.delivery(deliveries[0])
        #expect(row.state == .inFlight)
        #expect(row.attempts == 1)
        #expect(row.leaseOwner == "hub-1")
        #expect(row.leaseToken == claim.leaseToken)
        #expect(row.leaseExpiresAt == DeliveryFixture.ms(40))
        #expect(row.nextAttemptAt == nil)
        #expect(row.updatedAt == DeliveryFixture.ms(10))
        #expect(try f.transitions(deliveries[0]).map { [$0.fromState, $0.toState] } == [[.pending, .inFlight]])
        let transition = try #require(try f.transitions(deliveries[0]).first)
        #expect(transition.actor == .worker)
        #expect(transition.at == DeliveryFixture.ms(10))
        #expect(transition.reason == "claimed by hub-1")
        // In flight: another worker cannot take it.
        #expect(try f.claim(at: 11, owner: "hub-2").isEmpty)
        #expect(try f.store.connectorStatuses().first { $0.connector.id == f.erp }?.counts == [.inFlight: 1])
    }

    @Test("workers on separate connections, claiming at once, never take the same delivery")
    func concurrentClaimsAreExclusive() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        _ = try f.store.ingest((0..<120).map { f.newEvent("e\($0)", at: 0, to: [f.erp, f.mail]) })
        let workers = try (0..<4).map { _ in try Store.open(at: f.store.path) }
        final class Claimed: @unchecked Sendable {
            let lock = NSLock()
            var ids: [DeliveryID] = []
            var errors: [String] = []
        }
        let claimed = Claimed()
        DispatchQueue.concurrentPerform(iterations: workers.count) { i in
            while true {
                do {
                    let claims = try workers[i].claimDueDeliveries(limit: 7, lease: 60, owner: "w\(i)",
                                                                   now: DeliveryFixture.at(10))
                    if claims.isEmpty { return }
                    claimed.lock.withLock { claimed.ids += claims.map(\.deliveryId) }
                } catch {
                    claimed.lock.withLock { claimed.errors.append("\(error)") }
                    return
                }
            }
        }
        #expect(claimed.errors.isEmpty)
        #expect(claimed.ids.count == 240)
        #expect(Set(claimed.ids).count == 240)
        #expect(try f.store.connectorStatuses().map { $0.count(.inFlight) } == [120, 120, 0])
    }

    @Test("the same event ingested at once through separate connections is stored once")
    func concurrentDuplicateIngest() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let writers = try (0..<4).map { _ in try Store.open(at: f.store.path) }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var results: [IngestResult] = []
            var errors: [String] = []
        }
        let results = Results()
        let event = f.newEvent("webhook-7", at: 0, to: [f.erp, f.mail])
        DispatchQueue.concurrentPerform(iterations: writers.count) { i in
            do {
                let result = try writers[i].ingest(event)
                results.lock.withLock { results.results.append(result) }
            } catch {
                results.lock.withLock { results.errors.append("\(error)") }
            }
        }
        #expect(results.errors.isEmpty)
        let accepted = results.results.filter { if case .accepted = $0 { true } else { false } }
        #expect(accepted.count == 1)
        #expect(Set(results.results.map(\.eventId)).count == 1)
        #expect(try f.count("events") == 1)
        #expect(try f.count("deliveries") == 2)
    }

    // MARK: Outcomes

    @Test("a delivered outcome ends the lease, records the attempt and marks the connector healthy")
    func recordDelivered() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0).deliveries[0]
        let claim = try f.claimOne(id, at: 10)
        #expect(try f.record(claim, .delivered, at: 12, status: 201) == .recorded(.delivered))

        let row = try f.delivery(id)
        #expect(row.state == .delivered)
        #expect(row.leaseToken == nil && row.leaseOwner == nil && row.leaseExpiresAt == nil)
        #expect(row.lastStatus == 201)
        #expect(row.attempts == 1)
        #expect(row.updatedAt == DeliveryFixture.ms(12))
        let attempts = try f.attempts(id)
        #expect(attempts.count == 1)
        #expect(attempts.first?.number == 1)
        #expect(attempts.first?.outcome == .success)
        #expect(attempts.first?.statusCode == 201)
        #expect(attempts.first?.startedAt == DeliveryFixture.ms(11))
        #expect(attempts.first?.durationMs == 250)
        #expect(attempts.first?.responseExcerpt == "status 201")
        let transitions = try f.transitions(id)
        #expect(transitions.map { [$0.fromState, $0.toState] } == [[.pending, .inFlight], [.inFlight, .delivered]])
        #expect(transitions.last?.actor == .worker)
        #expect(transitions.last?.reason == "delivered (201)")
        let erp = try f.connector(f.erp)
        #expect(erp.health == .healthy)
        #expect(erp.lastSuccessAt == DeliveryFixture.ms(12))
        // Recording the same outcome again is refused: the lease is gone.
        #expect(try f.record(claim, .delivered, at: 13, status: 201) == .leaseLost)
        #expect(try f.attempts(id).count == 1)
    }

    @Test("a retry outcome schedules the next attempt, keeps the error and marks the connector failing")
    func recordRetry() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0).deliveries[0]
        let claim = try f.claimOne(id, at: 10)
        let recorded = try f.record(claim, .retry(at: DeliveryFixture.at(100)), at: 12, status: 503,
                                    error: "HTTP 503: Service Unavailable", signature: "HTTP 503: Service Unavailable")
        #expect(recorded == .recorded(.retrying))
        let row = try f.delivery(id)
        #expect(row.state == .retrying)
        #expect(row.nextAttemptAt == DeliveryFixture.ms(100))
        #expect(row.lastError == "HTTP 503: Service Unavailable")
        #expect(row.lastStatus == 503)
        #expect(row.errorSignature == "HTTP 503: Service Unavailable")
        #expect(row.leaseToken == nil && row.leaseOwner == nil && row.leaseExpiresAt == nil)
        let attempt = try #require(try f.attempts(id).first)
        #expect(attempt.outcome == .failure)
        #expect(attempt.number == 1)
        #expect(attempt.statusCode == 503)
        #expect(attempt.error == "HTTP 503: Service Unavailable")
        let transition = try #require(try f.transitions(id).last)
        #expect(transition.fromState == .inFlight && transition.toState == .retrying && transition.actor == .worker)
        #expect(transition.reason == "attempt 1 of 5 failed; retry at 2026-11-18T12:01:40Z: HTTP 503: Service Unavailable")
        let erp = try f.connector(f.erp)
        #expect(erp.health == .failing)  // no success in the last ten minutes
        #expect(erp.lastErrorAt == DeliveryFixture.ms(12))
        #expect(erp.lastError == "HTTP 503: Service Unavailable")
    }

    @Test("a retry asked for in the past is due now, and a failure after a recent success is degraded")
    func retryInThePastIsDueNow() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let ok = try f.ingest("ok", at: 0).deliveries[0]
        try f.record(try f.claimOne(ok, at: 1), .delivered, at: 2, status: 200)
        let id = try f.ingest("a", at: 0).deliveries[0]
        let claim = try f.claimOne(id, at: 10)
        #expect(try f.record(claim, .retry(at: DeliveryFixture.at(5)), at: 12) == .recorded(.retrying))
        let row = try f.delivery(id)
        #expect(row.nextAttemptAt == DeliveryFixture.ms(12))
        #expect(row.lastError == "failed")  // an outcome without an error text still says something
        #expect(row.errorSignature == "failed")
        #expect(try f.connector(f.erp).health == .degraded)
    }

    @Test("a retry outcome with no attempt left dead-letters the delivery")
    func retryWithoutAttemptsLeftIsDead() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0, maxAttempts: 2).deliveries[0]
        try f.fail(id, at: 10, retryIn: 5)
        let claim = try f.claimOne(id, at: 20)
        #expect(claim.attempt == 2)
        #expect(try f.record(claim, .retry(at: DeliveryFixture.at(60)), at: 21, status: 500, error: "HTTP 500")
                == .recorded(.dead))
        let row = try f.delivery(id)
        #expect(row.state == .dead)
        #expect(row.nextAttemptAt == nil)
        #expect(row.attempts == 2)
        #expect(try f.attempts(id).map(\.number) == [1, 2])
        #expect(try f.transitions(id).last?.reason == "gave up after 2 attempts: HTTP 500")
        #expect(try f.claim(at: 100).isEmpty)
    }

    @Test("a permanent failure dead-letters on the first attempt")
    func deadOutcome() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0).deliveries[0]
        let claim = try f.claimOne(id, at: 10)
        #expect(try f.record(claim, .dead, at: 11, status: 400, error: "HTTP 400: bad account code")
                == .recorded(.dead))
        #expect(try f.delivery(id).state == .dead)
        #expect(try f.transitions(id).last?.reason == "permanent failure: HTTP 400: bad account code")
        #expect(try f.transitions(id).last?.actor == .worker)
    }

    @Test("an outcome with a stale token or after the lease expired is refused and changes nothing")
    func staleOrExpiredLeaseChangesNothing() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0).deliveries[0]
        let claim = try f.claimOne(id, at: 10, lease: 30)  // expires at +40
        let before = try f.snapshot()

        var stale = f.outcome(claim, .delivered, at: 20, status: 200)
        stale.leaseToken = claim.leaseToken &+ 1
        #expect(try f.store.record(stale, now: DeliveryFixture.at(20)) == .leaseLost)
        #expect(try f.record(claim, .delivered, at: 41, status: 200) == .leaseLost)
        #expect(try f.record(claim, .retry(at: DeliveryFixture.at(100)), at: 41, error: "late") == .leaseLost)
        #expect(try f.record(claim, .dead, at: 41, error: "late", pause: "gone") == .leaseLost)
        var unknown = f.outcome(claim, .delivered, at: 20)
        unknown.deliveryId = 9_999
        #expect(try f.store.record(unknown, now: DeliveryFixture.at(20)) == .leaseLost)
        #expect(try f.snapshot() == before)
        let row = try f.delivery(id)
        #expect(row.state == .inFlight && row.attempts == 1 && row.leaseToken == claim.leaseToken)
        #expect(try f.attempts(id).isEmpty)
        #expect(try f.transitions(id).count == 1)
        #expect(try f.connector(f.erp).paused == false)

        // The lease is still held at the very millisecond it expires.
        #expect(try f.record(claim, .delivered, at: 40, status: 200) == .recorded(.delivered))
    }

    @Test("outcomes recorded together are each checked against their own lease")
    func batchOfOutcomes() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let a = try f.ingest("a", at: 0).deliveries[0]
        let b = try f.ingest("b", at: 0).deliveries[0]
        let claims = try f.claim(at: 10)
        var stale = f.outcome(claims[1], .delivered, at: 11)
        stale.leaseToken = claims[1].leaseToken &+ 1
        let results = try f.store.record([f.outcome(claims[0], .delivered, at: 11), stale], now: DeliveryFixture.at(11))
        #expect(results == [.recorded(.delivered), .leaseLost])
        #expect(try f.delivery(a).state == .delivered)
        #expect(try f.delivery(b).state == .inFlight)
    }

    // MARK: Lease recovery

    @Test("an expired lease goes back to retrying, due now, with a lease_expired attempt")
    func recoverExpiredLease() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0).deliveries[0]
        _ = try f.claimOne(id, at: 10, lease: 30, owner: "hub-7")  // expires at +40

        #expect(try f.store.recoverExpiredLeases(now: DeliveryFixture.at(40)).isEmpty)
        #expect(try f.store.recoverExpiredLeases(now: DeliveryFixture.at(45)) == [id])
        let row = try f.delivery(id)
        #expect(row.state == .retrying)
        #expect(row.nextAttemptAt == DeliveryFixture.ms(45))
        #expect(row.attempts == 1)
        #expect(row.leaseToken == nil && row.leaseOwner == nil && row.leaseExpiresAt == nil)
        #expect(row.errorSignature == "lease expired without an outcome")
        #expect(row.lastError == "lease held by hub-7 expired at 2026-11-18T12:00:40Z without an outcome")
        let attempt = try #require(try f.attempts(id).first)
        #expect(attempt.outcome == .leaseExpired)
        #expect(attempt.number == 1)
        #expect(attempt.startedAt == DeliveryFixture.ms(10))
        #expect(attempt.durationMs == 30_000)
        let transition = try #require(try f.transitions(id).last)
        #expect(transition.fromState == .inFlight && transition.toState == .retrying)
        #expect(transition.actor == .system)
        #expect(transition.at == DeliveryFixture.ms(45))
        #expect(transition.reason?.hasSuffix("; due again now") == true)
        // Nothing left to recover, and the delivery is claimable right away.
        #expect(try f.store.recoverExpiredLeases(now: DeliveryFixture.at(50)).isEmpty)
        #expect(try f.claim(at: 45).map(\.deliveryId) == [id])
    }

    @Test("an expired lease on the last attempt dead-letters the delivery")
    func recoverOnLastAttemptIsDead() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0, maxAttempts: 1).deliveries[0]
        _ = try f.claimOne(id, at: 10, lease: 30)
        #expect(try f.store.recoverExpiredLeases(now: DeliveryFixture.at(100)) == [id])
        let row = try f.delivery(id)
        #expect(row.state == .dead)
        #expect(row.nextAttemptAt == nil)
        #expect(try f.transitions(id).last?.reason?.hasSuffix("; no attempt left") == true)
        #expect(try f.transitions(id).last?.actor == .system)
        #expect(try f.claim(at: 200).isEmpty)
    }

    @Test("recovery takes the longest-expired leases first, up to its limit")
    func recoverLimit() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let a = try f.ingest("a", at: 0).deliveries[0]
        let b = try f.ingest("b", at: 0).deliveries[0]
        _ = try f.claimOne(a, at: 5, lease: 100)  // expires +105
        _ = try f.claimOne(b, at: 10, lease: 30)  // expires +40, claimed later but expired first
        #expect(try f.store.recoverExpiredLeases(now: DeliveryFixture.at(200), limit: 1) == [b])
        #expect(try f.store.recoverExpiredLeases(now: DeliveryFixture.at(200), limit: 1) == [a])
        #expect(try f.store.recoverExpiredLeases(now: DeliveryFixture.at(200), limit: 1) == [])
    }

    @Test("a worker whose lease was recovered and claimed by another cannot record")
    func recoveredAndReclaimedLeaseIsLost() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0).deliveries[0]
        let first = try f.claimOne(id, at: 10, lease: 30, owner: "slow")
        try f.store.recoverExpiredLeases(now: DeliveryFixture.at(50))
        // Recovered but not claimed yet: the slow worker is already out.
        #expect(try f.record(first, .delivered, at: 51, status: 200) == .leaseLost)
        let second = try f.claimOne(id, at: 52, lease: 30, owner: "fast")
        #expect(second.attempt == 2)
        #expect(second.leaseToken != first.leaseToken)

        let before = try f.snapshot()
        #expect(try f.record(first, .delivered, at: 53, status: 200) == .leaseLost)
        #expect(try f.snapshot() == before)
        #expect(try f.record(second, .delivered, at: 53, status: 200) == .recorded(.delivered))
        #expect(try f.attempts(id).map(\.outcome) == [.leaseExpired, .success])
        #expect(try f.attempts(id).map(\.number) == [1, 2])
    }

    // MARK: Pause from an outcome

    @Test("an outcome can pause its connector (HTTP 410) in the same transaction")
    func outcomePausesConnector() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let gone = try f.ingest("a", at: 0).deliveries[0]
        let waiting = try f.ingest("b", at: 1).deliveries[0]
        let mail = try f.ingest("c", at: 1, to: [f.mail]).deliveries[0]
        let claim = try #require(try f.claim(at: 10, limit: 1, connector: f.erp).first)
        #expect(claim.deliveryId == gone)
        #expect(try f.record(claim, .dead, at: 11, status: 410, error: "HTTP 410: Gone",
                             pause: "the target answered 410 Gone") == .recorded(.dead))
        let erp = try f.connector(f.erp)
        #expect(erp.paused)
        #expect(erp.pausedReason == "the target answered 410 Gone")
        #expect(try f.connector(f.mail).paused == false)
        #expect(try f.delivery(gone).state == .dead)

        // Nothing more goes to erp until an operator resumes it; mail still flows.
        #expect(try f.claim(at: 20).map(\.deliveryId) == [mail])
        #expect(try f.delivery(waiting).state == .pending)
        #expect(try f.store.setPaused("erp", paused: false))
        #expect(try f.claim(at: 30).map(\.deliveryId) == [waiting])
    }

    // MARK: Transitions

    @Test("every state change writes exactly one transition, with the actor that made it")
    func everyStateChangeHasOneTransition() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0, maxAttempts: 2).deliveries[0]
        let c1 = try f.claimOne(id, at: 10)
        try f.record(c1, .retry(at: DeliveryFixture.at(20)), at: 11, error: "timeout")
        let c2 = try f.claimOne(id, at: 20)
        try f.record(c2, .retry(at: DeliveryFixture.at(30)), at: 21, error: "timeout")  // dead: 2 of 2
        _ = try f.store.retry([id], reason: "ERP is back", now: DeliveryFixture.at(30))
        _ = try f.claimOne(id, at: 40, lease: 10)
        try f.store.recoverExpiredLeases(now: DeliveryFixture.at(60))
        _ = try f.store.discard([id], reason: "duplicate order", now: DeliveryFixture.at(70))
        _ = try f.store.retry([id], now: DeliveryFixture.at(80))
        let c4 = try f.claimOne(id, at: 90)
        try f.record(c4, .delivered, at: 91, status: 200)
        // Refused actions are not state changes.
        #expect(try f.store.retry([id], now: DeliveryFixture.at(95)).changed.isEmpty)
        #expect(try f.store.discard([id], now: DeliveryFixture.at(95)).changed.isEmpty)

        struct Step: Equatable {
            var from: DeliveryState, to: DeliveryState, actor: Actor, at: Int64
        }
        let expected: [Step] = [
            Step(from: .pending, to: .inFlight, actor: .worker, at: DeliveryFixture.ms(10)),
            Step(from: .inFlight, to: .retrying, actor: .worker, at: DeliveryFixture.ms(11)),
            Step(from: .retrying, to: .inFlight, actor: .worker, at: DeliveryFixture.ms(20)),
            Step(from: .inFlight, to: .dead, actor: .worker, at: DeliveryFixture.ms(21)),
            Step(from: .dead, to: .pending, actor: .operator_, at: DeliveryFixture.ms(30)),
            Step(from: .pending, to: .inFlight, actor: .worker, at: DeliveryFixture.ms(40)),
            Step(from: .inFlight, to: .retrying, actor: .system, at: DeliveryFixture.ms(60)),
            Step(from: .retrying, to: .discarded, actor: .operator_, at: DeliveryFixture.ms(70)),
            Step(from: .discarded, to: .pending, actor: .operator_, at: DeliveryFixture.ms(80)),
            Step(from: .pending, to: .inFlight, actor: .worker, at: DeliveryFixture.ms(90)),
            Step(from: .inFlight, to: .delivered, actor: .worker, at: DeliveryFixture.ms(91)),
        ]
        let transitions = try f.transitions(id)
        #expect(transitions.map { Step(from: $0.fromState, to: $0.toState, actor: $0.actor, at: $0.at) } == expected)
        #expect(transitions[4].reason == "ERP is back")
        #expect(transitions[7].reason == "duplicate order")
        #expect(transitions[8].reason == "requeued by operator")
        // Each transition continues from the previous one's state.
        for (previous, next) in zip(transitions, transitions.dropFirst()) {
            #expect(previous.toState == next.fromState)
        }
        #expect(try f.delivery(id).state == transitions.last?.toState)
    }
}
