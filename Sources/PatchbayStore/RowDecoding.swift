import GRDB

// Records decoded by hand instead of through `Codable` with `convertFromSnakeCase`, which maps every
// column name of every row: a failed list of 1,000 rows took 27 ms that way, and 3–5 ms decoded by
// hand (docs/BENCHMARKS.md, "Reads: decoding"). Records keep `Codable` for JSON.
//
// `init(row:)` reads columns by name, so any SELECT that names the columns still works. The store's
// own list reads, whose SELECT lists are written beside their decoders, read by column index.

extension Connector {
    public init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        name = try row.decode(forColumn: "name")
        module = try row.decode(forColumn: "module")
        pattern = try row.decode(forColumn: "pattern")
        system = try row.decode(forColumn: "system")
        direction = try row.decode(forColumn: "direction")
        paused = try row.decode(forColumn: "paused")
        pausedReason = try row.decode(forColumn: "paused_reason")
        health = try row.decode(forColumn: "health")
        maxAttempts = try row.decode(forColumn: "max_attempts")
        lastSuccessAt = try row.decode(forColumn: "last_success_at")
        lastErrorAt = try row.decode(forColumn: "last_error_at")
        lastError = try row.decode(forColumn: "last_error")
        createdAt = try row.decode(forColumn: "created_at")
    }
}

extension Event {
    public init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        topic = try row.decode(forColumn: "topic")
        sourceId = try row.decode(forColumn: "source_id")
        receivedAt = try row.decode(forColumn: "received_at")
        occurredAt = try row.decode(forColumn: "occurred_at")
        correlationId = try row.decode(forColumn: "correlation_id")
        idempotencyKey = try row.decode(forColumn: "idempotency_key")
        payload = try row.decode(forColumn: "payload")
        payloadHash = try row.decode(forColumn: "payload_hash")
    }

    /// The columns `init(indexed:at:)` reads, in its order, for a table aliased `e`.
    static let indexedColumns = """
        e.id, e.topic, e.source_id, e.received_at, e.occurred_at, e.correlation_id, e.idempotency_key, \
        e.payload, e.payload_hash
        """

    /// Reads the columns of `indexedColumns`, starting at column `first`.
    init(indexed row: Row, at first: Int = 0) throws {
        id = try row.decode(atIndex: first)
        topic = try row.decode(atIndex: first + 1)
        sourceId = try row.decode(atIndex: first + 2)
        receivedAt = try row.decode(atIndex: first + 3)
        occurredAt = try row.decode(atIndex: first + 4)
        correlationId = try row.decode(atIndex: first + 5)
        idempotencyKey = try row.decode(atIndex: first + 6)
        payload = try row.decode(atIndex: first + 7)
        payloadHash = try row.decode(atIndex: first + 8)
    }
}

extension Delivery {
    public init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        eventId = try row.decode(forColumn: "event_id")
        connectorId = try row.decode(forColumn: "connector_id")
        state = try row.decode(forColumn: "state")
        attempts = try row.decode(forColumn: "attempts")
        maxAttempts = try row.decode(forColumn: "max_attempts")
        nextAttemptAt = try row.decode(forColumn: "next_attempt_at")
        leaseOwner = try row.decode(forColumn: "lease_owner")
        leaseToken = try row.decode(forColumn: "lease_token")
        leaseExpiresAt = try row.decode(forColumn: "lease_expires_at")
        lastError = try row.decode(forColumn: "last_error")
        lastStatus = try row.decode(forColumn: "last_status")
        errorSignature = try row.decode(forColumn: "error_signature")
        createdAt = try row.decode(forColumn: "created_at")
        updatedAt = try row.decode(forColumn: "updated_at")
    }
}

extension Attempt {
    public init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        deliveryId = try row.decode(forColumn: "delivery_id")
        number = try row.decode(forColumn: "number")
        startedAt = try row.decode(forColumn: "started_at")
        durationMs = try row.decode(forColumn: "duration_ms")
        outcome = try row.decode(forColumn: "outcome")
        statusCode = try row.decode(forColumn: "status_code")
        error = try row.decode(forColumn: "error")
        responseExcerpt = try row.decode(forColumn: "response_excerpt")
    }
}

extension Transition {
    public init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        deliveryId = try row.decode(forColumn: "delivery_id")
        at = try row.decode(forColumn: "at")
        fromState = try row.decode(forColumn: "from_state")
        toState = try row.decode(forColumn: "to_state")
        actor = try row.decode(forColumn: "actor")
        reason = try row.decode(forColumn: "reason")
    }
}

extension ErrorGroup {
    public init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        connectorId = try row.decode(forColumn: "connector_id")
        connector = try row.decode(forColumn: "connector")
        signature = try row.decode(forColumn: "signature")
        sampleError = try row.decode(forColumn: "sample_error")
        lastStatus = try row.decode(forColumn: "last_status")
        retrying = try row.decode(forColumn: "retrying")
        dead = try row.decode(forColumn: "dead")
        occurrences = try row.decode(forColumn: "occurrences")
        firstSeen = try row.decode(forColumn: "first_seen")
        lastSeen = try row.decode(forColumn: "last_seen")
    }
}

extension FailedDelivery {
    public init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        eventId = try row.decode(forColumn: "event_id")
        topic = try row.decode(forColumn: "topic")
        connectorId = try row.decode(forColumn: "connector_id")
        connector = try row.decode(forColumn: "connector")
        state = try row.decode(forColumn: "state")
        attempts = try row.decode(forColumn: "attempts")
        maxAttempts = try row.decode(forColumn: "max_attempts")
        nextAttemptAt = try row.decode(forColumn: "next_attempt_at")
        lastError = try row.decode(forColumn: "last_error")
        lastStatus = try row.decode(forColumn: "last_status")
        errorSignature = try row.decode(forColumn: "error_signature")
        updatedAt = try row.decode(forColumn: "updated_at")
    }

    /// The columns `init(indexed:)` reads, in its order (`d` deliveries, `e` events, `c` connectors).
    static let indexedColumns = """
        d.id, d.event_id, e.topic, d.connector_id, c.name AS connector, d.state, d.attempts, \
        d.max_attempts, d.next_attempt_at, d.last_error, d.last_status, d.error_signature, d.updated_at
        """

    init(indexed row: Row) throws {
        id = try row.decode(atIndex: 0)
        eventId = try row.decode(atIndex: 1)
        topic = try row.decode(atIndex: 2)
        connectorId = try row.decode(atIndex: 3)
        connector = try row.decode(atIndex: 4)
        state = try row.decode(atIndex: 5)
        attempts = try row.decode(atIndex: 6)
        maxAttempts = try row.decode(atIndex: 7)
        nextAttemptAt = try row.decode(atIndex: 8)
        lastError = try row.decode(atIndex: 9)
        lastStatus = try row.decode(atIndex: 10)
        errorSignature = try row.decode(atIndex: 11)
        updatedAt = try row.decode(atIndex: 12)
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
        id = try row.decode(forColumn: "id")
        sourceId = try row.decode(forColumn: "source_id")
        externalId = try row.decode(forColumn: "external_id")
        number = try row.decode(forColumn: "number")
        kind = try row.decode(forColumn: "kind")
        customer = try row.decode(forColumn: "customer")
        currency = try row.decode(forColumn: "currency")
        issueDate = try row.decode(forColumn: "issue_date")
        dueDate = try row.decode(forColumn: "due_date")
        totalMinor = try row.decode(forColumn: "total_minor")
        openMinor = try row.decode(forColumn: "open_minor")
        status = try row.decode(forColumn: "status")
        syncedAt = try row.decode(forColumn: "synced_at")
    }
}
