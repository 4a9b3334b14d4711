import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send stored events to a connector again: delivered ones too, or ones it never had (a backfill).",
            discussion: """
                After a mapping bug: `patchbay replay --to xero-invoices --topic order_created --since 2026-11-30T09:00`.
                After adding a connector: `patchbay replay --to warehouse --since 7d`. Each event the connector
                never had gets a new delivery; a delivered, dead or discarded one is sent again with a fresh set
                of attempts; one already waiting or in flight is left alone. Replayed requests carry the
                Idempotency-Key `patchbay-delivery-<id>-replay-<n>`, so a target that dedupes takes them as new.
                They go through the connector's usual concurrency and rate limit. Run with --dry-run first:
                it prints the counts and changes nothing.
                """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The sink connector to send the events to.") var to: String
        @Option(help: "Only events of this topic.") var topic: String?
        @Option(help: "Only events from this source connector.") var source: String?
        @Option(help: "Received since: a span back from now (2h, 7d) or a UTC time (2026-11-30, 2026-11-30T09:00).")
        var since: TimePoint?
        @Option(help: "Received before: a span back from now or a UTC time, as --since.") var until: TimePoint?
        @Option(help: "Only events whose payload contains this text (exact, case-sensitive).") var grep: String?
        @Option(help: "Only events whose delivery to --to is in this state (delivered, dead, discarded, …).")
        var state: [DeliveryState] = []
        @Option(help: "Why, for the audit trail (shown in each delivery's history).") var reason: String?
        @Flag(help: "Count what would be sent and change nothing.") var dryRun = false
        @OptionGroup var output: JSONOption

        func validate() throws {
            if topic == nil && source == nil && since == nil && until == nil && grep == nil && state.isEmpty {
                throw ValidationError("name what to replay: --since, --until, --topic, --source, --grep or --state "
                    + "(to send the whole log again, give --since the date of the first event)")
            }
            if let grep, grep.isEmpty { throw ValidationError("--grep needs some text") }
        }

        func run() async throws {
            let store: any OperatorActions & ConnectorCatalog = try database.openStore()
            let now = Date()
            let filter = ReplayFilter(
                topic: topic, sourceId: try source.map { try store.requireConnector($0).id },
                since: since?.date(now: now), until: until?.date(now: now), text: grep, states: Set(state))
            let result = try store.replay(filter, to: to, reason: reason, dryRun: dryRun, now: now)
            if output.json {
                emit(JSON.object([
                    ("dry_run", .bool(result.dryRun)),
                    ("matched", .int(Int64(result.matched))),
                    ("new", .int(Int64(result.toCreate))),
                    ("created", .array(result.created.map { .int($0) })),
                    ("requeued", .array(result.requeued.map { .int($0) })),
                    ("skipped", .array(result.skipped.map { ["id": .int($0.id), "reason": .string($0.reason)] })),
                ]).rendered(pretty: true))
                return
            }
            let events = "\(result.matched) event\(result.matched == 1 ? "" : "s") matched"
            let detail = "\(result.requeued.count) sent again, \(result.toCreate) new, \(result.skipped.count) already queued"
            if result.dryRun {
                emit("Would replay \(result.queued) to '\(to)' (\(events): \(detail)). Nothing was changed; run without --dry-run to replay.")
            } else {
                emit("Replayed \(result.queued) to '\(to)' (\(events): \(detail)).")
            }
        }
    }
}

/// A moment given on the command line: a span back from now (`2h`, `7d`) or a UTC time
/// (`2026-11-30`, `2026-11-30T09:00`, `2026-11-30T09:00:00Z`).
struct TimePoint: ExpressibleByArgument, Sendable {
    private enum Kind: Sendable {
        case ago(TimeInterval)
        case at(Date)
    }

    private let kind: Kind

    init?(argument: String) {
        if let seconds = Durations.seconds(argument) {
            kind = .ago(seconds)
            return
        }
        guard let date = Self.parseUTC(argument) else { return nil }
        kind = .at(date)
    }

    func date(now: Date) -> Date {
        switch kind {
        case .ago(let seconds): return now.addingTimeInterval(-seconds)
        case .at(let date): return date
        }
    }

    static func parseUTC(_ text: String) -> Date? {
        var value = text.trimmingCharacters(in: .whitespaces)
        if value.count == 10 { value += "T00:00:00Z" }
        if value.count == 16 { value += ":00Z" }
        if value.count == 19 { value += "Z" }
        return try? Date(value, strategy: .iso8601)
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
