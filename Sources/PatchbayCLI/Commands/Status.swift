import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per connector: pattern, health (orphaned: not in the hub's configuration), deliveries by state, last success, last error.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: JSONOption

        func run() async throws {
            let store: any CommandLineReading = try database.openStore(readOnly: true)
            let statuses = try store.connectorStatuses()
            if output.json {
                emit(Render.status(statuses).rendered(pretty: true))
            } else if statuses.isEmpty {
                emit("No connectors yet. `patchbay seed` fills a database with sample history.")
            } else {
                emit(Render.statusTable(statuses, now: Date()))
                for status in statuses where status.connector.health == .orphaned {
                    let waiting = status.count(.pending) + status.count(.inFlight) + status.count(.retrying)
                    guard waiting > 0 else { continue }
                    emit("\(status.connector.name) is orphaned (not in the configuration the hub last ran with): "
                        + "\(waiting) unfinished deliver\(waiting == 1 ? "y" : "ies") will not be sent. "
                        + "patchbay retry --all --connector \(status.connector.name) --to NEW, "
                        + "or patchbay discard --all --connector \(status.connector.name)")
                }
            }
        }
    }
}
