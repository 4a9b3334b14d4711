import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause a connector: its deliveries wait in the queue until it is resumed.")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Connector name.") var connector: String
        @Option(help: "Why, shown on the dashboard.") var reason: String?

        func run() async throws {
            let store: any OperatorActions = try database.openStore()
            let changed = try store.setPaused(connector, paused: true, reason: reason)
            emit(changed ? "Paused \(connector)." : "\(connector) was already paused.")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused connector.")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Connector name.") var connector: String

        func run() async throws {
            let store: any OperatorActions = try database.openStore()
            let changed = try store.setPaused(connector, paused: false)
            emit(changed ? "Resumed \(connector)." : "\(connector) was not paused.")
        }
    }
}
