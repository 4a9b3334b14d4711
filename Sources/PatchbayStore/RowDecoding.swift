import GRDB

// Records decoded by hand instead of through `Codable` with `convertFromSnakeCase`, which maps every
// column name of every row: a failed list of 1,000 rows took 27 ms that way, and 3–5 ms decoded by
// hand (docs/BENCHMARKS.md, "Reads: decoding"). Records keep `Codable` for JSON.
//
// `init(row:)` reads columns by name, so any SELECT that names the columns still works. The store's
// own list reads, whose SELECT lists are written beside their decoders, read by column index.

extension Connector {
    public init(row: Row) throws {
        try self.init(
            id: row.decode(forColumn: "id"),
            name: row.decode(forColumn: "name"),
            module: row.decode(forColumn: "module"),
            pattern: row.decode(forColumn: "pattern"),
            system: row.decode(forColumn: "system"),
            direction: row.decode(forColumn: "direction"),
            paused: row.decode(forColumn: "paused"),
            pausedReason: row.decode(forColumn: "paused_reason"),
            health: row.decode(forColumn: "health"),
            maxAttempts: row.decode(forColumn: "max_attempts"),
            lastSuccessAt: row.decode(forColumn: "last_success_at"),
            lastErrorAt: row.decode(forColumn: "last_error_at"),
            lastError: row.decode(forColumn: "last_error"),
            createdAt: row.decode(forColumn: "created_at"),
            // Absent from SELECTs written before migration v8; NULL for an unpaused connector.
            pausedBy: row.hasColumn("paused_by")
                ? (row["paused_by"] as String?).flatMap(PauseCause.init(rawValue:)) : nil
        )
    }
}

extension Event {
    public init(row: Row) throws {
        try self.init(
            id: row.decode(forColumn: "id"),
            topic: row.decode(forColumn: "topic"),
            sourceId: row.decode(forColumn: "source_id"),
            receivedAt: row.decode(forColumn: "received_at"),
            occurredAt: row.decode(forColumn: "occurred_at"),
            correlationId: row.decode(forColumn: "correlation_id"),
            idempotencyKey: row.decode(forColumn: "idempotency_key"),
            payload: row.decode(forColumn: "payload"),
            payloadHash: row.decode(forColumn: "payload_hash")
        )
    }

    /// The columns `init(indexed:at:)` reads, in its order, for a table aliased `e`.
    static let indexedColumns = """
        e.id, e.topic, e.source_id, e.received_at, e.occurred_at, e.correlation_id, e.idempotency_key, \
        e.payload, e.payload_hash
        """

    /// Reads the columns of `indexedColumns`, starting at column `first`.
    init(indexed row: Row, at first: Int = 0) throws {
        try self.init(
            id: row.decode(atIndex: first),
            topic: row.decode(atIndex: first + 1),
            sourceId: row.decode(atIndex: first + 2),
            receivedAt: row.decode(atIndex: first + 3),
            occurredAt: row.decode(atIndex: first + 4),
            correlationId: row.decode(atIndex: first + 5),
            idempotencyKey: row.decode(atIndex: first + 6),
            payload: row.decode(atIndex: first + 7),
            payloadHash: row.decode(atIndex: first + 8)
        )
    }
}

extension Delivery {
    public init(row: Row) throws {
        try self.init(
            id: row.decode(forColumn: "id"),
            eventId: row.decode(forColumn: "event_id"),
            connectorId: row.decode(forColumn: "connector_id"),
            state: row.decode(forColumn: "state"),
            attempts: row.decode(forColumn: "attempts"),
            maxAttempts: row.decode(forColumn: "max_attempts"),
            nextAttemptAt: row.decode(forColumn: "next_attempt_at"),
            leaseOwner: row.decode(forColumn: "lease_owner"),
            leaseToken: row.decode(forColumn: "lease_token"),
            leaseExpiresAt: row.decode(forColumn: "lease_expires_at"),
            lastError: row.decode(forColumn: "last_error"),
            lastStatus: row.decode(forColumn: "last_status"),
            errorSignature: row.decode(forColumn: "error_signature"),
            createdAt: row.decode(forColumn: "created_at"),
            updatedAt: row.decode(forColumn: "updated_at")
        )
    }
}

extension Attempt {
    public init(row: Row) throws {
        try self.init(
            id: row.decode(forColumn: "id"),
            deliveryId: row.decode(forColumn: "delivery_id"),
            number: row.decode(forColumn: "number"),
            startedAt: row.decode(forColumn: "started_at"),
            durationMs: row.decode(forColumn: "duration_ms"),
            outcome: row.decode(forColumn: "outcome"),
            statusCode: row.decode(forColumn: "status_code"),
            error: row.decode(forColumn: "error"),
            responseExcerpt: row.decode(forColumn: "response_excerpt"),
            note: row.decode(forColumn: "note")
        )
    }
}

extension Transition {
    public init(row: Row) throws {
        try self.init(
            id: row.decode(forColumn: "id"),
            deliveryId: row.decode(forColumn: "delivery_id"),
            at: row.decode(forColumn: "at"),
            fromState: row.decode(forColumn: "from_state"),
            toState: row.decode(forColumn: "to_state"),
            actor: row.decode(forColumn: "actor"),
            reason: row.decode(forColumn: "reason")
        )
    }
}

extension ErrorGroup {
    public init(row: Row) throws {
        try self.init(
            id: row.decode(forColumn: "id"),
            connectorId: row.decode(forColumn: "connector_id"),
            connector: row.decode(forColumn: "connector"),
            signature: row.decode(forColumn: "signature"),
            sampleError: row.decode(forColumn: "sample_error"),
            lastStatus: row.decode(forColumn: "last_status"),
            retrying: row.decode(forColumn: "retrying"),
            dead: row.decode(forColumn: "dead"),
            occurrences: row.decode(forColumn: "occurrences"),
            firstSeen: row.decode(forColumn: "first_seen"),
            lastSeen: row.decode(forColumn: "last_seen")
        )
    }
}

extension FailedDelivery {
    public init(row: Row) throws {
        try self.init(
            id: row.decode(forColumn: "id"),
            eventId: row.decode(forColumn: "event_id"),
            topic: row.decode(forColumn: "topic"),
            connectorId: row.decode(forColumn: "connector_id"),
            connector: row.decode(forColumn: "connector"),
            state: row.decode(forColumn: "state"),
            attempts: row.decode(forColumn: "attempts"),
            maxAttempts: row.decode(forColumn: "max_attempts"),
            nextAttemptAt: row.decode(forColumn: "next_attempt_at"),
            lastError: row.decode(forColumn: "last_error"),
            lastStatus: row.decode(forColumn: "last_status"),
            errorSignature: row.decode(forColumn: "error_signature"),
            updatedAt: row.decode(forColumn: "updated_at")
        )
    }

    /// The columns `init(indexed:)` reads, in its order (`d` deliveries, `e` events, `c` connectors).
    static let indexedColumns = """
        d.id, d.event_id, e.topic, d.connector_id, c.name AS connector, d.state, d.attempts, \
        d.max_attempts, d.next_attempt_at, d.last_error, d.last_status, d.error_signature, d.updated_at
        """

    init(indexed row: Row) throws {
        try self.init(
            id: row.decode(atIndex: 0),
            eventId: row.decode(atIndex: 1),
            topic: row.decode(atIndex: 2),
            connectorId: row.decode(atIndex: 3),
            connector: row.decode(atIndex: 4),
            state: row.decode(atIndex: 5),
            attempts: row.decode(atIndex: 6),
            maxAttempts: row.decode(atIndex: 7),
            nextAttemptAt: row.decode(atIndex: 8),
            lastError: row.decode(atIndex: 9),
            lastStatus: row.decode(atIndex: 10),
            errorSignature: row.decode(atIndex: 11),
            updatedAt: row.decode(atIndex: 12)
        )
    }

    /// Fetches the rows of a statement that selects `indexedColumns`.
    static func fetchIndexed(_ db: Database, sql: String, arguments: StatementArguments) throws -> [FailedDelivery] {
        var result: [FailedDelivery] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() { result.append(try FailedDelivery(indexed: row)) }
        return result
    }
}

extension Invoice {
    public init(row: Row) throws {
        try self.init(
            id: row.decode(forColumn: "id"),
            sourceId: row.decode(forColumn: "source_id"),
            externalId: row.decode(forColumn: "external_id"),
            number: row.decode(forColumn: "number"),
            kind: row.decode(forColumn: "kind"),
            customer: row.decode(forColumn: "customer"),
            currency: row.decode(forColumn: "currency"),
            issueDate: row.decode(forColumn: "issue_date"),
            dueDate: row.decode(forColumn: "due_date"),
            totalMinor: row.decode(forColumn: "total_minor"),
            openMinor: row.decode(forColumn: "open_minor"),
            status: row.decode(forColumn: "status"),
            syncedAt: row.decode(forColumn: "synced_at")
        )
    }
}
