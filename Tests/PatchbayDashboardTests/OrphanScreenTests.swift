import Foundation
import PatchbayDashboard
import PatchbayStore
import TerminalUI
import Testing

/// A connector the hub's configuration no longer names shows as `orphaned`, and the header counts it.
@Suite("Orphaned connectors on screen")
struct OrphanScreenTests {
    @Test("the connectors view shows an orphaned sink's health, and the header counts orphans")
    func orphanedHealthAndCount() throws {
        let harness = try Harness()
        let sinks = try harness.store.connectorStatuses().filter { $0.connector.direction == .sink }
        let orphan = try #require(sinks.first { $0.count(.retrying) + $0.count(.pending) > 0 } ?? sinks.first)
        let configured = Set(try harness.store.connectors().map(\.name)).subtracting([orphan.connector.name])
        try harness.store.markOrphanedConnectors(configured: configured, now: fixedNow)
        harness.dashboard.reload()
        #expect(harness.screen(120, 40).text.contains(" 1 orphaned"))

        harness.press(.character("2"))
        let row = try #require(harness.screen(120, 40).lines().first { $0.contains(orphan.connector.name) })
        #expect(row.contains("orphaned"), "\(row)")
        // The header (first line) counts it; below it, only its own row says so.
        #expect(harness.screen(120, 40).lines().dropFirst().filter { $0.contains("orphaned") }.count == 1)
    }
}
