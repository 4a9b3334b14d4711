import Foundation

/// What a delivery worker needs: claim due deliveries under a lease, record their outcomes (only
/// while the lease is held), recover expired leases, and learn when the next delivery is due.
public protocol DeliveryQueue: Sendable {
    func claimDueDeliveries(connector: ConnectorID?, limit: Int, lease: TimeInterval, owner: String, now: Date) throws
        -> [Claim]
    func record(_ outcomes: [DeliveryOutcome], now: Date) throws -> [OutcomeRecord]
    @discardableResult
    func recoverExpiredLeases(now: Date, limit: Int) throws -> [DeliveryID]
    /// The earliest due time (ms) of a connector's pending or retrying deliveries, if any.
    func nextDueAt(connector: ConnectorID) throws -> Int64?
}

extension DeliveryQueue {
    /// How many expired leases one recovery pass takes at most.
    public static var leaseRecoveryLimit: Int { 1000 }

    public func claimDueDeliveries(connector: ConnectorID? = nil, limit: Int, lease: TimeInterval, owner: String) throws
        -> [Claim]
    {
        try claimDueDeliveries(connector: connector, limit: limit, lease: lease, owner: owner, now: Date())
    }

    public func record(_ outcomes: [DeliveryOutcome]) throws -> [OutcomeRecord] {
        try record(outcomes, now: Date())
    }

    @discardableResult
    public func recoverExpiredLeases() throws -> [DeliveryID] {
        try recoverExpiredLeases(now: Date(), limit: Self.leaseRecoveryLimit)
    }
}

/// A backend shared by several hub nodes holds each sink's limits in the database, so that they
/// hold in total, over every node: a claim never lets the connector's in-flight deliveries exceed
/// `concurrency`, and takes its deliveries from the connector's one token bucket (`ratePerSecond`,
/// `burst`). `patchbay run` writes the limits of its configuration at start.
public protocol SharedDeliveryLimits: Sendable {
    func setDeliveryLimits(connector: ConnectorID, concurrency: Int, ratePerSecond: Double?, burst: Double?) throws
}

/// The circuit breaker's writes: a connector whose last attempts all failed is paused by the
/// breaker (`paused_by = 'breaker'`), probed one delivery at a time, and resumed when a probe
/// succeeds. An operator's pause is never resumed by a probe.
public protocol CircuitBreaking: Sendable {
    /// Pauses the connector as the breaker unless something already paused it. True when it tripped now.
    func tripBreaker(connector: ConnectorID, reason: String, now: Date) throws -> Bool
    /// Resumes the connector if the breaker paused it. True when it resumed now.
    func closeBreaker(connector: ConnectorID, now: Date) throws -> Bool
    /// Claims the next waiting delivery of a connector the breaker paused, due or not, as a probe.
    /// Its attempt is free (`max_attempts` grows by one with it), so probes never dead-letter.
    func claimProbe(connector: ConnectorID, lease: TimeInterval, owner: String, now: Date) throws -> Claim?
}
