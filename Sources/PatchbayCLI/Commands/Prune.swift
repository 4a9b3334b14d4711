import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete finished events older than a retention age; throughput history stays.",
            discussion: "Events with a delivery still pending, retrying or dead are kept.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Keep events younger than this (e.g. 30d, 4w; at most 100 years).", transform: Duration.parse)
        var olderThan: Duration

        func run() async throws {
            let store: any Retention = try database.openStore()
            let deleted = try store.prune(receivedBefore: olderThan.before(Date()))
            emit("Pruned \(deleted) events.")
        }
    }
}
