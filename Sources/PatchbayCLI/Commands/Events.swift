import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The integration log, newest first.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Only this topic (e.g. order_created).") var topic: String?
        @Option(help: "Only events from or to this connector.") var connector: String?
        @Option(help: "Only events with a delivery in this state (pending, in_flight, delivered, retrying, dead, discarded).")
        var state: DeliveryState?
        @Option(help: "Only this correlation id (follow one order through every system).") var correlation: String?
        @Option(help: "Only events received within this span (15m, 2h, 7d, 1w).", transform: Duration.parse)
        var since: Duration?
        @Option(help: "Text in the payload or in a delivery's last error.") var grep: String?
        @Option(help: "How many events.") var limit = 50
        @Option(help: "Page: events older than this id (printed at the end of the previous page).") var before: Int64?
        @OptionGroup var output: JSONOption

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1 to 10000, got \(limit)") }
        }

        func run() async throws {
            let store: any CommandLineReading & ConnectorCatalog = try database.openStore(readOnly: true)
            let now = Date()
            var filter = EventFilter(topic: topic, state: state, correlationId: correlation, text: grep)
            if let connector { filter.connectorId = try store.requireConnector(connector).id }
            if let since { filter.since = since.before(now) }
            // A command can take its time: a text search reads the whole log if it must (the
            // dashboard's pages stop after about 50 ms instead).
            let page = try store.events(filter, limit: limit, before: before, textBudget: .unbounded)
            if output.json {
                emit(Render.events(page).rendered(pretty: true))
            } else if page.events.isEmpty, page.partial, let next = page.nextCursor {
                emit("No events match down to event \(next) (the search stops early to answer quickly); older: --before \(next)")
            } else if page.events.isEmpty {
                emit("No events match.")
            } else {
                emit(Render.eventsTable(page, now: now))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The full history of one event: payload, deliveries, every attempt and transition.")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The event id.") var eventId: Int64
        @OptionGroup var output: JSONOption

        func run() async throws {
            let store: any CommandLineReading & ConnectorCatalog = try database.openStore(readOnly: true)
            guard let detail = try store.eventDetail(eventId) else { throw StoreError.unknownEvent(eventId) }
            emit(output.json ? Render.eventDetail(detail).rendered(pretty: true) : Render.eventDetailText(detail))
        }
    }
}
