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
    /// What the sink did around the send that the history should show (an OAuth token refreshed
    /// before it, or after a 401 and sent again); stored on the attempt.
    public var note: String?

    public init(deliveryId: DeliveryID, leaseToken: Int64, result: Result, startedAt: Date, durationMs: Int64,
                statusCode: Int? = nil, error: String? = nil, errorSignature: String? = nil,
                responseExcerpt: String? = nil, pauseConnectorReason: String? = nil, note: String? = nil) {
        self.note = note
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

/// A delivery's lease as `record` finds it, read before anything is written.
public struct HeldLease: Sendable, Equatable {
    public var token: Int64
    public var attempts: Int
    public var maxAttempts: Int
    public var connector: ConnectorID
    /// The delivery's `error_signature` before the outcome.
    public var signature: String?

    public init(token: Int64, attempts: Int, maxAttempts: Int, connector: ConnectorID, signature: String?) {
        self.token = token
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.connector = connector
        self.signature = signature
    }
}

/// What a batch of outcomes does, outcome by outcome, decided the same way on every backend: which
/// still hold their lease, the state each moves to, the error and signature it leaves, the counters
/// and the connectors' health. The backend reads the leases and writes what this says.
public struct OutcomeBatch: Sendable {
    /// An outcome whose worker still held the lease, and what it makes of the delivery.
    public struct Recorded: Sendable {
        public var outcome: DeliveryOutcome
        public var lease: HeldLease
        public var state: DeliveryState
        public var nextAttemptAt: Int64?
        /// The transition's reason.
        public var reason: String
        /// The delivery's last error after a failure; nil after a success (it keeps its history).
        public var error: String?
        /// The delivery's error signature after the outcome: the lease's after a success.
        public var signature: String?

        public var delivered: Bool { state == .delivered }
        /// The attempt row's outcome.
        public var attemptOutcome: AttemptOutcome { delivered ? .success : .failure }
    }

    /// One per outcome, in order.
    public private(set) var results: [OutcomeRecord] = []
    /// The outcomes to write, in order.
    public private(set) var recorded: [Recorded] = []
    public private(set) var rollups = RollupDelta()
    /// Connectors with a success in the batch: healthy now.
    public private(set) var succeeded: Set<ConnectorID> = []
    /// Connectors with a failure in the batch, with the last one's error: degraded when they had a
    /// success in the last ten minutes, failing when not.
    public private(set) var failed: [ConnectorID: String] = [:]

    /// - Parameter held: the leases of the outcomes' deliveries that are in flight and unexpired at `now`.
    public init(_ outcomes: [DeliveryOutcome], held: [DeliveryID: HeldLease], now: Int64) {
        var seen: Set<DeliveryID> = []
        results.reserveCapacity(outcomes.count)
        for outcome in outcomes {
            // The same delivery twice in one batch: only the first can still hold the lease.
            guard let lease = held[outcome.deliveryId], lease.token == outcome.leaseToken,
                  seen.insert(outcome.deliveryId).inserted else {
                results.append(.leaseLost)
                continue
            }
            let (state, nextAttemptAt, reason) = outcome.transition(attempts: lease.attempts,
                                                                     maxAttempts: lease.maxAttempts, now: now)
            if state == .delivered {
                succeeded.insert(lease.connector)
                rollups.moved(connector: lease.connector, from: .inFlight, to: .delivered, at: now,
                              oldSignature: lease.signature, newSignature: lease.signature)
                recorded.append(Recorded(outcome: outcome, lease: lease, state: state, nextAttemptAt: nextAttemptAt,
                                         reason: reason, error: nil, signature: lease.signature))
            } else {
                let error = outcome.error ?? "failed"
                let signature = outcome.errorSignature ?? error
                rollups.moved(connector: lease.connector, from: .inFlight, to: state, at: now,
                              oldSignature: lease.signature, newSignature: signature, error: error,
                              status: outcome.statusCode)
                failed[lease.connector] = error
                recorded.append(Recorded(outcome: outcome, lease: lease, state: state, nextAttemptAt: nextAttemptAt,
                                         reason: reason, error: error, signature: signature))
            }
            results.append(.recorded(state))
        }
    }
}

/// What lease recovery makes of a delivery whose lease expired without an outcome: the attempt
/// counts as failed, and the delivery is due again now, or dead when no attempt is left.
public struct ExpiredLease: Sendable, Equatable {
    /// The error signature every expired lease leaves: one error group per connector.
    public static let signature = "lease expired without an outcome"

    public var state: DeliveryState
    /// The delivery's last error and the failed attempt's.
    public var error: String
    /// The transition's reason.
    public var reason: String

    public init(owner: String?, expiredAt: Int64, attempts: Int, maxAttempts: Int) {
        error = "lease held by \(owner ?? "unknown worker") expired at \(Date(millis: expiredAt).iso8601) without an outcome"
        state = attempts >= maxAttempts ? .dead : .retrying
        reason = state == .dead ? "\(error); no attempt left" : "\(error); due again now"
    }
}
