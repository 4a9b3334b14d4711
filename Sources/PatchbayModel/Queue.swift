import Foundation

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

    public init(deliveryId: DeliveryID, eventId: EventID, connectorId: ConnectorID, attempt: Int, maxAttempts: Int,
                leaseToken: Int64, leaseExpiresAt: Int64, topic: String, payload: String, correlationId: String? = nil,
                idempotencyKey: String) {
        self.deliveryId = deliveryId
        self.eventId = eventId
        self.connectorId = connectorId
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.leaseToken = leaseToken
        self.leaseExpiresAt = leaseExpiresAt
        self.topic = topic
        self.payload = payload
        self.correlationId = correlationId
        self.idempotencyKey = idempotencyKey
    }
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

extension DeliveryOutcome {
    /// The state this outcome moves a delivery to (after `attempts` of `maxAttempts`), its next due
    /// time, and the transition's reason: the same rule on every backend.
    public func transition(attempts: Int, maxAttempts: Int, now: Int64)
        -> (DeliveryState, Int64?, String) {
        var newState: DeliveryState
        var nextAttemptAt: Int64?
        var reason: String
        switch result {
        case .delivered:
            newState = .delivered
            reason = statusCode.map { "delivered (\($0))" } ?? "delivered"
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
        if let error = self.error, newState != .delivered {
            reason += ": \(error.prefix(500))"
        }
        return (newState, nextAttemptAt, reason)
    }

}
