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
