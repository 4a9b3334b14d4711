import Foundation
import PatchbayStore
import Testing
import TestSupport
@testable import PatchbayDashboard

@Suite("Idle reload")
struct MinuteReloadTests {
    @Test("with nothing written, a new minute re-reads the data; a tick within the minute does not")
    func newMinuteReloads() throws {
        let harness = try Harness(seed: false)
        let source = try harness.store.saveConnector(.init(name: "s", module: "webhook", pattern: .event, system: "S", direction: .source))
        harness.dashboard.tick(now: fixedNow)
        harness.dashboard.reload()
        #expect(harness.dashboard.state.overview?.eventsToday == 0)
        // Written behind the dashboard's back (no change notification reaches it in this test).
        _ = try harness.store.ingest(NewEvent(topic: "t", sourceId: source.id, idempotencyKey: "k", payload: "{}",
                                              receivedAt: fixedNow, targets: []))
        harness.dashboard.tick(now: fixedNow.addingTimeInterval(30))
        #expect(harness.dashboard.state.overview?.eventsToday == 0)
        harness.dashboard.tick(now: fixedNow.addingTimeInterval(61))
        #expect(harness.dashboard.state.overview?.eventsToday == 1)
    }
}
