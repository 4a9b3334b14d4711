import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per connector: pattern, deliveries by state, last success, last error.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: JSONOption

        func run() async throws {
            let store = try database.open(.readOnly)
            let statuses = try store.connectorStatuses()
            if output.json {
                emit(Render.status(statuses).rendered(pretty: true))
            } else if statuses.isEmpty {
                emit("No connectors yet. `patchbay seed` fills a database with sample history.")
            } else {
                emit(Render.statusTable(statuses, now: Date()))
            }
        }
    }
}
