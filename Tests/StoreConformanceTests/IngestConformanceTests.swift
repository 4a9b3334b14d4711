import Foundation
import PatchbayStore
import Testing

/// Ingest is idempotent by (source, key), all or nothing per batch, and recognises replayed bodies.
@Suite("Conformance: ingest")
struct IngestConformanceTests {
    @Test("the same key twice is one event; a batch's repeat is the first's duplicate; each target gets one delivery",
          arguments: Backend.available)
    func idempotentIngest(backend: Backend) throws {
        let h = try backend.make()
        let first = try h.store.ingest([h.event("A", to: [h.erp, h.mail])])[0]
        guard case .accepted(let id, let deliveries) = first else { Issue.record("\(first)"); return }
        #expect(deliveries.count == 2)
        let again = try h.store.ingest([h.event("A", at: 5), h.event("B", at: 5), h.event("B", at: 6)])
        #expect(again[0] == .duplicate(id))
        guard case .accepted(let b, _) = again[1] else { Issue.record("\(again)"); return }
        #expect(again[2] == .duplicate(b))
        #expect(try h.store.deliveries(connector: h.erp).count == 2)
        #expect(try h.store.deliveries(connector: h.mail).count == 1)
        #expect(try h.store.deliveries(connector: h.erp).allSatisfy { $0.state == .pending && $0.attempts == 0 })
        #expect(try h.countersAgree() == [])
    }

    @Test("a batch with one bad event stores nothing of it", arguments: Backend.available)
    func batchIsAllOrNothing(backend: Backend) throws {
        let h = try backend.make()
        #expect(throws: (any Error).self) {
            try h.store.ingest([h.event("ok-1"), h.event("bad", payload: "{not json"), h.event("ok-2")])
        }
        #expect(try h.store.deliveries(connector: h.erp).isEmpty)
        #expect(try h.store.events(EventFilter(), limit: 10, before: nil, textBudget: .standard).events.isEmpty)
        #expect(try h.countersAgree() == [])
    }

    @Test("a signed body seen within its window is a duplicate whatever its key; after the window it is new",
          arguments: Backend.available)
    func replayGuard(backend: Backend) throws {
        let h = try backend.make()
        let guardA = ReplayGuard(digest: "digest-a", window: 3600)
        let first = try h.store.ingest([h.event("k1", at: 0, replay: guardA)])[0]
        let replay = try h.store.ingest([h.event("k2", at: 60, topic: "customer_deleted", replay: guardA)])[0]
        #expect(replay == .duplicate(first.eventId))
        let inBatch = try h.store.ingest([h.event("k3", at: 70, replay: ReplayGuard(digest: "digest-b", window: 3600)),
                                          h.event("k4", at: 70, replay: ReplayGuard(digest: "digest-b", window: 3600))])
        #expect(inBatch[1] == .duplicate(inBatch[0].eventId))
        let late = try h.store.ingest([h.event("k5", at: 7200, replay: guardA)])[0]
        guard case .accepted = late else { Issue.record("after the window: \(late)"); return }
        #expect(try h.store.deliveries(connector: h.erp).count == 3)
    }
}
