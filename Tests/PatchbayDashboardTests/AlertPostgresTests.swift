import Foundation
import PatchbayDashboard
import PatchbayPostgres
import PatchbayStore
import TerminalUI
import Testing

/// The same header and view over PostgreSQL, through `DashboardBacking`: where
/// `PATCHBAY_TEST_POSTGRES_URL` names a server (`scripts/postgres-cluster.sh start`, as `.ci/run` does).
@Suite("alerts over PostgreSQL: the header and view 9 read through DashboardBacking")
struct AlertPostgresTests {
    static let server: PostgresLocation? = ProcessInfo.processInfo.environment["PATCHBAY_TEST_POSTGRES_URL"]
        .flatMap { $0.isEmpty ? nil : try? PostgresLocation(url: $0) }

    @Test("firing alerts are counted in the header and listed first, as on SQLite", .enabled(if: server != nil))
    func postgres() throws {
        let server = try #require(Self.server)
        let name = "pb_dashboard_\(UInt64.random(in: 0...UInt64.max))"
        let location = try PostgresAdmin.createDatabase(name, on: server)
        defer { try? PostgresAdmin.dropDatabase(name, on: server) }
        let store = try PostgresStore.open(location, mode: .create(homeCurrency: "EUR"), maxConnections: 4)
        defer { store.close() }
        let old = try store.fireAlert(AlertFinding(rule: "erp-down", kind: .connectorFailing, subject: "erp",
                                                   summary: "erp failing for 12m"), now: fixedNow.addingTimeInterval(-7200))
        try store.resolveAlert(old.id, summary: "erp delivers again", now: fixedNow.addingTimeInterval(-3600))
        _ = try store.fireAlert(AlertFinding(rule: "dead-letters", kind: .deadLetters, subject: "*",
                                             summary: "3 dead deliveries"), now: fixedNow.addingTimeInterval(-300))
        let executor = ImmediateExecutor()
        let dashboard = Dashboard(reader: store, actor: store, executor: executor,
                                  databasePath: "postgres://postgres@127.0.0.1/\(name)", now: fixedNow)
        executor.dashboard = dashboard
        dashboard.reload()
        #expect(dashboard.state.loadError == nil)
        #expect(dashboard.render(size: Size(width: 80, height: 24)).lines()[0].contains("ALERTS 1"))
        dashboard.handle(.key(.character("9")))
        #expect(dashboard.state.alertRows.map(\.rule) == ["dead-letters", "erp-down"])
        let text = dashboard.render(size: Size(width: 120, height: 40)).text
        #expect(text.contains("firing   dead-letters") && text.contains("resolved erp-down"))
    }
}
