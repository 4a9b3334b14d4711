import Foundation
import PatchbayStore
import Testing

/// A note on each attempt and the last SaaS rate-limit reading of each connector (SQLite migration
/// v10, PostgreSQL v4), the same on every backend.
@Suite("Conformance: attempt notes and API quotas")
struct QuotasConformanceTests {
    func quotaLedger(_ store: any ConformanceStore) throws -> any QuotaLedger {
        guard let ledger = store as? any QuotaLedger else { throw ConformanceFailure("the backend lacks QuotaLedger") }
        return ledger
    }

    @Test("a recorded outcome's note is stored on its attempt and read back; an outcome without one leaves it nil",
          arguments: Backend.available)
    func attemptNotes(backend: Backend) throws {
        let h = try backend.make()
        let (event, first) = try h.ingest("A", to: [h.erp, h.mail])
        let (_, second) = try h.ingest("B", to: [h.erp])
        let claims = try h.claim(at: 1)
        #expect(Set(claims.map(\.deliveryId)) == [first[0], second[0]])
        let noted = try #require(claims.first { $0.deliveryId == first[0] })
        let plain = try #require(claims.first { $0.deliveryId == second[0] })
        var refreshed = h.outcome(noted, .delivered, at: 2, status: 200)
        refreshed.note = "OAuth token refreshed before sending"
        let retried = h.outcome(plain, .retry(at: Harness.at(60)), at: 2, error: "HTTP 503", status: 503)
        // One batch: the note travels with its own row of the multi-row insert, not its neighbour's.
        #expect(try h.store.record([retried, refreshed], now: Harness.at(2)) == [.recorded(.retrying), .recorded(.delivered)])
        // And a note on a failure, alone.
        let mail = try #require(try h.claim(h.mail, at: 3).first)
        var failed = h.outcome(mail, .retry(at: Harness.at(60)), at: 3, error: "HTTP 401", status: 401)
        failed.note = "OAuth token refreshed after a 401 and sent again"
        #expect(try h.store.record([failed], now: Harness.at(3)) == [.recorded(.retrying)])

        let notedAttempts = try h.store.attempts(delivery: first[0])
        #expect(notedAttempts.map(\.note) == ["OAuth token refreshed before sending"])
        #expect(notedAttempts.map(\.outcome) == [.success])
        #expect(try h.store.attempts(delivery: second[0]).map(\.note) == [nil])
        #expect(try h.store.attempts(delivery: first[1]).map(\.note) == ["OAuth token refreshed after a 401 and sent again"])
        // The event's history reads the same notes.
        let detail = try #require(try h.store.eventDetail(event))
        let byConnector = Dictionary(uniqueKeysWithValues: detail.deliveries.map { ($0.delivery.connectorId, $0.attempts) })
        #expect(byConnector[h.erp]?.map(\.note) == ["OAuth token refreshed before sending"])
        #expect(byConnector[h.mail]?.map(\.note) == ["OAuth token refreshed after a 401 and sent again"])
        #expect(try h.countersAgree() == [])
    }

    @Test("recordQuota creates the row; an older reading does not overwrite a newer one, a newer or equal one does",
          arguments: Backend.available)
    func quotas(backend: Backend) throws {
        let h = try backend.make()
        let ledger = try quotaLedger(h.store)
        #expect(try ledger.quotas() == [])

        let first = APIQuota(connector: h.erp, dayRemaining: 4_990, dayLimit: 5_000, minuteRemaining: 58,
                             appMinuteRemaining: 9_990, observedAt: Harness.at(10).millis)
        try ledger.recordQuota(first)
        #expect(try ledger.quotas() == [first])

        // A reading from an answer that arrived earlier (another node, a slow request) loses.
        let stale = APIQuota(connector: h.erp, dayRemaining: 4_995, dayLimit: 5_000, minuteRemaining: 59,
                             appMinuteRemaining: 9_995, observedAt: Harness.at(5).millis)
        try ledger.recordQuota(stale)
        #expect(try ledger.quotas() == [first])

        // A newer one wins, nil fields included (the provider stopped sending a header).
        let newer = APIQuota(connector: h.erp, dayRemaining: 4_980, dayLimit: nil, minuteRemaining: 57,
                             appMinuteRemaining: nil, observedAt: Harness.at(20).millis)
        try ledger.recordQuota(newer)
        #expect(try ledger.quotas() == [newer])

        // One observed at the same millisecond also wins: the latest answer recorded.
        let same = APIQuota(connector: h.erp, dayRemaining: 4_979, dayLimit: 5_000, minuteRemaining: 56,
                            appMinuteRemaining: 9_970, observedAt: Harness.at(20).millis)
        try ledger.recordQuota(same)
        #expect(try ledger.quotas() == [same])

        // Another connector has a row of its own; quotas() lists every connector's, by connector.
        let mail = APIQuota(connector: h.mail, minuteRemaining: 10, observedAt: Harness.at(15).millis)
        try ledger.recordQuota(mail)
        #expect(try ledger.quotas() == [same, mail].sorted { $0.connector < $1.connector })

        // A second node sees the same readings, and its stale answer loses there too.
        let other = try quotaLedger(try h.openAnother())
        try other.recordQuota(APIQuota(connector: h.erp, dayRemaining: 1, observedAt: Harness.at(19).millis))
        #expect(try other.quotas() == [same, mail].sorted { $0.connector < $1.connector })
    }
}
