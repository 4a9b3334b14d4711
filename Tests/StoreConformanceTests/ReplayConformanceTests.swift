import Foundation
import PatchbayStore
import Testing

/// `patchbay replay`: stored events sent again to a connector, delivered ones included, the same on
/// every backend.
@Suite("Conformance: replay")
struct ReplayConformanceTests {
    @Test("finished deliveries are requeued with a replay key, waiting ones skipped, nothing else touched",
          arguments: Backend.available)
    func replayFinished(backend: Backend) throws {
        let h = try backend.make()
        let (_, a) = try h.ingest("A", at: 0, maxAttempts: 1)
        let (_, b) = try h.ingest("B", at: 1, maxAttempts: 1)
        let (_, c) = try h.ingest("C", at: 2)
        _ = try h.store.ingest([h.event("R", at: 3, topic: "refund_issued")])
        let claims = try h.claim(limit: 2, at: 5)
        #expect(Set(claims.map(\.deliveryId)) == Set(a + b))
        _ = try h.store.record(claims.map { $0.deliveryId == a[0] ? h.outcome($0, .delivered, at: 6, status: 200)
                                             : h.outcome($0, .dead, at: 6, error: "HTTP 400") }, now: Harness.at(6))

        let filter = ReplayFilter(topic: "order_created", since: Harness.at(0))
        let dry = try h.store.replay(filter, to: "erp", reason: "mapping fix", dryRun: true, now: Harness.at(10))
        #expect(dry.dryRun && dry.matched == 3 && dry.toCreate == 0 && dry.requeued == a + b && dry.queued == 2)
        #expect(dry.skipped.map(\.id) == c && dry.skipped[0].reason == "already pending: it will be sent")
        #expect(try h.delivery(a[0]).state == .delivered, "a dry run writes nothing")

        let done = try h.store.replay(filter, to: "erp", reason: "mapping fix", dryRun: false, now: Harness.at(10))
        #expect(done.requeued == a + b && done.created.isEmpty && done.skipped.map(\.id) == c && !done.dryRun)
        for id in a + b {
            let delivery = try h.delivery(id)
            #expect(delivery.state == .pending && delivery.attempts == 0 && delivery.nextAttemptAt == Harness.at(10).millis)
        }
        let detail = try #require(try h.store.eventDetail(try h.delivery(a[0]).eventId))
        let last = try #require(detail.deliveries[0].transitions.last)
        #expect(last.fromState == .delivered && last.toState == .pending && last.actor == .operator_
                && last.reason == "replayed by operator: mapping fix")
        let again = try h.claim(limit: 10, at: 11)
        let keys = Dictionary(uniqueKeysWithValues: again.map { ($0.deliveryId, $0.idempotencyKey) })
        #expect(keys[a[0]] == "patchbay-delivery-\(a[0])-replay-1" && keys[b[0]] == "patchbay-delivery-\(b[0])-replay-1")
        #expect(keys[c[0]] == "patchbay-delivery-\(c[0])", "a delivery never replayed keeps its key")
        #expect(try h.countersAgree() == [])
    }

    @Test("a backfill creates a delivery for each event the connector never had; a second replay skips them",
          arguments: Backend.available)
    func backfill(backend: Backend) throws {
        let h = try backend.make()
        for n in 0..<4 { try h.ingest("E\(n)", at: Int64(n)) }
        _ = try h.store.ingest([h.event("tracking", at: 5, payload: #"{"order":"E9","tracking":"1Z999AA1"}"#)])
        let dry = try h.store.replay(ReplayFilter(since: Harness.at(0)), to: "mail", reason: nil, dryRun: true,
                                     now: Harness.at(20))
        #expect(dry.matched == 5 && dry.toCreate == 5 && dry.created.isEmpty)
        #expect(try h.store.deliveries(connector: h.mail).isEmpty)

        let text = try h.store.replay(ReplayFilter(text: "1Z999AA1"), to: "mail", reason: "one parcel", dryRun: false,
                                      now: Harness.at(20))
        #expect(text.matched == 1 && text.created.count == 1)
        let done = try h.store.replay(ReplayFilter(since: Harness.at(0)), to: "mail", reason: "new connector",
                                      dryRun: false, now: Harness.at(21))
        #expect(done.matched == 5 && done.created.count == 4 && done.skipped.count == 1)
        let mail = try h.store.deliveries(connector: h.mail)
        #expect(mail.count == 5 && mail.allSatisfy { $0.state == .pending && $0.attempts == 0 })
        let claims = try h.claim(h.mail, limit: 10, at: 22)
        #expect(claims.count == 5 && claims.allSatisfy { $0.idempotencyKey.hasSuffix("-replay-1") })
        #expect(try h.countersAgree() == [])
    }

    @Test("a replay with no condition, to a source or to an unknown connector is refused with why",
          arguments: Backend.available)
    func refusals(backend: Backend) throws {
        let h = try backend.make()
        try h.ingest("A")
        #expect(throws: StoreError.self) { try h.store.replay(ReplayFilter(), to: "erp", reason: nil, dryRun: true, now: Harness.at(1)) }
        do {
            _ = try h.store.replay(ReplayFilter(since: Harness.at(0)), to: "shop", reason: nil, dryRun: false, now: Harness.at(1))
            Issue.record("a replay to a source was accepted")
        } catch {
            #expect("\(error)".contains("is a source"))
        }
        #expect(throws: StoreError.unknownConnector("nowhere")) {
            try h.store.replay(ReplayFilter(since: Harness.at(0)), to: "nowhere", reason: nil, dryRun: false, now: Harness.at(1))
        }
        #expect(try h.delivery(try h.store.deliveries(connector: h.erp)[0].id).state == .pending)
    }
}
