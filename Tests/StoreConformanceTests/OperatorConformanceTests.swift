import Foundation
import PatchbayStore
import Testing

/// Operator actions: a retry requeues once, however often it is asked; discard and retry undo each other.
@Suite("Conformance: operator actions")
struct OperatorConformanceTests {
    /// A dead delivery (one attempt allowed, failed) and its id.
    private func dead(_ h: Harness, _ key: String, at seconds: Int64 = 0) throws -> DeliveryID {
        let (_, ids) = try h.ingest(key, at: seconds, maxAttempts: 1)
        let claim = try #require(try h.claim(at: seconds + 1).first { $0.deliveryId == ids[0] })
        _ = try h.store.record([h.outcome(claim, .dead, at: seconds + 1, error: "HTTP 400: bad", status: 400)],
                               now: Harness.at(seconds + 1))
        return ids[0]
    }

    @Test("retry pressed twice requeues once; the second reports the delivery skipped", arguments: Backend.available)
    func retryOnce(backend: Backend) throws {
        let h = try backend.make()
        let id = try dead(h, "A")
        let first = try h.store.retry([id], reason: "fixed the mapping", now: Harness.at(10))
        #expect(first.changed == [id] && first.skipped.isEmpty)
        let second = try h.store.retry([id], reason: "again", now: Harness.at(11))
        #expect(second.changed.isEmpty && second.skipped.map(\.id) == [id])
        let requeued = try h.delivery(id)
        #expect(requeued.state == .pending && requeued.attempts == 0)
        let detail = try #require(try h.store.eventDetail(requeued.eventId))
        let operatorMoves = detail.deliveries[0].transitions.filter { $0.actor == .operator_ }
        #expect(operatorMoves.map(\.toState) == [.pending])
        #expect(try h.countersAgree() == [])
    }

    @Test("retry by filter takes the dead of one connector, once", arguments: Backend.available)
    func retryByFilter(backend: Backend) throws {
        let h = try backend.make()
        let a = try dead(h, "A")
        let b = try dead(h, "B", at: 5)
        let result = try h.store.retry(matching: FailureFilter(connectorId: h.erp, states: [.dead]), reason: nil,
                                       now: Harness.at(20))
        #expect(Set(result.changed) == [a, b])
        #expect(try h.store.retry(matching: FailureFilter(connectorId: h.erp, states: [.dead]), reason: nil,
                                  now: Harness.at(21)).changed.isEmpty)
        #expect(try h.countersAgree() == [])
    }

    @Test("discard stops a delivery; retry brings it back; an in-flight delivery is skipped", arguments: Backend.available)
    func discardAndBack(backend: Backend) throws {
        let h = try backend.make()
        let id = try dead(h, "A")
        #expect(try h.store.discard([id], reason: "duplicate order", now: Harness.at(10)).changed == [id])
        #expect(try h.delivery(id).state == .discarded)
        #expect(try h.store.retry([id], reason: nil, now: Harness.at(11)).changed == [id])
        let (_, flying) = try h.ingest("B", at: 12)
        _ = try h.claim(at: 12)
        #expect(try h.store.discard(flying, reason: nil, now: Harness.at(13)).skipped.map(\.id) == flying)
        #expect(try h.countersAgree() == [])
    }

    @Test("retry --to moves a delivery once, keeping its id and idempotency key", arguments: Backend.available)
    func retarget(backend: Backend) throws {
        let h = try backend.make()
        let id = try dead(h, "A")
        let moved = try h.store.retarget([id], to: "mail", reason: "erp retired", now: Harness.at(10))
        #expect(moved.changed == [id])
        #expect(try h.store.retarget([id], to: "mail", reason: nil, now: Harness.at(11)).changed.isEmpty)
        let claim = try #require(try h.claim(h.mail, at: 12).first)
        #expect(claim.deliveryId == id && claim.idempotencyKey == "patchbay-delivery-\(id)")
        #expect(try h.countersAgree() == [])
    }
}
