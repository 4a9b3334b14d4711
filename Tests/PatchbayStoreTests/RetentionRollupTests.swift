import Foundation
import PatchbayStore
import Testing
import TestSupport

@Suite("Minute rollup retention")
struct RetentionRollupTests {
    @Test("minute rows older than the cutoff go, in batches; hourly rows and recent minutes stay")
    func pruneMinutes() throws {
        let (store, directory) = try makeTestStore()
        defer { directory.remove() }
        let source = try store.saveConnector(ConnectorSpec(name: "s", module: "webhook", pattern: .event, system: "S", direction: .source))
        let now = Date(timeIntervalSince1970: 1_795_600_000)
        var events: [NewEvent] = []
        for day in 0..<10 {
            for minute in 0..<3 {
                let at = now.addingTimeInterval(-Double(day) * 86400 - Double(minute) * 60)
                events.append(NewEvent(topic: "t", sourceId: source.id, idempotencyKey: "\(day)-\(minute)", payload: "{}",
                                       receivedAt: at, targets: []))
            }
        }
        _ = try store.ingest(events)
        let weekAgo = now.addingTimeInterval(-8 * 86400 + 3600)
        let before = try store.receivedCount(since: now.addingTimeInterval(-20 * 86400))
        let deleted = try store.pruneMinuteRollups(before: weekAgo, batchSize: 2)
        #expect(deleted == 6)  // days 8 and 9, three minutes each
        // Hourly history is untouched, so long-range counts do not change.
        #expect(try store.receivedCount(since: now.addingTimeInterval(-20 * 86400)) == before)
        #expect(try store.pruneMinuteRollups(before: weekAgo) == 0)
    }
}
