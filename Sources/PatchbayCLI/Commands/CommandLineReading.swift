import Foundation
import PatchbayPostgres
import PatchbayStore

/// The reads the commands make (`status`, `failed`, `events`, `show`, `aging`, `rejected`, `import`).
/// Declared here, where they are used; the store conforms.
protocol CommandLineReading: Sendable {
    /// The currency an import assumes when the file names none.
    var homeCurrency: String { get }
    func connectorStatuses() throws -> [ConnectorStatus]
    func failedDeliveries(_ filter: FailureFilter, limit: Int, before cursor: FailureCursor?) throws -> [FailedDelivery]
    func errorGroups(connector: ConnectorID?, limit: Int) throws -> [ErrorGroup]
    func events(_ filter: EventFilter, limit: Int, before: EventID?, textBudget: TextSearchBudget) throws -> EventPage
    func eventDetail(_ id: EventID) throws -> EventDetail?
    func aging(asOf: String, by basis: AgingBasis) throws -> [CurrencyAging]
    func rejections(limit: Int) throws -> [RejectedRequest]
}

extension Store: CommandLineReading {}
extension PostgresStore: CommandLineReading {}
