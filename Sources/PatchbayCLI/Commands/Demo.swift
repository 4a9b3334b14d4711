import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seed a demo database with a week of history and show its status.")

        @Option(help: "The demo database (default: patchbay-demo.sqlite).") var db = "patchbay-demo.sqlite"
        @Option(help: "How many events of history.") var events = 5000

        func run() async throws {
            if FileManager.default.fileExists(atPath: db) {
                let store = try Store.open(at: db)
                emit("Using the existing demo database \(db) (delete it to start over).")
                _ = store
            } else {
                try seedDatabase(at: db, events: events, days: 7, seed: 42)
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
            let aging = try store.aging(asOf: now.formatted(.iso8601.year().month().day()))
            emit("\n" + Render.agingTable(aging))
            emit("\nTry: patchbay failed --group --db \(db)   patchbay show <event id> --db \(db)")
        }
    }
}
