import Foundation
import PatchbayPostgres
import PatchbayStore
import TestSupport

/// The reads this suite needs to see what the roles did, declared here, where they are used.
/// A backend conforms to the roles its consumers use and to this.
protocol ConformanceReading: Sendable {
    func deliveries(connector: ConnectorID) throws -> [Delivery]
    func attempts(delivery: DeliveryID) throws -> [Attempt]
    func eventDetail(_ id: EventID) throws -> EventDetail?
    func events(_ filter: EventFilter, limit: Int, before: EventID?, textBudget: TextSearchBudget) throws -> EventPage
    func aging(asOf: String, by basis: AgingBasis) throws -> [CurrencyAging]
    func batchRuns(limit: Int) throws -> [BatchRun]
    /// Every counter the backend keeps, recounted from the rows: empty when they agree.
    func rollupDifferences(since: Date) throws -> [String]
}

extension Store: ConformanceReading {}
extension PostgresStore: ConformanceReading {}

/// Everything the suite drives: the roles, plus the reads above.
typealias ConformanceStore = EventIngest & DeliveryQueue & ConnectorCatalog & OperatorActions & BatchLedger
    & Retention & ConformanceReading

/// A backend the suite runs against. Each test gets a new, empty database.
///
/// SQLite runs everywhere. PostgreSQL runs where `PATCHBAY_TEST_POSTGRES_URL` names a server that
/// lets its user create databases (`.ci/run` starts one): each test creates a database of its own
/// there and drops it at the end. The suite is written once, against the roles, and every backend
/// must pass all of it.
enum Backend: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    var description: String { rawValue }

    /// The server the PostgreSQL backend is tested on, if this machine has one.
    static var postgresServer: PostgresLocation? {
        guard let url = ProcessInfo.processInfo.environment["PATCHBAY_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return try? PostgresLocation(url: url)
    }

    /// The backends this machine can run. In CI (`CI` set) PostgreSQL must be there: a missing
    /// server fails the suite instead of skipping half of it.
    static var available: [Backend] {
        if postgresServer != nil || ProcessInfo.processInfo.environment["CI"] != nil { return allCases }
        return [.sqlite]
    }

    func make() throws -> Harness {
        switch self {
        case .sqlite:
            let (store, directory) = try makeTestStore(homeCurrency: "EUR")
            return try Harness(store: store, another: {
                try Store.open(at: directory.path("test.sqlite"), mode: .existing)
            }, cleanup: { directory.remove() })
        case .postgres:
            guard let server = Self.postgresServer else {
                throw ConformanceFailure("PATCHBAY_TEST_POSTGRES_URL is not set: CI must start PostgreSQL (scripts/postgres-cluster.sh)")
            }
            let name = "pb_conformance_\(UInt64.random(in: 0...UInt64.max))"
            let location = try PostgresAdmin.createDatabase(name, on: server)
            let store = try PostgresStore.open(location, mode: .create(homeCurrency: "EUR"), maxConnections: 4)
            let others = OpenedStores()
            return try Harness(store: store, another: {
                let other = try PostgresStore.open(location, mode: .existing, maxConnections: 4)
                others.add(other)
                return other
            }, cleanup: {
                store.close()
                others.closeAll()
                try? PostgresAdmin.dropDatabase(name, on: server)
            })
        }
    }
}

/// A fresh database with one source (`shop`) and two sinks (`erp`, `mail`).
final class Harness: @unchecked Sendable {
    let store: any ConformanceStore
    let shop: ConnectorID
    let erp: ConnectorID
    let mail: ConnectorID
    private let cleanup: () -> Void
    /// Opens the same database again, as a second hub node (another process) would.
    let openAnother: () throws -> any ConformanceStore

    /// 2026-11-18 12:00:00 UTC, on an hour boundary.
    static let t0Millis: Int64 = 1_795_003_200_000
    static func at(_ seconds: Int64) -> Date { Date(millis: t0Millis + seconds * 1000) }

    init(store: any ConformanceStore, another: @escaping () throws -> any ConformanceStore,
         cleanup: @escaping () -> Void) throws {
        self.store = store
        self.openAnother = another
        self.cleanup = cleanup
        shop = try store.saveConnector(ConnectorSpec(name: "shop", module: "webhook", pattern: .event, system: "Shopify",
                                                     direction: .source), now: Self.at(0)).id
        erp = try store.saveConnector(ConnectorSpec(name: "erp", module: "http", pattern: .hub, system: "ERP",
                                                    direction: .sink), now: Self.at(0)).id
        mail = try store.saveConnector(ConnectorSpec(name: "mail", module: "exec", pattern: .event, system: "SMTP",
                                                     direction: .sink), now: Self.at(0)).id
    }

    deinit { cleanup() }

    func event(_ key: String, at seconds: Int64 = 0, to targets: [ConnectorID]? = nil, maxAttempts: Int = 3,
               topic: String = "order_created", payload: String? = nil, replay: ReplayGuard? = nil) -> NewEvent {
        NewEvent(topic: topic, sourceId: shop, idempotencyKey: key, payload: payload ?? #"{"order":"\#(key)"}"#,
                 receivedAt: Self.at(seconds), targets: (targets ?? [erp]).map { DeliveryTarget(connectorId: $0, maxAttempts: maxAttempts) },
                 replayGuard: replay)
    }

    /// Ingests one event that must be new; its id and its deliveries in target order.
    @discardableResult
    func ingest(_ key: String, at seconds: Int64 = 0, to targets: [ConnectorID]? = nil, maxAttempts: Int = 3)
        throws -> (event: EventID, deliveries: [DeliveryID]) {
        let result = try store.ingest([event(key, at: seconds, to: targets, maxAttempts: maxAttempts)])[0]
        guard case .accepted(let id, let deliveries) = result else { throw ConformanceFailure("'\(key)' was \(result)") }
        return (id, deliveries)
    }

    func delivery(_ id: DeliveryID, of connector: ConnectorID? = nil) throws -> Delivery {
        for candidate in [connector ?? erp, mail, erp] {
            if let found = try store.deliveries(connector: candidate).first(where: { $0.id == id }) { return found }
        }
        throw ConformanceFailure("delivery \(id) not found")
    }

    func claim(_ connector: ConnectorID? = nil, limit: Int = 10, at seconds: Int64, lease: TimeInterval = 30,
               owner: String = "worker-a") throws -> [Claim] {
        try store.claimDueDeliveries(connector: connector ?? erp, limit: limit, lease: lease, owner: owner, now: Self.at(seconds))
    }

    func outcome(_ claim: Claim, _ result: DeliveryOutcome.Result, at seconds: Int64, error: String? = nil,
                 status: Int? = nil) -> DeliveryOutcome {
        DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: result,
                        startedAt: Self.at(seconds), durationMs: 12, statusCode: status, error: error,
                        errorSignature: error)
    }

    /// Counters must equal a recount from the rows after every step a test takes.
    func countersAgree() throws -> [String] { try store.rollupDifferences(since: Self.at(-86400)) }
}

struct ConformanceFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The extra PostgreSQL stores a test opened, closed when it ends.
final class OpenedStores: @unchecked Sendable {
    private let lock = NSLock()
    private var stores: [PostgresStore] = []
    func add(_ store: PostgresStore) { lock.withLock { stores.append(store) } }
    func closeAll() { for store in lock.withLock({ stores }) { store.close() } }
}
