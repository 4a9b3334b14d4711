import PatchbayPostgres
import PatchbayStore

/// Queue depth by connector and state, for `/metrics` (read from a rollup: O(connectors)).
public protocol QueueDepthReading: Sendable {
    func deliveryCountsByConnector() throws -> [ConnectorID: [DeliveryState: Int]]
}

/// How an operator names this database on the command line (`--db`), for warnings that print commands.
public protocol DatabaseLocation: Sendable {
    var path: String { get }
}

/// Everything `patchbay run` asks of its store, role by role: the server ingests, workers claim and
/// record, maintenance recovers leases and prunes, batch schedules read and write their runs.
public typealias HubStore = EventIngest & DeliveryQueue & ConnectorCatalog & Retention & BatchLedger
    & QueueDepthReading & DatabaseLocation & AlertLedger & AlertReading & CircuitBreaking & BatchRunRequests & TokenVault
    & QuotaLedger

extension Store: QueueDepthReading, DatabaseLocation {}
extension PostgresStore: QueueDepthReading, DatabaseLocation {}
