import Crypto
import Foundation
import GRDB

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

    public init(topic: String, sourceId: ConnectorID, idempotencyKey: String, payload: String,
                receivedAt: Date = Date(), occurredAt: Date? = nil, correlationId: String? = nil,
                targets: [DeliveryTarget]) {
        self.topic = topic
        self.sourceId = sourceId
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.receivedAt = receivedAt
        self.occurredAt = occurredAt
        self.correlationId = correlationId
        self.targets = targets
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

extension Store {
    /// Stores one event and its deliveries, atomically; idempotent on (source, key).
    public func ingest(_ event: NewEvent) throws -> IngestResult {
        try ingest([event])[0]
    }

    /// Stores a batch of events in one durable transaction (group commit).
    ///
    /// Either every event of the batch is stored or none is: a bad event fails the whole batch with
    /// an error naming it, so a caller can acknowledge exactly what was committed.
    public func ingest(_ events: [NewEvent]) throws -> [IngestResult] {
        for (index, event) in events.enumerated() {
            try Self.validate(event, index: index)
        }
        return try write { db in try events.map { try Self.ingest($0, db: db) } }
    }

    static func validate(_ event: NewEvent, index: Int) throws {
        func bad(_ what: String) -> StoreError {
            .invalidInput("event \(index + 1) (key '\(event.idempotencyKey.prefix(80))'): \(what)")
        }
        if event.topic.isEmpty || event.topic.utf8.count > 200 { throw bad("topic must be 1 to 200 bytes") }
        if event.idempotencyKey.isEmpty || event.idempotencyKey.utf8.count > 500 {
            throw bad("idempotency key must be 1 to 500 bytes")
        }
        if event.payload.utf8.count > Schema.maxPayloadBytes {
            throw bad("payload is \(event.payload.utf8.count) bytes, over the store's limit of \(Schema.maxPayloadBytes)")
        }
        if Set(event.targets.map(\.connectorId)).count != event.targets.count {
            throw bad("a target connector is listed twice")
        }
    }

    static func ingest(_ event: NewEvent, db: Database) throws -> IngestResult {
        let received = event.receivedAt.millis
        let insert = try db.cachedStatement(sql: """
            INSERT INTO events(topic, source_id, received_at, occurred_at, correlation_id,
                               idempotency_key, payload, payload_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(source_id, idempotency_key) DO NOTHING
            """)
        do {
            try insert.execute(arguments: [
                event.topic, event.sourceId, received, event.occurredAt?.millis, event.correlationId,
                event.idempotencyKey, event.payload, payloadHash(event.payload),
            ])
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            if error.message?.contains("json_valid") == true || error.message?.contains("CHECK") == true {
                throw StoreError.invalidInput("event '\(event.idempotencyKey.prefix(80))': payload is not valid JSON")
            }
            if error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
                throw StoreError.invalidInput("event '\(event.idempotencyKey.prefix(80))': unknown source connector id \(event.sourceId)")
            }
            throw error
        }
        if db.changesCount == 0 {
            let existing = try EventID.fetchOne(
                db, sql: "SELECT id FROM events WHERE source_id = ? AND idempotency_key = ?",
                arguments: [event.sourceId, event.idempotencyKey])
            return .duplicate(existing!)
        }
        let eventId = db.lastInsertedRowID
        let deliver = try db.cachedStatement(sql: """
            INSERT INTO deliveries(event_id, connector_id, state, max_attempts, next_attempt_at, created_at, updated_at)
            VALUES (?, ?, 'pending', ?, ?, ?, ?)
            """)
        var deliveries: [DeliveryID] = []
        deliveries.reserveCapacity(event.targets.count)
        for target in event.targets {
            do {
                try deliver.execute(arguments: [eventId, target.connectorId, target.maxAttempts, received, received, received])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
                throw StoreError.invalidInput("event '\(event.idempotencyKey.prefix(80))': unknown target connector id \(target.connectorId)")
            }
            deliveries.append(db.lastInsertedRowID)
        }
        return .accepted(eventId, deliveries: deliveries)
    }

    /// Hex SHA-256 of the payload's UTF-8 bytes.
    public static func payloadHash(_ payload: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: Data(payload.utf8)) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
