import Foundation
import PatchbayStore
import Testing

/// The event log pages newest first by keyset: pages never overlap, never skip, and filters hold.
@Suite("Conformance: event paging and retention")
struct PagingConformanceTests {
    @Test("keyset pages of 7 cover 30 events newest first, each once; a topic filter pages the same way",
          arguments: Backend.available)
    func keysetPaging(backend: Backend) throws {
        let h = try backend.make()
        for n in 0..<30 {
            _ = try h.store.ingest([h.event("E\(n)", at: Int64(n), topic: n % 3 == 0 ? "refund_issued" : "order_created")])
        }
        var seen: [EventID] = []
        var cursor: EventID?
        repeat {
            let page = try h.store.events(EventFilter(), limit: 7, before: cursor, textBudget: .standard)
            #expect(page.events.count <= 7)
            seen += page.events.map(\.event.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen.count == 30 && Set(seen).count == 30)
        #expect(seen == seen.sorted(by: >), "newest first")

        var refunds: [EventID] = []
        cursor = nil
        repeat {
            let page = try h.store.events(EventFilter(topic: "refund_issued"), limit: 4, before: cursor, textBudget: .standard)
            refunds += page.events.map(\.event.id)
            #expect(page.events.allSatisfy { $0.event.topic == "refund_issued" })
            cursor = page.nextCursor
        } while cursor != nil
        #expect(refunds.count == 10 && Set(refunds).count == 10)
    }

    @Test("prune deletes only finished events older than the cutoff; the counters keep their history",
          arguments: Backend.available)
    func pruneFinishedOnly(backend: Backend) throws {
        let h = try backend.make()
        let (_, done) = try h.ingest("old-done", at: 0)
        let (_, open) = try h.ingest("old-open", at: 0)
        try h.ingest("recent", at: 7200)
        let claims = try h.claim(at: 1)
        let doneClaim = try #require(claims.first { $0.deliveryId == done[0] })
        _ = try h.store.record([h.outcome(doneClaim, .delivered, at: 1)], now: Harness.at(1))
        let openClaim = try #require(claims.first { $0.deliveryId == open[0] })
        _ = try h.store.record([h.outcome(openClaim, .retry(at: Harness.at(600)), at: 1, error: "HTTP 503")],
                               now: Harness.at(1))
        #expect(try h.store.prune(receivedBefore: Harness.at(3600), batchSize: 10) == 1)
        let left = try h.store.events(EventFilter(), limit: 10, before: nil, textBudget: .standard).events
        #expect(Set(left.map(\.event.idempotencyKey)) == ["old-open", "recent"])
    }
}
