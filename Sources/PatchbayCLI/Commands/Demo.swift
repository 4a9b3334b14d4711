import ArgumentParser
import Foundation
import PatchbayDashboard
import PatchbayStore

extension Patchbay {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seed a demo database with a week of integration history and open the dashboard on it.",
            discussion: """
                The database is created once (delete it to start over). Without a terminal, or with
                --headless, it prints the status, failures and aging instead of opening the dashboard.
                """)

        @Option(help: "The demo database.") var db = "patchbay-demo.sqlite"
        @Option(help: "How many events of history.") var events = 5000
        @Flag(help: "Print a summary instead of opening the dashboard.") var headless = false
        @Option(help: "Dashboard theme (see `patchbay dash --help`).") var theme: String?

        func run() async throws {
            if FileManager.default.fileExists(atPath: db) {
                _ = try Store.open(at: db)
                emit("Using the existing demo database \(db) (delete it to start over).")
            } else {
                try seedDatabase(at: db, events: events, days: 7, seed: 42)
            }
            if !headless && isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 {
                try DashboardRunner.run(.init(databasePath: db, theme: theme))
                return
            }
            let store = try Store.open(at: db, mode: .readOnly)
            let now = Date()
            emit("")
            emit(Render.statusTable(try store.connectorStatuses(), now: now))
            let groups = try store.errorGroups(limit: 8)
            if !groups.isEmpty {
                emit("\nFailing now, by error:")
                emit(Render.groupsTable(groups, now: now))
            }
            let aging = try store.aging(asOf: now.isoDay)
            emit("\n" + Render.agingTable(aging))
            emit("\nOpen the dashboard: patchbay --db \(db)   Drill in: patchbay failed --group --db \(db)")
        }
    }
}
