import Foundation
import GRDB
@testable import PatchbayStore
import TestSupport
import Testing

@Suite("Operator actions: retry and discard")
struct OperatorTests {
    private typealias T = DeliveryFixture

    // MARK: Retry by id

    @Test("retrying a dead delivery requeues it now with a fresh set of attempts, as the operator")
    func retryDeadDelivery() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0, maxAttempts: 3).deliveries[0]
        try f.fail(id, at: 10, dead: true, status: 400, error: "HTTP 400: bad account")
        #expect(try f.delivery(id).attempts == 1)

        let result = try f.store.retry([id], now: T.at(100))
        #expect(result.changed == [id])
        #expect(result.skipped.isEmpty)
        let row = try f.delivery(id)
        #expect(row.state == .pending)
        #expect(row.attempts == 0)
        #expect(row.nextAttemptAt == T.ms(100))
        #expect(row.updatedAt == T.ms(100))
        let transition = try #require(try f.transitions(id).last)
        #expect(transition.fromState == .dead && transition.toState == .pending)
        #expect(transition.actor == .operator_)
        #expect(transition.reason == "requeued by operator")
        #expect(transition.at == T.ms(100))

        let claim = try f.claimOne(id, at: 100)
        #expect(claim.attempt == 1)
        #expect(claim.maxAttempts == 3)
    }

    @Test("a retry pressed twice requeues once; the second reports the delivery skipped")
    func retryTwiceRequeuesOnce() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let id = try f.ingest("a", at: 0).deliveries[0]
        try f.fail(id, at: 10)
        #expect(try f.store.retry([id], reason: "first", now: T.at(20)).changed == [id])
        let second = try f.store.retry([id], reason: "second", now: T.at(21))
        #expect(second.changed.isEmpty)
        #expect(second.skipped == [.init(id: id, reason:
            "it is pending; only retrying, dead or discarded deliveries can be retried")])
        #expect(try f.transitions(id).filter { $0.actor == .operator_ }.map(\.reason) == ["first"])
        #expect(try f.delivery(id).nextAttemptAt == T.ms(20))
        // Retried: the series counts it once.
        let series = try f.store.throughput(window: 60, bucket: 60, connector: f.erp, now: T.at(21))
        #expect(series.map(\.retried) == [2])  // once by the policy (+10 s), once by the operator (+20 s)
    }

    @Test("delivered and in-flight deliveries are refused with a reason; unknown ids are reported")
    func retryRefusesWhatIsNotFailing() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let delivered = try f.ingest("a", at: 0).deliveries[0]
        try f.record(try f.claimOne(delivered, at: 1), .delivered, at: 2, status: 200)
        let inFlight = try f.ingest("b", at: 0).deliveries[0]
        _ = try f.claimOne(inFlight, at: 3)
        let dead = try f.ingest("c", at: 5).deliveries[0]
        try f.fail(dead, at: 6, dead: true)
        let deliveredBefore = try f.delivery(delivered)
        let inFlightBefore = try f.delivery(inFlight)

        let result = try f.store.retry([delivered, inFlight, 424_242, dead, dead], now: T.at(10))
        #expect(result.changed == [dead])
        #expect(result.skipped == [
            .init(id: delivered, reason: "it is delivered; only retrying, dead or discarded deliveries can be retried"),
            .init(id: inFlight, reason: "it is in_flight; only retrying, dead or discarded deliveries can be retried"),
            .init(id: 424_242, reason: "no such delivery"),
        ])
        #expect(try f.delivery(delivered) == deliveredBefore)
        #expect(try f.delivery(inFlight) == inFlightBefore)
        #expect(try f.transitions(delivered).count == 2)
        #expect(try f.transitions(inFlight).count == 1)
        #expect(try f.transitions(dead).filter { $0.actor == .operator_ }.count == 1)
    }

    // MARK: Retry by filter

    /// erp: two retrying 503s, one dead 400; mail: one retrying 503, one dead timeout.
    private struct Failures {
        var erp503a: DeliveryID, erp503b: DeliveryID, erp400: DeliveryID, mail503: DeliveryID, mailTimeout: DeliveryID
        var all: Set<DeliveryID> { [erp503a, erp503b, erp400, mail503, mailTimeout] }
    }

    private func makeFailures(_ f: DeliveryFixture) throws -> Failures {
        let a = try f.ingest("a", at: 0).deliveries[0]
        let b = try f.ingest("b", at: 0).deliveries[0]
        let c = try f.ingest("c", at: 0).deliveries[0]
        let d = try f.ingest("d", at: 0, to: [f.mail]).deliveries[0]
        let e = try f.ingest("e", at: 0, to: [f.mail]).deliveries[0]
        try f.fail(a, at: 10, retryIn: 10_000)
        try f.fail(b, at: 20, retryIn: 10_000)
        try f.fail(c, at: 30, dead: true, status: 400, error: "HTTP 400: Validation failed")
        try f.fail(d, at: 40, retryIn: 10_000)
        try f.fail(e, at: 50, dead: true, status: 0, error: "timed out after 30 s")
        return Failures(erp503a: a, erp503b: b, erp400: c, mail503: d, mailTimeout: e)
    }

    private func pending(_ f: DeliveryFixture, among ids: Set<DeliveryID>) throws -> Set<DeliveryID> {
        try Set(ids.filter { try f.delivery($0).state == .pending })
    }

    @Test("retry(matching:) by connector requeues only that connector's failures")
    func retryMatchingConnector() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let x = try makeFailures(f)
        let result = try f.store.retry(matching: FailureFilter(connectorId: f.mail), now: T.at(100))
        #expect(Set(result.changed) == [x.mail503, x.mailTimeout])
        #expect(result.skipped.isEmpty)
        #expect(try pending(f, among: x.all) == [x.mail503, x.mailTimeout])
    }

    @Test("retry(matching:) by error group requeues only that group")
    func retryMatchingErrorGroup() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let x = try makeFailures(f)
        let groups = try f.store.errorGroups()
        let erp503 = try #require(groups.first { $0.connectorId == f.erp && $0.signature == "HTTP 503: Service Unavailable" })
        #expect(erp503.retrying == 2)
        let result = try f.store.retry(matching: FailureFilter(errorGroupId: erp503.id), now: T.at(100))
        #expect(Set(result.changed) == [x.erp503a, x.erp503b])
        #expect(try pending(f, among: x.all) == [x.erp503a, x.erp503b])

        // A group of another connector than the one asked for selects nothing.
        let mailGroup = try #require(groups.first { $0.connectorId == f.mail && $0.signature.hasPrefix("HTTP 503") })
        #expect(try f.store.retry(matching: FailureFilter(connectorId: f.erp, errorGroupId: mailGroup.id),
                                  now: T.at(101)).changed.isEmpty)
        #expect(try f.delivery(x.mail503).state == .retrying)
        #expect(throws: StoreError.unknownErrorGroup(9_999)) {
            try f.store.retry(matching: FailureFilter(errorGroupId: 9_999), now: T.at(102))
        }
    }

    @Test("retry(matching:) by state requeues only retrying or only dead deliveries")
    func retryMatchingState() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let x = try makeFailures(f)
        let dead = try f.store.retry(matching: FailureFilter(states: [.dead]), now: T.at(100))
        #expect(Set(dead.changed) == [x.erp400, x.mailTimeout])
        #expect(try pending(f, among: x.all) == [x.erp400, x.mailTimeout])
        let retrying = try f.store.retry(matching: FailureFilter(connectorId: f.erp, states: [.retrying]), now: T.at(101))
        #expect(Set(retrying.changed) == [x.erp503a, x.erp503b])
        #expect(try f.delivery(x.mail503).state == .retrying)
    }

    @Test("a filter naming only states that are not failing selects nothing")
    func retryMatchingNonFailingStateSelectsNothing() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let x = try makeFailures(f)
        for states: Set<DeliveryState> in [[.discarded], [.pending], [.delivered, .inFlight]] {
            #expect(try f.store.failedDeliveries(FailureFilter(states: states)).isEmpty, "\(states)")
            let result = try f.store.retry(matching: FailureFilter(states: states), now: T.at(100))
            #expect(result.changed.isEmpty, "\(states)")
        }
        #expect(try pending(f, among: x.all).isEmpty)
        // Both failing states together, or with a non-failing one, mean both.
        #expect(try f.store.failedDeliveries(FailureFilter(states: [.dead, .retrying])).count == 5)
        #expect(try f.store.failedDeliveries(FailureFilter(states: [.dead, .pending])).count == 2)
    }

    @Test("retry(matching:) since a time requeues only failures at or after it")
    func retryMatchingSince() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let x = try makeFailures(f)
        let result = try f.store.retry(matching: FailureFilter(since: T.at(30)), now: T.at(100))
        #expect(Set(result.changed) == [x.erp400, x.mail503, x.mailTimeout])
        let until = try f.store.failedDeliveries(FailureFilter(until: T.at(20)))
        #expect(until.map(\.id) == [x.erp503a])
    }

    // MARK: Discard

    @Test("discard stops pending, retrying and dead deliveries and refuses the others")
    func discard() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let x = try makeFailures(f)
        let pendingId = try f.ingest("p", at: 60).deliveries[0]
        let delivered = try f.ingest("q", at: 60, to: [f.mail]).deliveries[0]
        try f.record(try f.claimOne(delivered, at: 61), .delivered, at: 62, status: 200)

        let result = try f.store.discard([x.erp503a, x.erp400, pendingId, delivered], reason: "cancelled order",
                                         now: T.at(70))
        #expect(result.changed == [x.erp503a, x.erp400, pendingId])
        #expect(result.skipped == [.init(id: delivered, reason:
            "it is delivered; only pending, retrying or dead deliveries can be discarded")])
        for id in [x.erp503a, x.erp400, pendingId] {
            let row = try f.delivery(id)
            #expect(row.state == .discarded)
            #expect(row.nextAttemptAt == nil)
            let transition = try #require(try f.transitions(id).last)
            #expect(transition.toState == .discarded && transition.actor == .operator_)
            #expect(transition.reason == "cancelled order")
        }
        // Discarded deliveries are not claimed, not listed as failing, and a second discard is skipped.
        #expect(try f.claim(at: 100_000, connector: f.erp).map(\.deliveryId) == [x.erp503b])
        #expect(try f.store.failedDeliveries().map(\.id).contains(x.erp400) == false)
        #expect(try f.store.discard([x.erp400], now: T.at(71)).skipped.map(\.reason) ==
                ["it is discarded; only pending, retrying or dead deliveries can be discarded"])
        // An operator can bring one back.
        #expect(try f.store.retry([x.erp400], now: T.at(80)).changed == [x.erp400])
        #expect(try f.transitions(x.erp400).last?.fromState == .discarded)
    }

    // MARK: Error groups

    @Test("error group counts follow deliveries as they are claimed, fail again, are retried and discarded")
    func errorGroupCountsMove() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let ids = try (0..<4).map { try f.ingest("e\($0)", at: 0, maxAttempts: 2).deliveries[0] }
        let signature = "HTTP 503: Service Unavailable"
        for (i, id) in ids.enumerated() { try f.fail(id, at: 10 + Int64(i), retryIn: 100) }

        func group() throws -> ErrorGroup? {
            try f.store.read { db in
                try ErrorGroup.fetchOne(db, sql: """
                    SELECT g.*, c.name AS connector FROM error_groups g JOIN connectors c ON c.id = g.connector_id
                    WHERE g.signature = ?
                    """, arguments: [signature])
            }
        }
        var g = try #require(try group())
        #expect((g.retrying, g.dead, g.occurrences) == (4, 0, 4))
        #expect(g.firstSeen == T.ms(10) && g.lastSeen == T.ms(13))
        #expect(try f.store.errorGroups().map(\.count) == [4])

        // Claimed again: no longer failing while in flight.
        let claim = try #require(try f.claim(at: 110, limit: 1, connector: f.erp).first)
        #expect(claim.deliveryId == ids[0])
        g = try #require(try group())
        #expect((g.retrying, g.dead, g.occurrences) == (3, 0, 4))

        // Fails for good: dead, one more occurrence.
        #expect(try f.record(claim, .retry(at: T.at(500)), at: 111, status: 503, error: signature,
                             signature: signature) == .recorded(.dead))
        g = try #require(try group())
        #expect((g.retrying, g.dead, g.occurrences) == (3, 1, 5))
        #expect(g.lastSeen == T.ms(111))

        // An operator retry and a discard take deliveries out; occurrences are history and stay.
        _ = try f.store.retry([ids[0]], now: T.at(120))
        _ = try f.store.discard([ids[1]], now: T.at(121))
        g = try #require(try group())
        #expect((g.retrying, g.dead, g.occurrences) == (2, 0, 5))
        _ = try f.store.retry(matching: FailureFilter(errorGroupId: g.id), now: T.at(122))
        g = try #require(try group())
        #expect((g.retrying, g.dead, g.occurrences) == (0, 0, 5))
        // Nothing failing with it now: the dashboard no longer lists it.
        #expect(try f.store.errorGroups().isEmpty)
        #expect(try f.store.failedDeliveries().isEmpty)
    }
}
