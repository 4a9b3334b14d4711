import Foundation

public typealias ConnectorID = Int64
public typealias EventID = Int64
public typealias DeliveryID = Int64

/// How a connector takes part in an integration.
public enum IntegrationPattern: String, Codable, Sendable, CaseIterable {
    case pointToPoint = "point_to_point"
    case hub
    case event
    case batch
}

public enum ConnectorDirection: String, Codable, Sendable, CaseIterable {
    case source
    case sink
}

public enum ConnectorHealth: String, Codable, Sendable, CaseIterable {
    case unknown, healthy, degraded, failing
    /// Not in the configuration the hub last started with: no worker sends its deliveries. Read from
    /// `connectors.orphaned_at` (migration v5), never stored in the `health` column.
    case orphaned
}

/// Who paused a connector (`connectors.paused_by`, SQLite migration v8, PostgreSQL v2).
public enum PauseCause: String, Codable, Sendable, CaseIterable {
    /// `patchbay pause` or the dashboard's `p`: stays until an operator resumes it.
    case `operator`
    /// The circuit breaker: its last attempts all failed; probes resume it by themselves.
    case breaker
    /// The hub, after the target answered 410 Gone: an operator must resume it.
    case gone
    /// The hub, after an OAuth refresh failed for good (`invalid_grant`): sign in again to resume.
    case auth
}

/// The states of a delivery. See docs/ARCHITECTURE.md for the machine.
public enum DeliveryState: String, Codable, Sendable, CaseIterable {
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
public enum Actor: String, Codable, Sendable, CaseIterable {
    case worker, operator_ = "operator", system
}

public enum AttemptOutcome: String, Codable, Sendable {
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
    /// Who paused it, when paused: an operator, the circuit breaker, or the hub on a 410.
    public var pausedBy: PauseCause?
    public var health: ConnectorHealth
    public var maxAttempts: Int?
    public var lastSuccessAt: Int64?
    public var lastErrorAt: Int64?
    public var lastError: String?
    public var createdAt: Int64

    public init(id: ConnectorID, name: String, module: String, pattern: IntegrationPattern, system: String,
                direction: ConnectorDirection, paused: Bool, pausedReason: String? = nil, health: ConnectorHealth,
                maxAttempts: Int? = nil, lastSuccessAt: Int64? = nil, lastErrorAt: Int64? = nil,
                lastError: String? = nil, createdAt: Int64, pausedBy: PauseCause? = nil) {
        self.id = id
        self.name = name
        self.module = module
        self.pattern = pattern
        self.system = system
        self.direction = direction
        self.paused = paused
        self.pausedReason = pausedReason
        self.pausedBy = paused ? (pausedBy ?? .operator) : nil
        self.health = health
        self.maxAttempts = maxAttempts
        self.lastSuccessAt = lastSuccessAt
        self.lastErrorAt = lastErrorAt
        self.lastError = lastError
        self.createdAt = createdAt
    }
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

    public init(id: EventID, topic: String, sourceId: ConnectorID, receivedAt: Int64, occurredAt: Int64? = nil,
                correlationId: String? = nil, idempotencyKey: String, payload: String, payloadHash: String) {
        self.id = id
        self.topic = topic
        self.sourceId = sourceId
        self.receivedAt = receivedAt
        self.occurredAt = occurredAt
        self.correlationId = correlationId
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.payloadHash = payloadHash
    }
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

    public init(id: DeliveryID, eventId: EventID, connectorId: ConnectorID, state: DeliveryState, attempts: Int,
                maxAttempts: Int, nextAttemptAt: Int64? = nil, leaseOwner: String? = nil, leaseToken: Int64? = nil,
                leaseExpiresAt: Int64? = nil, lastError: String? = nil, lastStatus: Int? = nil,
                errorSignature: String? = nil, createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.eventId = eventId
        self.connectorId = connectorId
        self.state = state
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.nextAttemptAt = nextAttemptAt
        self.leaseOwner = leaseOwner
        self.leaseToken = leaseToken
        self.leaseExpiresAt = leaseExpiresAt
        self.lastError = lastError
        self.lastStatus = lastStatus
        self.errorSignature = errorSignature
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
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
    /// What the sink did around the send (an OAuth token refreshed), from `DeliveryOutcome.note`.
    public var note: String?

    public init(id: Int64, deliveryId: DeliveryID, number: Int, startedAt: Int64, durationMs: Int64,
                outcome: AttemptOutcome, statusCode: Int? = nil, error: String? = nil, responseExcerpt: String? = nil,
                note: String? = nil) {
        self.note = note
        self.id = id
        self.deliveryId = deliveryId
        self.number = number
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.outcome = outcome
        self.statusCode = statusCode
        self.error = error
        self.responseExcerpt = responseExcerpt
    }
}

public struct Transition: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var deliveryId: DeliveryID
    public var at: Int64
    public var fromState: DeliveryState
    public var toState: DeliveryState
    public var actor: Actor
    public var reason: String?

    public init(id: Int64, deliveryId: DeliveryID, at: Int64, fromState: DeliveryState, toState: DeliveryState,
                actor: Actor, reason: String? = nil) {
        self.id = id
        self.deliveryId = deliveryId
        self.at = at
        self.fromState = fromState
        self.toState = toState
        self.actor = actor
        self.reason = reason
    }
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

    public init(id: Int64, connectorId: ConnectorID, connector: String, signature: String, sampleError: String,
                lastStatus: Int? = nil, retrying: Int, dead: Int, occurrences: Int, firstSeen: Int64, lastSeen: Int64) {
        self.id = id
        self.connectorId = connectorId
        self.connector = connector
        self.signature = signature
        self.sampleError = sampleError
        self.lastStatus = lastStatus
        self.retrying = retrying
        self.dead = dead
        self.occurrences = occurrences
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }
}

public enum InvoiceKind: String, Codable, Sendable {
    case invoice
    case creditMemo = "credit_memo"
    case payment
    case other
}

public enum InvoiceStatus: String, Codable, Sendable {
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

    public init(id: Int64, sourceId: ConnectorID, externalId: String, number: String, kind: InvoiceKind,
                customer: String, currency: String, issueDate: String, dueDate: String, totalMinor: Int64,
                openMinor: Int64, status: InvoiceStatus, syncedAt: Int64) {
        self.id = id
        self.sourceId = sourceId
        self.externalId = externalId
        self.number = number
        self.kind = kind
        self.customer = customer
        self.currency = currency
        self.issueDate = issueDate
        self.dueDate = dueDate
        self.totalMinor = totalMinor
        self.openMinor = openMinor
        self.status = status
        self.syncedAt = syncedAt
    }
}

public enum BatchRunStatus: String, Codable, Sendable {
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

    public init(id: Int64, job: String, connectorId: ConnectorID? = nil, startedAt: Int64, finishedAt: Int64? = nil,
                status: BatchRunStatus, rowsRead: Int, rowsLoaded: Int, rowsRejected: Int, cursor: String? = nil,
                error: String? = nil, input: String? = nil) {
        self.id = id
        self.job = job
        self.connectorId = connectorId
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.rowsRead = rowsRead
        self.rowsLoaded = rowsLoaded
        self.rowsRejected = rowsRejected
        self.cursor = cursor
        self.error = error
        self.input = input
    }
}
