import Foundation
import GRDB
import PatchbayHub
@testable import PatchbayStore
import TestSupport
import Testing

/// A connector removed from (or renamed in) the configuration strands its deliveries: no worker
/// claims them. The store names such connectors, marks them orphaned, and lets an operator move their
/// deliveries to another connector or discard them, with every counter still exact.
@Suite("Orphaned connectors: named, marked, moved or discarded")
struct OrphanTests {
    private typealias T = DeliveryFixture

    private func expectExact(_ store: Store, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let wrong = try store.rollupDifferences(since: Date(millis: 0))
        #expect(wrong.isEmpty, "\(label): \(wrong.joined(separator: "; "))", sourceLocation: sourceLocation)
    }

    /// erp holds 2 pending, 1 in flight, 1 retrying, 1 dead and 1 delivered delivery; mail one delivered.
    private func strandedErp() throws -> (f: DeliveryFixture, pending: [DeliveryID], inFlight: DeliveryID,
                                          retrying: DeliveryID, dead: DeliveryID, delivered: DeliveryID) {
        let f = try DeliveryFixture()
        let delivered = try f.ingest("delivered", at: 0).deliveries[0]
        try f.record(try f.claimOne(delivered, at: 1), .delivered, at: 2, status: 200)
        let retrying = try f.ingest("retrying", at: 3).deliveries[0]
        try f.fail(retrying, at: 4, retryIn: 3600)
        let dead = try f.ingest("dead", at: 5).deliveries[0]
        try f.fail(dead, at: 6, dead: true, status: 400, error: "HTTP 400: bad account")
        let inFlight = try f.ingest("in-flight", at: 7).deliveries[0]
        _ = try f.claimOne(inFlight, at: 8, lease: 60)
        let pending = [try f.ingest("pending-1", at: 9).deliveries[0], try f.ingest("pending-2", at: 10).deliveries[0]]
        let mailOnly = try f.ingest("mail", at: 11, to: [f.mail]).deliveries[0]
        try f.record(try f.claimOne(mailOnly, at: 12), .delivered, at: 12, status: 200)
        return (f, pending, inFlight, retrying, dead, delivered)
    }

    @Test("a connector the configuration does not name is marked orphaned, with its unfinished and dead counts")
    func markingNamesOrphansWithCounts() throws {
        let s = try strandedErp()
        defer { s.f.directory.remove() }
        let expected = [OrphanedConnector(name: "erp", direction: .sink, pending: 2, inFlight: 1, retrying: 1, dead: 1)]
        #expect(try s.f.store.orphanedConnectors(configured: ["shop", "mail"]) == expected)
        #expect(try s.f.store.orphanedConnectors(configured: ["shop", "mail", "erp"]).isEmpty)

        #expect(try s.f.store.markOrphanedConnectors(configured: ["shop", "mail"], now: T.at(20)) == expected)
        let health = try s.f.store.connectorStatuses().map { "\($0.connector.name) \($0.connector.health.rawValue)" }
        #expect(health == ["erp orphaned", "mail healthy", "shop unknown"])
        #expect(try s.f.store.connector(named: "erp")?.health == .orphaned)

        // Read-only, as `check` opens it: the same answer.
        let readOnly = try Store.open(at: s.f.store.path, mode: .readOnly)
        #expect(try readOnly.orphanedConnectors(configured: ["shop", "mail"]) == expected)

        // Named again: the mark goes, the runtime's health is back.
        #expect(try s.f.store.markOrphanedConnectors(configured: ["shop", "mail", "erp"], now: T.at(30)).isEmpty)
        #expect(try s.f.store.connector(named: "erp")?.health == .degraded)
    }

    @Test("the warning names the connector, its counts and both ways out")
    func warningText() {
        let orphan = OrphanedConnector(name: "old-erp", direction: .sink, pending: 3, retrying: 9, dead: 2)
        #expect(orphan.warning() == "connector 'old-erp' is not in this configuration but has 12 unfinished deliveries "
            + "(3 pending, 9 retrying; 2 dead); they will not be sent: retry them to another connector "
            + "(patchbay retry --all --connector old-erp --to NEW) or discard them (patchbay discard --all --connector old-erp)")
        let one = OrphanedConnector(name: "a b", direction: .sink, inFlight: 1)
        #expect(one.warning(database: "/tmp/x y.sqlite").contains(
            "1 unfinished delivery (1 in flight); they will not be sent: retry them to another connector "
                + "(patchbay retry --all --connector 'a b' --to NEW --db '/tmp/x y.sqlite')"))
    }

    @Test("moving a connector's deliveries requeues each once at the new connector, keeping its id and key")
    func retargetMovesAndRequeuesOnce() throws {
        let s = try strandedErp()
        let f = s.f
        defer { f.directory.remove() }
        try f.store.markOrphanedConnectors(configured: ["shop", "mail"], now: T.at(20))
        let before = try f.store.throughput(window: 3600, bucket: 3600, connector: f.erp, now: T.at(40))

        let moved = try f.store.retarget(matching: FailureFilter(connectorId: f.erp), to: "mail", reason: "erp retired",
                                         now: T.at(40))
        #expect(moved.changed == [s.retrying, s.dead] + s.pending)
        #expect(moved.skipped.isEmpty)
        try expectExact(f.store, "after the move")
        for id in moved.changed {
            let row = try f.delivery(id)
            #expect(row.connectorId == f.mail && row.state == .pending && row.attempts == 0)
            #expect(row.nextAttemptAt == T.ms(40))
            let last = try #require(try f.transitions(id).last)
            #expect(last.actor == .operator_ && last.toState == .pending)
            #expect(last.reason == "moved from 'erp' to 'mail' and requeued by operator: erp retired")
        }
        // The in-flight one stays (a worker may hold it); delivered stays delivered.
        #expect(try f.delivery(s.inFlight).connectorId == f.erp)
        #expect(try f.delivery(s.delivered).connectorId == f.erp)
        // erp's history is still erp's: the failures happened there.
        #expect(try f.store.throughput(window: 3600, bucket: 3600, connector: f.erp, now: T.at(40)) == before)
        let mail = try f.store.throughput(window: 3600, bucket: 3600, connector: f.mail, now: T.at(40))
        #expect(mail.map(\.retried) == [2], "the retrying and the dead one requeued; pending ones were not failing")
        let counts = try #require(try f.store.connectorStatuses().first { $0.connector.id == f.erp }).counts
        #expect(counts == [.inFlight: 1, .delivered: 1])

        // Pressed again, by filter and by id: nothing moves twice.
        #expect(try f.store.retarget(matching: FailureFilter(connectorId: f.erp), to: "mail", now: T.at(41)).changed.isEmpty)
        let again = try f.store.retarget([s.dead], to: "mail", now: T.at(42))
        #expect(again.changed.isEmpty)
        #expect(again.skipped == [.init(id: s.dead, reason: "it already goes to 'mail'")])
        #expect(try f.transitions(s.dead).filter { $0.actor == .operator_ }.count == 1)
        try expectExact(f.store, "after pressing twice")

        // mail's worker claims them with the same idempotency key they always had.
        let claims = try f.claim(at: 43, connector: f.mail)
        #expect(Set(claims.map(\.deliveryId)) == Set(moved.changed))
        #expect(claims.allSatisfy { $0.idempotencyKey == "patchbay-delivery-\($0.deliveryId)" && $0.attempt == 1 })
        try expectExact(f.store, "claimed at the new connector")
    }

    @Test("a move is refused to an unknown, source or orphaned connector; a clash or an in-flight delivery is skipped")
    func retargetRefusals() throws {
        let s = try strandedErp()
        let f = s.f
        defer { f.directory.remove() }
        #expect(throws: StoreError.unknownConnector("nope")) { try f.store.retarget([s.dead], to: "nope") }
        #expect(throws: StoreError.self) { try f.store.retarget([s.dead], to: "shop") }
        try f.store.markOrphanedConnectors(configured: ["shop", "erp"], now: T.at(20))
        #expect(throws: StoreError.self) { try f.store.retarget([s.dead], to: "mail") }
        #expect(throws: StoreError.invalidInput("name the connector to move deliveries from (--connector)")) {
            try f.store.retarget(matching: FailureFilter(), to: "erp")
        }
        try f.store.markOrphanedConnectors(configured: ["shop", "erp", "mail"], now: T.at(21))

        // An event that already has a delivery to mail keeps it; the erp one is skipped.
        let both = try f.ingest("both", at: 22, to: [f.erp, f.mail]).deliveries
        let result = try f.store.retarget([both[0], s.inFlight, s.delivered, 999_999], to: "mail", now: T.at(23))
        #expect(result.changed.isEmpty)
        let event = try #require(try f.store.eventId(ofDelivery: both[0]))
        #expect(result.skipped.map(\.reason) == [
            "its event \(event) already has delivery \(both[1]) to 'mail'",
            "it is in_flight; a worker holds it; once its lease expires it is retrying and can be moved",
            "it is delivered; only pending, retrying, dead or discarded deliveries can be moved",
            "no such delivery",
        ])
        try expectExact(f.store, "refusals change nothing")
    }

    @Test("an orphan's expired lease is recovered to retrying, then it can be moved")
    func expiredLeaseOfOrphanIsRecovered() throws {
        let s = try strandedErp()
        let f = s.f
        defer { f.directory.remove() }
        try f.store.markOrphanedConnectors(configured: ["shop", "mail"], now: T.at(20))
        #expect(try f.store.recoverExpiredLeases(now: T.at(8 + 61)) == [s.inFlight])
        #expect(try f.delivery(s.inFlight).state == .retrying)
        #expect(try f.store.orphanedConnectors(configured: ["shop", "mail"]).first?.retrying == 2)
        #expect(try f.store.retarget([s.inFlight], to: "mail", now: T.at(70)).changed == [s.inFlight])
        try expectExact(f.store, "recovered, then moved")
    }

    @Test("discarding by connector ends what an orphan holds, except what a worker holds")
    func discardByConnector() throws {
        let s = try strandedErp()
        let f = s.f
        defer { f.directory.remove() }
        let result = try f.store.discard(connector: f.erp, reason: "erp retired", now: T.at(30))
        #expect(Set(result.changed) == Set(s.pending + [s.retrying, s.dead]))
        #expect(try f.store.orphanedConnectors(configured: ["shop", "mail"])
            == [OrphanedConnector(name: "erp", direction: .sink, inFlight: 1)])
        #expect(try f.transitions(s.dead).last?.reason == "erp retired")
        #expect(try f.store.discard(connector: f.erp, now: T.at(31)).changed.isEmpty)
        try expectExact(f.store, "discarded by connector")
    }

    @Test("a seeded connector's whole queue moved to another: every counter equals a recount")
    func retargetKeepsSeededRollupsExact() throws {
        let (store, directory) = try makeTestStore()
        defer { directory.remove() }
        let now = Date(millis: 1_795_623_360_000)
        try Seeder(options: Seeder.Options(events: 600, days: 2, seed: 11, now: now)).run(on: store)
        try expectExact(store, "seeded")
        let statuses = try store.connectorStatuses()
        // The sink with the most failing deliveries moves to the sink with the fewest.
        let sinks = statuses.filter { $0.connector.direction == .sink }
        let from = try #require(sinks.max { $0.count(.retrying) + $0.count(.dead) < $1.count(.retrying) + $1.count(.dead) })
        let to = try #require(sinks.filter { $0.connector.id != from.connector.id }.min { $0.count(.delivered) < $1.count(.delivered) })
        #expect(from.count(.retrying) + from.count(.dead) > 0)
        let history = try store.throughput(window: 3 * 86_400, bucket: 3600, connector: from.connector.id, now: now)

        let moved = try store.retarget(matching: FailureFilter(connectorId: from.connector.id), to: to.connector.name,
                                       now: now.addingTimeInterval(60))
        #expect(!moved.changed.isEmpty)
        try expectExact(store, "moved \(moved.changed.count), skipped \(moved.skipped.count)")
        #expect(try store.throughput(window: 3 * 86_400, bucket: 3600, connector: from.connector.id, now: now) == history)
        // Claimed, failed and moved back: still exact.
        let claims = try store.claimDueDeliveries(connector: to.connector.id, limit: 50, lease: 30, owner: "t",
                                                  now: now.addingTimeInterval(61))
        _ = try store.record(claims.map {
            DeliveryOutcome(deliveryId: $0.deliveryId, leaseToken: $0.leaseToken, result: .dead,
                            startedAt: now.addingTimeInterval(61), durationMs: 5, statusCode: 422, error: "HTTP 422",
                            errorSignature: "HTTP 422")
        }, now: now.addingTimeInterval(62))
        _ = try store.retarget(claims.map(\.deliveryId), to: from.connector.name, now: now.addingTimeInterval(63))
        try expectExact(store, "failed at the new connector, moved back")
    }
}
