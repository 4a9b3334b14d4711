import Foundation

/// A target connector an event fans out to.
public struct DeliveryTarget: Sendable, Equatable {
    public var connectorId: ConnectorID
    public var maxAttempts: Int

    public init(connectorId: ConnectorID, maxAttempts: Int) {
        self.connectorId = connectorId
        self.maxAttempts = max(1, maxAttempts)
    }
}

/// An event as a source hands it to the store.
public struct NewEvent: Sendable, Equatable {
    public var topic: String
    public var sourceId: ConnectorID
    /// The sender's id for this message (a webhook delivery id, a row key): a second event with the
    /// same key from the same source is the same event.
    public var idempotencyKey: String
    /// JSON text.
    public var payload: String
    public var receivedAt: Date
    public var occurredAt: Date?
    public var correlationId: String?
    public var targets: [DeliveryTarget]
    /// For senders whose signature covers the body only: the same signed body from the same source
    /// within the window is a replay, stored as a duplicate whatever its key or topic says.
    public var replayGuard: ReplayGuard?

    public init(topic: String, sourceId: ConnectorID, idempotencyKey: String, payload: String,
                receivedAt: Date = Date(), occurredAt: Date? = nil, correlationId: String? = nil,
                targets: [DeliveryTarget], replayGuard: ReplayGuard? = nil) {
        self.topic = topic
        self.sourceId = sourceId
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.receivedAt = receivedAt
        self.occurredAt = occurredAt
        self.correlationId = correlationId
        self.targets = targets
        self.replayGuard = replayGuard
    }
}

/// A signed body's digest and how long a repeat of it counts as a replay.
public struct ReplayGuard: Sendable, Equatable {
    public var digest: String
    public var window: TimeInterval

    public init(digest: String, window: TimeInterval) {
        self.digest = digest
        self.window = window
    }
}

public enum IngestResult: Sendable, Equatable {
    /// Stored, with one pending delivery per target.
    case accepted(EventID, deliveries: [DeliveryID])
    /// The source had already sent this key; nothing was written.
    case duplicate(EventID)

    public var eventId: EventID {
        switch self {
        case .accepted(let id, _), .duplicate(let id): return id
        }
    }
}

/// A request a source refused, kept so that refusals are counted and visible, never silent.
public struct NewRejection: Sendable, Equatable {
    public var connectorId: ConnectorID?
    public var receivedAt: Date
    public var status: Int
    public var reason: String
    public var remote: String?
    public var path: String
    public var bodyBytes: Int
    /// The start of the body, as text; stored for the operator, never interpreted.
    public var bodyExcerpt: String?
    /// False for a refusal above the detail rate (a flood): it is counted in the per-minute
    /// rollups but no row is stored, so refused requests cannot grow the database without bound.
    public var keepDetail: Bool

    public init(connectorId: ConnectorID?, receivedAt: Date, status: Int, reason: String, remote: String?,
                path: String, bodyBytes: Int, bodyExcerpt: String?, keepDetail: Bool = true) {
        self.connectorId = connectorId
        self.receivedAt = receivedAt
        self.status = status
        self.reason = reason
        self.remote = remote
        self.path = path
        self.bodyBytes = bodyBytes
        self.bodyExcerpt = bodyExcerpt
        self.keepDetail = keepDetail
    }
}

public struct RejectedRequest: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var connectorId: ConnectorID?
    public var receivedAt: Int64
    public var status: Int
    public var reason: String
    public var remote: String?
    public var path: String
    public var bodyBytes: Int
    public var bodyExcerpt: String?

    public init(id: Int64, connectorId: ConnectorID? = nil, receivedAt: Int64, status: Int, reason: String,
                remote: String? = nil, path: String, bodyBytes: Int, bodyExcerpt: String? = nil) {
        self.id = id
        self.connectorId = connectorId
        self.receivedAt = receivedAt
        self.status = status
        self.reason = reason
        self.remote = remote
        self.path = path
        self.bodyBytes = bodyBytes
        self.bodyExcerpt = bodyExcerpt
    }
}

extension NewEvent {
    /// The largest payload a store accepts, in bytes. Sources enforce their own, smaller limits.
    public static let maxPayloadBytes = 4 * 1024 * 1024

    /// Checks what every backend refuses before it writes anything, naming the event by its place in
    /// the batch and its key.
    public func validate(index: Int) throws {
        let event = self
        func bad(_ what: String) -> StoreError {
            .invalidInput("event \(index + 1) (key '\(event.idempotencyKey.prefix(80))'): \(what)")
        }
        if event.topic.isEmpty || event.topic.utf8.count > 200 { throw bad("topic must be 1 to 200 bytes") }
        if event.idempotencyKey.isEmpty || event.idempotencyKey.utf8.count > 500 {
            throw bad("idempotency key must be 1 to 500 bytes")
        }
        if event.payload.utf8.count > Self.maxPayloadBytes {
            throw bad("payload is \(event.payload.utf8.count) bytes, over the store's limit of \(Self.maxPayloadBytes)")
        }
        if Set(event.targets.map(\.connectorId)).count != event.targets.count {
            throw bad("a target connector is listed twice")
        }
    }
}
