import Foundation
import GRDB

public typealias ConnectorID = Int64
public typealias EventID = Int64
public typealias DeliveryID = Int64

/// How a connector takes part in an integration.
public enum IntegrationPattern: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case pointToPoint = "point_to_point"
    case hub
    case event
    case batch
}

public enum ConnectorDirection: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case source
    case sink
}

public enum ConnectorHealth: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case unknown, healthy, degraded, failing
    /// Not in the configuration the hub last started with: no worker sends its deliveries. Read from
    /// `connectors.orphaned_at` (migration v5), never stored in the `health` column.
    case orphaned
}

/// The states of a delivery. See docs/ARCHITECTURE.md for the machine.
public enum DeliveryState: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case pending
    case inFlight = "in_flight"
    case delivered
    case retrying
    case dead
    case discarded

    /// States a worker may claim.
    public var isDue: Bool { self == .pending || self == .retrying }
    /// States an operator's retry can requeue.
    public var isRequeueable: Bool { self == .retrying || self == .dead || self == .discarded }
    /// States an operator may discard.
    public var isDiscardable: Bool { self == .pending || self == .retrying || self == .dead }
    /// States an operator may move to another connector (and requeue there): every state no worker
    /// holds and that has not been delivered.
    public var isRetargetable: Bool { self == .pending || isRequeueable }
}

/// Who changed a delivery's state.
public enum Actor: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case worker, operator_ = "operator", system
}

public enum AttemptOutcome: String, Codable, Sendable, DatabaseValueConvertible {
    case success
    case failure
    case leaseExpired = "lease_expired"
}

/// An integration endpoint.
public struct Connector: Codable, Sendable, Equatable, Identifiable {
    public var id: ConnectorID
    public var name: String
    public var module: String
    public var pattern: IntegrationPattern
    public var system: String
    public var direction: ConnectorDirection
    public var paused: Bool
    public var pausedReason: String?
    public var health: ConnectorHealth
    public var maxAttempts: Int?
    public var lastSuccessAt: Int64?
    public var lastErrorAt: Int64?
    public var lastError: String?
    public var createdAt: Int64
}

extension Connector: FetchableRecord, TableRecord {
    public static let databaseTableName = "connectors"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

/// What a caller knows of a connector before it is stored.
public struct ConnectorSpec: Sendable, Equatable {
    public var name: String
    public var module: String
    public var pattern: IntegrationPattern
    public var system: String
    public var direction: ConnectorDirection
    public var maxAttempts: Int?

    public init(name: String, module: String, pattern: IntegrationPattern, system: String,
                direction: ConnectorDirection, maxAttempts: Int? = nil) {
        self.name = name
        self.module = module
        self.pattern = pattern
        self.system = system
        self.direction = direction
        self.maxAttempts = maxAttempts
    }
}

/// One entry of the integration log.
public struct Event: Codable, Sendable, Equatable, Identifiable {
    public var id: EventID
    public var topic: String
    public var sourceId: ConnectorID
    public var receivedAt: Int64
    public var occurredAt: Int64?
    public var correlationId: String?
    public var idempotencyKey: String
    public var payload: String
    public var payloadHash: String
}

extension Event: FetchableRecord, TableRecord {
    public static let databaseTableName = "events"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

public struct Delivery: Codable, Sendable, Equatable, Identifiable {
    public var id: DeliveryID
    public var eventId: EventID
    public var connectorId: ConnectorID
    public var state: DeliveryState
    public var attempts: Int
    public var maxAttempts: Int
    public var nextAttemptAt: Int64?
    public var leaseOwner: String?
    public var leaseToken: Int64?
    public var leaseExpiresAt: Int64?
    public var lastError: String?
    public var lastStatus: Int?
    public var errorSignature: String?
    public var createdAt: Int64
    public var updatedAt: Int64
}

extension Delivery: FetchableRecord, TableRecord {
    public static let databaseTableName = "deliveries"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

public struct Attempt: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var deliveryId: DeliveryID
    public var number: Int
    public var startedAt: Int64
    public var durationMs: Int64
    public var outcome: AttemptOutcome
    public var statusCode: Int?
    public var error: String?
    public var responseExcerpt: String?
}

extension Attempt: FetchableRecord, TableRecord {
    public static let databaseTableName = "attempts"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

public struct Transition: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var deliveryId: DeliveryID
    public var at: Int64
    public var fromState: DeliveryState
    public var toState: DeliveryState
    public var actor: Actor
    public var reason: String?
}

extension Transition: FetchableRecord, TableRecord {
    public static let databaseTableName = "transitions"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

/// Failures that share a normalised error text, for one connector.
public struct ErrorGroup: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var connectorId: ConnectorID
    public var connector: String
    public var signature: String
    public var sampleError: String
    public var lastStatus: Int?
    public var retrying: Int
    public var dead: Int
    public var occurrences: Int
    public var firstSeen: Int64
    public var lastSeen: Int64

    /// Deliveries currently failing with this error.
    public var count: Int { retrying + dead }
}

extension ErrorGroup: FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

public enum InvoiceKind: String, Codable, Sendable, DatabaseValueConvertible {
    case invoice
    case creditMemo = "credit_memo"
    case payment
    case other
}

public enum InvoiceStatus: String, Codable, Sendable, DatabaseValueConvertible {
    case open, paid, closed
}

/// A receivable synced from an accounting system. Amounts are in minor units of `currency`.
public struct Invoice: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var sourceId: ConnectorID
    public var externalId: String
    public var number: String
    public var kind: InvoiceKind
    public var customer: String
    public var currency: String
    public var issueDate: String
    public var dueDate: String
    public var totalMinor: Int64
    public var openMinor: Int64
    public var status: InvoiceStatus
    public var syncedAt: Int64
}

extension Invoice: FetchableRecord, TableRecord {
    public static let databaseTableName = "invoices"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

public enum BatchRunStatus: String, Codable, Sendable, DatabaseValueConvertible {
    case running, succeeded, failed
}

public struct BatchRun: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var job: String
    public var connectorId: ConnectorID?
    public var startedAt: Int64
    public var finishedAt: Int64?
    public var status: BatchRunStatus
    public var rowsRead: Int
    public var rowsLoaded: Int
    public var rowsRejected: Int
    public var cursor: String?
    public var error: String?
    /// What the run read (a file's path and digest): an unfinished run over the same input resumes.
    public var input: String?
}

extension BatchRun: FetchableRecord, TableRecord {
    public static let databaseTableName = "batch_runs"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension Date {
    /// The UTC calendar day, `2026-11-25`: the form of invoice dates and `--as-of`.
    public var isoDay: String { formatted(.iso8601.year().month().day()) }

    /// Midnight UTC of this date's day.
    public var startOfUTCDay: Date {
        Date(timeIntervalSince1970: (timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }

    /// Milliseconds since 1970, the unit of every time column.
    public var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    public init(millis: Int64) {
        self.init(timeIntervalSince1970: Double(millis) / 1000)
    }
}
