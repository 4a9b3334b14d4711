import Foundation
import GRDB

extension Store {
    /// Leases up to `limit` due deliveries, oldest due first, skipping paused connectors.
    ///
    /// Each claimed delivery moves to `in_flight` with a fresh lease token and its attempt counted.
    /// Claims are one `BEGIN IMMEDIATE` transaction, so two processes never claim the same delivery.
    public func claimDueDeliveries(
        connector: ConnectorID? = nil, limit: Int, lease: TimeInterval, owner: String, now: Date = Date()
    ) throws -> [Claim] {
        try claim(connector: connector, limit: limit, lease: lease, owner: owner, now: now, probe: false)
    }

    /// One delivery of a connector the breaker paused, due or not, as a probe: its attempt is free
    /// (`max_attempts` grows with it), so probing an outage never dead-letters a message.
    public func claimProbe(connector: ConnectorID, lease: TimeInterval, owner: String, now: Date) throws -> Claim? {
        try claim(connector: connector, limit: 1, lease: lease, owner: owner, now: now, probe: true).first
    }

    private func claim(connector: ConnectorID?, limit: Int, lease: TimeInterval, owner: String, now: Date,
                       probe: Bool) throws -> [Claim] {
        guard limit > 0 else { return [] }
        return try write { db in
            let nowMs = now.millis
            // A probe looks past the due time: the waiting message next in line is the probe.
            let dueBy = probe ? Int64.max : nowMs
            let connectorIds: [ConnectorID]
            if let connector {
                connectorIds = try ConnectorID.fetchAll(
                    db, sql: probe ? "SELECT id FROM connectors WHERE id = ? AND paused = 1 AND paused_by = 'breaker'"
                        : "SELECT id FROM connectors WHERE id = ? AND paused = 0", arguments: [connector])
            } else {
                connectorIds = try ConnectorID.fetchAll(db, sql: "SELECT id FROM connectors WHERE paused = 0")
            }
            // Per connector, through the (connector_id, next_attempt_at) index: the cost is bounded by
            // `limit` times the number of connectors, never by the backlog of a paused connector.
            let due = try db.cachedStatement(sql: """
                SELECT id, next_attempt_at, state, error_signature FROM deliveries
                WHERE connector_id = ? AND state IN ('pending', 'retrying') AND next_attempt_at <= ?
                ORDER BY next_attempt_at LIMIT ?
                """)
            var candidates: [(id: DeliveryID, dueAt: Int64, state: DeliveryState, connector: ConnectorID, signature: String?)] = []
            for connector in connectorIds {
                let rows = try Row.fetchAll(due, arguments: [connector, dueBy, limit])
                candidates += rows.map { ($0[0], $0[1], $0[2], connector, $0[3]) }
            }
            candidates.sort { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
            let picked = candidates.prefix(limit)
            guard !picked.isEmpty else { return [] }
            let expires = nowMs + Int64(lease * 1000)
            // Set-based, with the ids as one JSON argument: the transitions, the UPDATE and the read
            // of the events are three cached statements whatever the batch size. Tokens are a random
            // base plus the delivery id: unique per claim, unguessable across claims.
            let base = Int64.random(in: 1...(Int64.max / 2))
            let ids = JSONRows.ids(picked.map(\.id))
            try db.cachedStatement(sql: """
                INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason)
                SELECT id, ?, state, 'in_flight', 'worker', ? FROM deliveries
                WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('pending', 'retrying')
                """).execute(arguments: [nowMs, probe ? "probe by \(owner) (breaker open)" : "claimed by \(owner)", ids])
            try db.cachedStatement(sql: """
                UPDATE deliveries SET state = 'in_flight', attempts = attempts + 1,
                  max_attempts = max_attempts + ?, lease_owner = ?,
                  lease_token = ? + id, lease_expires_at = ?, next_attempt_at = NULL, updated_at = ?
                WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('pending', 'retrying')
                """).execute(arguments: [probe ? 1 : 0, owner, base, expires, nowMs, ids])
            var rollups = RollupDelta()
            for candidate in picked {
                rollups.moved(connector: candidate.connector, from: candidate.state, to: .inFlight, at: nowMs,
                              oldSignature: candidate.signature, newSignature: candidate.signature)
            }
            try rollups.apply(db)
            var byId: [DeliveryID: Claim] = [:]
            byId.reserveCapacity(picked.count)
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT d.id, d.event_id, d.connector_id, d.attempts, d.max_attempts, d.lease_token,
                       e.topic, e.payload, e.correlation_id, d.replays
                FROM deliveries d JOIN events e ON e.id = d.event_id
                WHERE d.id IN (SELECT value FROM json_each(?)) AND d.state = 'in_flight'
                  AND d.lease_owner = ? AND d.lease_expires_at = ?
                """), arguments: [ids, owner, expires])
            while let row = try rows.next() {
                let id: DeliveryID = row[0]
                byId[id] = Claim(
                    deliveryId: id, eventId: row[1], connectorId: row[2], attempt: row[3], maxAttempts: row[4],
                    leaseToken: row[5], leaseExpiresAt: expires, topic: row[6], payload: row[7],
                    correlationId: row[8], idempotencyKey: Claim.idempotencyKey(delivery: id, replays: row[9]))
            }
            return picked.compactMap { byId[$0.id] }
        }
    }

    /// Records a worker's outcome, only if the worker still holds the lease.
    public func record(_ outcome: DeliveryOutcome, now: Date = Date()) throws -> OutcomeRecord {
        try record([outcome], now: now)[0]
    }

    /// Records many outcomes in one transaction; each is checked against its own lease.
    ///
    /// Set-based: the leases are checked with one read, attempts and transitions are multi-row
    /// INSERTs of cached shapes (`insertRows`), successes are one UPDATE per status code, and
    /// each connector's health is updated once per batch. Failures (rarer, each with its own error
    /// and due time) are one UPDATE each.
    public func record(_ outcomes: [DeliveryOutcome], now: Date = Date()) throws -> [OutcomeRecord] {
        guard !outcomes.isEmpty else { return [] }
        return try write { db in try Self.record(outcomes, db: db, now: now.millis) }
    }

    private static func record(_ outcomes: [DeliveryOutcome], db: Database, now: Int64) throws -> [OutcomeRecord] {
        var held: [DeliveryID: HeldLease] = [:]
        held.reserveCapacity(outcomes.count)
        let leases = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT id, lease_token, attempts, max_attempts, connector_id, error_signature FROM deliveries
            WHERE id IN (SELECT value FROM json_each(?)) AND state = 'in_flight' AND lease_expires_at >= ?
            """), arguments: [JSONRows.ids(outcomes.map(\.deliveryId)), now])
        while let row = try leases.next() {
            held[row[0]] = HeldLease(token: row[1], attempts: row[2], maxAttempts: row[3], connector: row[4],
                                     signature: row[5])
        }
        let batch = OutcomeBatch(outcomes, held: held, now: now)
        var attempts: [[DatabaseValue]] = []
        var transitions: [[DatabaseValue]] = []
        var deliveredByStatus: [Int?: [DeliveryID]] = [:]
        let updateFailure = try db.cachedStatement(sql: """
            UPDATE deliveries SET state = ?, next_attempt_at = ?, lease_owner = NULL, lease_token = NULL,
              lease_expires_at = NULL, last_error = ?, last_status = ?, error_signature = ?, updated_at = ?
            WHERE id = ?
            """)
        for recorded in batch.recorded {
            let outcome = recorded.outcome
            attempts.append([
                outcome.deliveryId.databaseValue, recorded.lease.attempts.databaseValue,
                outcome.startedAt.millis.databaseValue, max(0, outcome.durationMs).databaseValue,
                recorded.attemptOutcome.rawValue.databaseValue, outcome.statusCode.databaseValue,
                outcome.error.databaseValue, outcome.responseExcerpt.databaseValue, outcome.note.databaseValue,
            ])
            transitions.append([
                outcome.deliveryId.databaseValue, now.databaseValue, DeliveryState.inFlight.rawValue.databaseValue,
                recorded.state.rawValue.databaseValue, Actor.worker.rawValue.databaseValue, recorded.reason.databaseValue,
            ])
            if recorded.delivered {
                deliveredByStatus[outcome.statusCode, default: []].append(outcome.deliveryId)
            } else {
                try updateFailure.execute(arguments: [
                    recorded.state, recorded.nextAttemptAt, recorded.error, outcome.statusCode, recorded.signature, now,
                    outcome.deliveryId,
                ])
            }
            if let pause = outcome.pauseConnectorReason {
                try db.execute(sql: "UPDATE connectors SET paused = 1, paused_reason = ?, paused_by = 'gone' WHERE id = ?",
                               arguments: [pause, recorded.lease.connector])
            }
        }
        let markDelivered = try db.cachedStatement(sql: """
            UPDATE deliveries SET state = 'delivered', lease_owner = NULL, lease_token = NULL,
              lease_expires_at = NULL, last_status = ?, updated_at = ?
            WHERE id IN (SELECT value FROM json_each(?))
            """)
        for (status, delivered) in deliveredByStatus {
            try markDelivered.execute(arguments: [status, now, JSONRows.ids(delivered)])
        }
        try insertRows(
            into: "attempts(delivery_id, number, started_at, duration_ms, outcome, status_code, error, response_excerpt, note)",
            attempts, db: db)
        try insertRows(into: "transitions(delivery_id, at, from_state, to_state, actor, reason)", transitions, db: db)
        try batch.rollups.apply(db)
        // Health once per connector per batch. Failing with a recent success is degraded; failing
        // with none in ten minutes is failing; a success in the batch makes it healthy.
        for connector in batch.succeeded {
            try db.cachedStatement(sql: "UPDATE connectors SET last_success_at = ?, health = 'healthy' WHERE id = ?")
                .execute(arguments: [now, connector])
        }
        for (connector, error) in batch.failed {
            try db.cachedStatement(sql: """
                UPDATE connectors SET last_error_at = ?, last_error = ?,
                  health = CASE WHEN last_success_at >= ? THEN 'degraded' ELSE 'failing' END
                WHERE id = ?
                """).execute(arguments: [now, error, now - 600_000, connector])
        }
        return batch.results
    }

    /// Returns deliveries whose lease expired to the queue, due now, with the attempt counted as failed.
    ///
    /// A delivery with no attempt left is dead-lettered instead.
    @discardableResult
    public func recoverExpiredLeases(now: Date = Date(), limit: Int = Store.leaseRecoveryLimit) throws -> [DeliveryID] {
        try write { db in
            let nowMs = now.millis
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, attempts, max_attempts, lease_owner, lease_expires_at, updated_at, connector_id,
                       error_signature
                FROM deliveries
                WHERE state = 'in_flight' AND lease_expires_at < ?
                ORDER BY lease_expires_at LIMIT ?
                """, arguments: [nowMs, limit])
            var rollups = RollupDelta()
            for row in rows {
                let id: DeliveryID = row[0]
                let attempts: Int = row[1]
                let expiredAt: Int64 = row[4]
                let claimedAt: Int64 = row[5]
                let expired = ExpiredLease(owner: row[3], expiredAt: expiredAt, attempts: attempts, maxAttempts: row[2])
                try db.execute(sql: """
                    INSERT INTO attempts(delivery_id, number, started_at, duration_ms, outcome, error)
                    VALUES (?, ?, ?, ?, 'lease_expired', ?)
                    """, arguments: [id, attempts, claimedAt, max(0, expiredAt - claimedAt), expired.error])
                try db.execute(sql: """
                    UPDATE deliveries SET state = ?, next_attempt_at = ?, lease_owner = NULL, lease_token = NULL,
                      lease_expires_at = NULL, last_error = ?, last_status = NULL,
                      error_signature = ?, updated_at = ?
                    WHERE id = ?
                    """, arguments: [expired.state, expired.state == .retrying ? nowMs : nil, expired.error,
                                     ExpiredLease.signature, nowMs, id])
                rollups.moved(connector: row[6], from: .inFlight, to: expired.state, at: nowMs, oldSignature: row[7],
                              newSignature: ExpiredLease.signature, error: expired.error, status: nil)
                try Self.recordTransition(
                    db, delivery: id, at: nowMs, from: DeliveryState.inFlight.rawValue, to: expired.state,
                    actor: .system, reason: expired.reason)
            }
            try rollups.apply(db)
            return rows.map { $0[0] }
        }
    }

    static func recordTransition(
        _ db: Database, delivery: DeliveryID, at: Int64, from: String, to: DeliveryState, actor: Actor,
        reason: String?
    ) throws {
        try db.cachedStatement(sql: """
            INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [delivery, at, from, to, actor, reason])
    }
}

extension Store {
    /// Inserts `rows` with multi-row INSERTs of 256, 128, … 1 rows. Each shape is prepared once and
    /// cached, so a batch of any size costs at most nine parses per connection, ever, and each
    /// statement keeps its cursors open across its rows.
    ///
    /// - Parameter table: the table and its column list, `attempts(delivery_id, …)`.
    static func insertRows(into table: String, _ rows: [[DatabaseValue]], db: Database) throws {
        for range in statementShapes(rows.count) {
            try db.cachedStatement(sql: "INSERT INTO \(table) VALUES " + valuesList(rows: range.count, columns: rows[range.lowerBound].count))
                .execute(arguments: StatementArguments(rows[range].flatMap { $0 }))
        }
    }

    /// `count` rows cut into runs of 256, 128, … 1: the few statement shapes a batch write prepares.
    static func statementShapes(_ count: Int, largest: Int = 256) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        while start < count {
            var size = largest
            while size > count - start { size /= 2 }
            ranges.append(start..<(start + size))
            start += size
        }
        return ranges
    }

    /// `(?, ?), (?, ?)`: the VALUES list of a multi-row INSERT.
    static func valuesList(rows: Int, columns: Int) -> String {
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        return Array(repeating: row, count: rows).joined(separator: ", ")
    }
}

extension Array {
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
