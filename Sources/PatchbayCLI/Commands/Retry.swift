import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Requeue failed deliveries now, by id or every one a filter selects.",
            discussion: "A delivery that is already pending is left alone, so retrying twice requeues once.")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Delivery ids.") var ids: [Int64] = []
        @Flag(help: "Retry every failing delivery the filter selects.") var all = false
        @OptionGroup var filter: FailureFilterOptions
        @Option(help: "With --all: only this error group (the GROUP column of `failed --group`).") var group: Int64?
        @Option(help: ArgumentHelp(
            "Move the deliveries to this sink connector and requeue them there.",
            discussion: "For a connector removed from or renamed in the configuration: with --all and --connector OLD, "
                + "its pending deliveries move too. Each keeps its id and Idempotency-Key."))
        var to: String?
        @OptionGroup var output: JSONOption

        func validate() throws {
            if to != nil && all && filter.connector == nil {
                throw ValidationError("--to with --all needs --connector: the connector to move deliveries from")
            }
            if ids.isEmpty && !all { throw ValidationError("name delivery ids, or --all (with --connector, --group, --state, --since)") }
            if !all && (group != nil || filter.connector != nil || filter.state != nil || filter.since != nil) {
                throw ValidationError("--connector, --group, --state and --since select deliveries for --all")
            }
            if !ids.isEmpty && all { throw ValidationError("give delivery ids or --all, not both") }
        }

        func run() async throws {
            let store: any OperatorActions & ConnectorCatalog = try database.openStore()
            if let to {
                let result = all
                    ? try store.retarget(matching: try filter.filter(store, now: Date(), group: group), to: to)
                    : try store.retarget(ids, to: to)
                report(result, verb: output.json ? "Requeued" : "Moved to '\(to)' and requeued", json: output.json)
                if !ids.isEmpty && result.changed.isEmpty { throw ExitCode.failure }
                return
            }
            let result = all
                ? try store.retry(matching: try filter.filter(store, now: Date(), group: group))
                : try store.retry(ids)
            report(result, verb: "Requeued", json: output.json)
            if !ids.isEmpty && result.changed.isEmpty { throw ExitCode.failure }
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop trying deliveries: they stay in the log as discarded until retried.")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Delivery ids.") var ids: [Int64] = []
        @Flag(help: "Discard every pending, retrying and dead delivery of --connector.") var all = false
        @Option(help: "With --all: the connector (one removed from the configuration, say).") var connector: String?
        @Option(help: "Why, for the audit trail.") var reason: String?
        @OptionGroup var output: JSONOption

        func validate() throws {
            if ids.isEmpty && !all { throw ValidationError("name delivery ids, or --all --connector C") }
            if !ids.isEmpty && all { throw ValidationError("give delivery ids or --all, not both") }
            if all && connector == nil { throw ValidationError("--all needs --connector: discarding every connector's queue is not offered") }
            if !all && connector != nil { throw ValidationError("--connector selects deliveries for --all") }
        }

        func run() async throws {
            let store: any OperatorActions & ConnectorCatalog = try database.openStore()
            let result = try connector.map { try store.discard(connector: try store.requireConnector($0).id, reason: reason) }
                ?? store.discard(ids, reason: reason)
            report(result, verb: "Discarded", json: output.json)
            if !ids.isEmpty && result.changed.isEmpty { throw ExitCode.failure }
        }
    }
}

func report(_ result: OperatorResult, verb: String, json: Bool) {
    if json {
        emit(JSON.object([
            (verb.lowercased(), .array(result.changed.map { .int($0) })),
            ("skipped", .array(result.skipped.map { ["id": .int($0.id), "reason": .string($0.reason)] })),
        ]).rendered(pretty: true))
        return
    }
    emit("\(verb) \(result.changed.count) deliver\(result.changed.count == 1 ? "y" : "ies").")
    for skip in result.skipped.prefix(20) {
        emit("  skipped \(skip.id): \(skip.reason)")
    }
    if result.skipped.count > 20 { emit("  … and \(result.skipped.count - 20) more skipped") }
}
