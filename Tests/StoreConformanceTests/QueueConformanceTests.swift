import Foundation
import PatchbayStore
import Testing

/// The delivery state machine, leases and their tokens: the same on every backend.
@Suite("Conformance: delivery queue")
struct QueueConformanceTests {
    @Test("pending → in_flight → delivered; a claim counts the attempt and leases with a token",
          arguments: Backend.available)
    func deliveredPath(backend: Backend) throws {
        let h = try backend.make()
        let (_, ids) = try h.ingest("A")
        let claims = try h.claim(at: 1)
        #expect(claims.map(\.deliveryId) == ids)
        let claim = try #require(claims.first)
        #expect(claim.attempt == 1 && claim.idempotencyKey == "patchbay-delivery-\(ids[0])")
        let leased = try h.delivery(ids[0])
        #expect(leased.state == .inFlight && leased.leaseToken == claim.leaseToken && leased.leaseOwner == "worker-a")
        #expect(try h.claim(at: 2).isEmpty, "a leased delivery is not claimed twice")
        #expect(try h.store.record([h.outcome(claim, .delivered, at: 2, status: 200)], now: Harness.at(2))
                == [.recorded(.delivered)])
        let done = try h.delivery(ids[0])
        #expect(done.state == .delivered && done.attempts == 1 && done.leaseToken == nil)
        #expect(try h.store.attempts(delivery: ids[0]).map(\.outcome) == [.success])
        #expect(try h.countersAgree() == [])
    }

    @Test("a failure retries at its time, is not due before it, and the last attempt is dead",
          arguments: Backend.available)
    func retryThenDead(backend: Backend) throws {
        let h = try backend.make()
        let (_, ids) = try h.ingest("A", maxAttempts: 2)
        let first = try #require(try h.claim(at: 1).first)
        #expect(try h.store.record([h.outcome(first, .retry(at: Harness.at(60)), at: 1, error: "HTTP 503", status: 503)],
                                   now: Harness.at(1)) == [.recorded(.retrying)])
        let retrying = try h.delivery(ids[0])
        #expect(retrying.state == .retrying && retrying.nextAttemptAt == Harness.at(60).millis && retrying.lastStatus == 503)
        #expect(try h.claim(at: 59).isEmpty)
        #expect(try h.store.nextDueAt(connector: h.erp) == Harness.at(60).millis)
        let second = try #require(try h.claim(at: 60).first)
        #expect(second.attempt == 2)
        #expect(try h.store.record([h.outcome(second, .retry(at: Harness.at(120)), at: 61, error: "HTTP 503")],
                                   now: Harness.at(61)) == [.recorded(.dead)])
        #expect(try h.delivery(ids[0]).state == .dead)
        let detail = try #require(try h.store.eventDetail(try h.delivery(ids[0]).eventId))
        let moves = detail.deliveries[0].transitions.map { "\($0.fromState.rawValue)→\($0.toState.rawValue)" }
        #expect(moves == ["pending→in_flight", "in_flight→retrying", "retrying→in_flight", "in_flight→dead"])
        #expect(try h.countersAgree() == [])
    }

    @Test("a stale token, an expired lease, a recovered-and-reclaimed lease: the late outcome changes nothing",
          arguments: Backend.available)
    func leaseTokens(backend: Backend) throws {
        let h = try backend.make()
        let (_, ids) = try h.ingest("A", maxAttempts: 5)
        let a = try #require(try h.claim(at: 0, lease: 10, owner: "a").first)
        var forged = h.outcome(a, .delivered, at: 1)
        forged.leaseToken = a.leaseToken + 1
        #expect(try h.store.record([forged], now: Harness.at(1)) == [.leaseLost])
        // Past its lease the delivery is recovered (an attempt `lease_expired`) and claimed anew.
        #expect(try h.store.recoverExpiredLeases(now: Harness.at(11), limit: 100) == ids)
        #expect(try h.delivery(ids[0]).state == .retrying)
        let b = try #require(try h.claim(at: 11, owner: "b").first)
        #expect(b.leaseToken != a.leaseToken && b.attempt == 2 && b.idempotencyKey == a.idempotencyKey)
        #expect(try h.store.record([h.outcome(a, .dead, at: 12, error: "late")], now: Harness.at(12)) == [.leaseLost])
        #expect(try h.store.record([h.outcome(b, .delivered, at: 12)], now: Harness.at(12)) == [.recorded(.delivered)])
        #expect(try h.store.attempts(delivery: ids[0]).map(\.outcome) == [.leaseExpired, .success])
        #expect(try h.countersAgree() == [])
    }

    @Test("one batch of outcomes is checked delivery by delivery, each against its own lease",
          arguments: Backend.available)
    func batchOfOutcomes(backend: Backend) throws {
        let h = try backend.make()
        try h.ingest("A")
        try h.ingest("B")
        let claims = try h.claim(at: 0)
        #expect(claims.count == 2)
        var stale = h.outcome(claims[1], .delivered, at: 1)
        stale.leaseToken += 99
        #expect(try h.store.record([h.outcome(claims[0], .delivered, at: 1), stale], now: Harness.at(1))
                == [.recorded(.delivered), .leaseLost])
        #expect(try h.countersAgree() == [])
    }

    @Test("a paused connector's deliveries wait; resumed, they are claimed", arguments: Backend.available)
    func pausedWaits(backend: Backend) throws {
        let h = try backend.make()
        try h.ingest("A")
        #expect(try h.store.setPaused("erp", paused: true, reason: "maintenance"))
        #expect(try h.claim(at: 1).isEmpty)
        #expect(try h.store.setPaused("erp", paused: false, reason: nil))
        #expect(try h.claim(at: 2).count == 1)
    }
}
