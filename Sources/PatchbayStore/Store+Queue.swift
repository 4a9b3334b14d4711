import Foundation
import GRDB

/// A delivery a worker has leased, with what it needs to deliver it.
public struct Claim: Sendable, Equatable {
    public var deliveryId: DeliveryID
    public var eventId: EventID
    public var connectorId: ConnectorID
    /// 1 for the first attempt.
    public var attempt: Int
    public var maxAttempts: Int
    public var leaseToken: Int64
    public var leaseExpiresAt: Int64
    public var topic: String
    public var payload: String
    public var correlationId: String?
    /// Stable across every attempt of this delivery: targets use it to absorb repeats.
    public var idempotencyKey: String
}

/// What happened when a worker tried a delivery.
public struct DeliveryOutcome: Sendable, Equatable {
    public enum Result: Sendable, Equatable {
        case delivered
        /// Try again at this time (the store dead-letters instead when no attempt is left).
        case retry(at: Date)
        /// Permanent failure: dead-letter now.
        case dead
    }

    public var deliveryId: DeliveryID
    public var leaseToken: Int64
    public var result: Result
    public var startedAt: Date
    public var durationMs: Int64
    public var statusCode: Int?
    /// What went wrong, as a person should read it.
    public var error: String?
    /// The error with ids, numbers and quoted values normalised away: failures with one signature
    /// are one group on the dashboard.
    public var errorSignature: String?
    /// A short, sanitised excerpt of the target's response.
    public var responseExcerpt: String?
    /// Set to pause the target connector in the same transaction (for example on HTTP 410).
    public var pauseConnectorReason: String?

    public init(deliveryId: DeliveryID, leaseToken: Int64, result: Result, startedAt: Date, durationMs: Int64,
                statusCode: Int? = nil, error: String? = nil, errorSignature: String? = nil,
                responseExcerpt: String? = nil, pauseConnectorReason: String? = nil) {
        self.deliveryId = deliveryId
        self.leaseToken = leaseToken
        self.result = result
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.statusCode = statusCode
        self.error = error
        self.errorSignature = errorSignature
        self.responseExcerpt = responseExcerpt
        self.pauseConnectorReason = pauseConnectorReason
    }
}

public enum OutcomeRecord: Sendable, Equatable {
    /// Recorded; the delivery is now in this state.
    case recorded(DeliveryState)
    /// The caller no longer holds the lease (it expired, or another worker took over): nothing changed.
    case leaseLost
}

extension Store {
    /// Leases up to `limit` due deliveries, oldest due first, skipping paused connectors.
    ///
    /// Each claimed delivery moves to `in_flight` with a fresh lease token and its attempt counted.
    /// Claims are one `BEGIN IMMEDIATE` transaction, so two processes never claim the same delivery.
    public func claimDueDeliveries(
        connector: ConnectorID? = nil, limit: Int, lease: TimeInterval, owner: String, now: Date = Date()
    ) throws -> [Claim] {
        guard limit > 0 else { return [] }
        return try write { db in
            let nowMs = now.millis
            let connectorIds: [ConnectorID]
            if let connector {
                connectorIds = try ConnectorID.fetchAll(
                    db, sql: "SELECT id FROM connectors WHERE id = ? AND paused = 0", arguments: [connector])
            } else {
                connectorIds = try ConnectorID.fetchAll(db, sql: "SELECT id FROM connectors WHERE paused = 0")
            }
            // Per connector, through the (connector_id, next_attempt_at) index: the cost is bounded by
            // `limit` times the number of connectors, never by the backlog of a paused connector.
            let due = try db.cachedStatement(sql: """
                SELECT id, next_attempt_at, state FROM deliveries
                WHERE connector_id = ? AND state IN ('pending', 'retrying') AND next_attempt_at <= ?
                ORDER BY next_attempt_at LIMIT ?
                """)
            var candidates: [(id: DeliveryID, dueAt: Int64, state: String)] = []
            for id in connectorIds {
                let rows = try Row.fetchAll(due, arguments: [id, nowMs, limit])
                candidates += rows.map { ($0[0], $0[1], $0[2]) }
            }
            candidates.sort { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
            let expires = nowMs + Int64(lease * 1000)
            let take = try db.cachedStatement(sql: """
                UPDATE deliveries SET state = 'in_flight', attempts = attempts + 1, lease_owner = ?,
                  lease_token = ?, lease_expires_at = ?, next_attempt_at = NULL, updated_at = ?
                WHERE id = ?
                RETURNING event_id, connector_id, attempts, max_attempts
                """)
            let event = try db.cachedStatement(sql: """
                SELECT topic, payload, correlation_id FROM events WHERE id = ?
                """)
            var claims: [Claim] = []
            claims.reserveCapacity(min(limit, candidates.count))
            for candidate in candidates.prefix(limit) {
                let token = Int64.random(in: 1...Int64.max)
                guard let row = try Row.fetchOne(take, arguments: [owner, token, expires, nowMs, candidate.id]) else {
                    continue
                }
                try Self.recordTransition(
                    db, delivery: candidate.id, at: nowMs, from: candidate.state, to: .inFlight,
                    actor: .worker, reason: "claimed by \(owner)")
                let eventId: EventID = row[0]
                guard let eventRow = try Row.fetchOne(event, arguments: [eventId]) else { continue }
                claims.append(Claim(
                    deliveryId: candidate.id, eventId: eventId, connectorId: row[1], attempt: row[2],
                    maxAttempts: row[3], leaseToken: token, leaseExpiresAt: expires,
                    topic: eventRow[0], payload: eventRow[1], correlationId: eventRow[2],
                    idempotencyKey: "patchbay-delivery-\(candidate.id)"))
            }
            return claims
        }
    }

    /// Records a worker's outcome, only if the worker still holds the lease.
    public func record(_ outcome: DeliveryOutcome, now: Date = Date()) throws -> OutcomeRecord {
        try record([outcome], now: now)[0]
    }

    /// Records many outcomes in one transaction; each is checked against its own lease.
    public func record(_ outcomes: [DeliveryOutcome], now: Date = Date()) throws -> [OutcomeRecord] {
        try write { db in try outcomes.map { try Self.record($0, db: db, now: now.millis) } }
    }

    static func record(_ outcome: DeliveryOutcome, db: Database, now: Int64) throws -> OutcomeRecord {
        let current = try db.cachedStatement(sql: """
            SELECT attempts, max_attempts, connector_id FROM deliveries
            WHERE id = ? AND state = 'in_flight' AND lease_token = ? AND lease_expires_at >= ?
            """)
        guard let row = try Row.fetchOne(current, arguments: [outcome.deliveryId, outcome.leaseToken, now]) else {
            return .leaseLost
        }
        let attempts: Int = row[0]
        let maxAttempts: Int = row[1]
        let connectorId: ConnectorID = row[2]

        let newState: DeliveryState
        var nextAttemptAt: Int64?
        var reason: String
        switch outcome.result {
        case .delivered:
            newState = .delivered
            reason = outcome.statusCode.map { "delivered (\($0))" } ?? "delivered"
        case .retry(let at) where attempts < maxAttempts:
            newState = .retrying
            nextAttemptAt = max(at.millis, now)
            reason = "attempt \(attempts) of \(maxAttempts) failed; retry at \(Date(millis: nextAttemptAt!).iso8601)"
        case .retry:
            newState = .dead
            reason = "gave up after \(attempts) attempts"
        case .dead:
            newState = .dead
            reason = "permanent failure"
        }
        if let error = outcome.error, newState != .delivered {
            reason += ": \(error.prefix(500))"
        }

        try db.cachedStatement(sql: """
            INSERT INTO attempts(delivery_id, number, started_at, duration_ms, outcome, status_code, error, response_excerpt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                outcome.deliveryId, attempts, outcome.startedAt.millis, max(0, outcome.durationMs),
                newState == .delivered ? AttemptOutcome.success : AttemptOutcome.failure,
                outcome.statusCode, outcome.error, outcome.responseExcerpt,
            ])
        if newState == .delivered {
            try db.cachedStatement(sql: """
                UPDATE deliveries SET state = 'delivered', lease_owner = NULL, lease_token = NULL,
                  lease_expires_at = NULL, last_status = ?, updated_at = ?
                WHERE id = ?
                """).execute(arguments: [outcome.statusCode, now, outcome.deliveryId])
            try db.cachedStatement(sql: """
                UPDATE connectors SET last_success_at = ?, health = 'healthy' WHERE id = ?
                """).execute(arguments: [now, connectorId])
        } else {
            let error = outcome.error ?? "failed"
            try db.cachedStatement(sql: """
                UPDATE deliveries SET state = ?, next_attempt_at = ?, lease_owner = NULL, lease_token = NULL,
                  lease_expires_at = NULL, last_error = ?, last_status = ?, error_signature = ?, updated_at = ?
                WHERE id = ?
                """).execute(arguments: [
                    newState, nextAttemptAt, error, outcome.statusCode,
                    outcome.errorSignature ?? error, now, outcome.deliveryId,
                ])
            // Failing with a recent success is degraded; failing with none in ten minutes is failing.
            try db.cachedStatement(sql: """
                UPDATE connectors SET last_error_at = ?, last_error = ?,
                  health = CASE WHEN last_success_at >= ? THEN 'degraded' ELSE 'failing' END
                WHERE id = ?
                """).execute(arguments: [now, error, now - 600_000, connectorId])
        }
        if let pause = outcome.pauseConnectorReason {
            try db.execute(sql: "UPDATE connectors SET paused = 1, paused_reason = ? WHERE id = ?",
                           arguments: [pause, connectorId])
        }
        try recordTransition(db, delivery: outcome.deliveryId, at: now, from: DeliveryState.inFlight.rawValue,
                             to: newState, actor: .worker, reason: reason)
        return .recorded(newState)
    }

    /// Returns deliveries whose lease expired to the queue, due now, with the attempt counted as failed.
    ///
    /// A delivery with no attempt left is dead-lettered instead.
    @discardableResult
    public func recoverExpiredLeases(now: Date = Date(), limit: Int = 1000) throws -> [DeliveryID] {
        try write { db in
            let nowMs = now.millis
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, attempts, max_attempts, lease_owner, lease_expires_at, updated_at FROM deliveries
                WHERE state = 'in_flight' AND lease_expires_at < ?
                ORDER BY lease_expires_at LIMIT ?
                """, arguments: [nowMs, limit])
            for row in rows {
                let id: DeliveryID = row[0]
                let attempts: Int = row[1]
                let maxAttempts: Int = row[2]
                let owner: String = row[3] ?? "unknown worker"
                let expiredAt: Int64 = row[4]
                let claimedAt: Int64 = row[5]
                let error = "lease held by \(owner) expired at \(Date(millis: expiredAt).iso8601) without an outcome"
                let newState: DeliveryState = attempts >= maxAttempts ? .dead : .retrying
                try db.execute(sql: """
                    INSERT INTO attempts(delivery_id, number, started_at, duration_ms, outcome, error)
                    VALUES (?, ?, ?, ?, 'lease_expired', ?)
                    """, arguments: [id, attempts, claimedAt, max(0, expiredAt - claimedAt), error])
                try db.execute(sql: """
                    UPDATE deliveries SET state = ?, next_attempt_at = ?, lease_owner = NULL, lease_token = NULL,
                      lease_expires_at = NULL, last_error = ?, last_status = NULL,
                      error_signature = 'lease expired without an outcome', updated_at = ?
                    WHERE id = ?
                    """, arguments: [newState, newState == .retrying ? nowMs : nil, error, nowMs, id])
                try Self.recordTransition(
                    db, delivery: id, at: nowMs, from: DeliveryState.inFlight.rawValue, to: newState,
                    actor: .system,
                    reason: newState == .dead ? "\(error); no attempt left" : "\(error); due again now")
            }
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

extension Date {
    /// `2026-11-25T13:35:14Z`, the form times take in messages and JSON.
    public var iso8601: String { formatted(.iso8601) }
}
