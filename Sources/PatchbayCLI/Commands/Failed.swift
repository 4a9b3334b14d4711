import ArgumentParser
import Foundation
import PatchbayStore

/// The filter shared by `failed` and `retry --all`.
struct FailureFilterOptions: ParsableArguments {
    @Option(help: "Only this connector.") var connector: String?
    @Option(help: "Only retrying or only dead deliveries (default: both).") var state: DeliveryState?
    @Option(help: "Only failures within this span (15m, 2h, 7d, 1w).", transform: Duration.parse)
    var since: Duration?

    func validate() throws {
        if let state, state != .retrying, state != .dead {
            throw ValidationError("--state must be retrying or dead, got '\(state.rawValue)'")
        }
    }

    func filter(_ store: some ConnectorCatalog, now: Date, group: Int64?) throws -> FailureFilter {
        var filter = FailureFilter(errorGroupId: group, states: state.map { [$0] } ?? [])
        if let connector { filter.connectorId = try store.requireConnector(connector).id }
        if let since { filter.since = since.before(now) }
        return filter
    }
}

extension Patchbay {
    struct Failed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Failing deliveries (retrying and dead), most recent first, or grouped by error.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var filter: FailureFilterOptions
        @Flag(name: .customLong("group"), help: "Group by error signature, with counts and first/last seen.")
        var grouped = false
        @Option(name: .customLong("in-group"), help: "Only this error group (the GROUP column of `failed --group`).")
        var errorGroup: Int64?
        @Option(help: "How many rows.") var limit = 50
        @OptionGroup var output: JSONOption

        func validate() throws {
            // SQLite reads LIMIT -1 as "no limit": a typo must not print the whole table.
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1 to 10000, got \(limit)") }
        }

        func run() async throws {
            let store: any CommandLineReading & ConnectorCatalog = try database.openStore(readOnly: true)
            let now = Date()
            if grouped {
                let connector = try filter.connector.map { try store.requireConnector($0).id }
                let groups = try store.errorGroups(connector: connector, limit: limit)
                // Money at risk per group and per connector, per currency (one aggregate read).
                let money = try (store as? any HealthReading)?.moneyAtRiskReport()
                if output.json { emit(Render.groups(groups, money: money).rendered(pretty: true)) }
                else if groups.isEmpty { emit("No failing deliveries.") }
                else {
                    emit(Render.groupsTable(groups, now: now, money: money))
                    if let money {
                        var names: [ConnectorID: String] = [:]
                        for group in groups { names[group.connectorId] = group.connector }
                        let shown = MoneyAtRiskReport(total: money.total, byConnector: money.byConnector.filter {
                            names[$0.key] != nil && (connector == nil || $0.key == connector)
                        })
                        let text = Render.moneyByConnector(shown, names: names)
                        if !text.isEmpty { emit("\n" + text) }
                    }
                }
            } else {
                let rows = try store.failedDeliveries(try filter.filter(store, now: now, group: errorGroup), limit: limit,
                                                      before: nil)
                if output.json { emit(Render.failed(rows).rendered(pretty: true)) }
                else { emit(rows.isEmpty ? "No failing deliveries." : Render.failedTable(rows, now: now)) }
            }
        }
    }
}
