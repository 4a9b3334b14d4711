import Foundation

/// What an operator does to deliveries and connectors: retry, discard, move to another connector,
/// pause and resume. The CLI calls these; the dashboard's `DashboardActing` is built on them.
public protocol OperatorActions: Sendable {
    func retry(_ ids: [DeliveryID], reason: String?, now: Date) throws -> OperatorResult
    func retry(matching filter: FailureFilter, reason: String?, now: Date) throws -> OperatorResult
    func discard(_ ids: [DeliveryID], reason: String?, now: Date) throws -> OperatorResult
    func discard(connector: ConnectorID, states: Set<DeliveryState>, reason: String?, now: Date) throws -> OperatorResult
    func retarget(_ ids: [DeliveryID], to connector: String, reason: String?, now: Date) throws -> OperatorResult
    func retarget(matching filter: FailureFilter, to connector: String, reason: String?, now: Date) throws
        -> OperatorResult
    /// - Returns: whether the connector's paused state changed.
    @discardableResult
    func setPaused(_ name: String, paused: Bool, reason: String?) throws -> Bool
    /// Sends the events `filter` matches to the sink `connector` again: a new delivery for each
    /// event that has none there, a finished one (delivered, dead, discarded) requeued with a fresh
    /// set of attempts and a replay idempotency key; one waiting or in flight is skipped. One
    /// transaction, recorded as operator transitions with `reason`. `dryRun` counts and writes nothing.
    func replay(_ filter: ReplayFilter, to connector: String, reason: String?, dryRun: Bool, now: Date) throws
        -> ReplayResult
}

extension OperatorActions {
    public func retry(_ ids: [DeliveryID], reason: String? = nil) throws -> OperatorResult {
        try retry(ids, reason: reason, now: Date())
    }

    public func retry(matching filter: FailureFilter, reason: String? = nil) throws -> OperatorResult {
        try retry(matching: filter, reason: reason, now: Date())
    }

    public func discard(_ ids: [DeliveryID], reason: String? = nil) throws -> OperatorResult {
        try discard(ids, reason: reason, now: Date())
    }

    public func discard(connector: ConnectorID, states: Set<DeliveryState> = [], reason: String? = nil) throws
        -> OperatorResult
    {
        try discard(connector: connector, states: states, reason: reason, now: Date())
    }

    public func retarget(_ ids: [DeliveryID], to connector: String, reason: String? = nil) throws -> OperatorResult {
        try retarget(ids, to: connector, reason: reason, now: Date())
    }

    public func retarget(matching filter: FailureFilter, to connector: String, reason: String? = nil) throws
        -> OperatorResult
    {
        try retarget(matching: filter, to: connector, reason: reason, now: Date())
    }

    @discardableResult
    public func setPaused(_ name: String, paused: Bool) throws -> Bool {
        try setPaused(name, paused: paused, reason: nil)
    }

    public func replay(_ filter: ReplayFilter, to connector: String, reason: String? = nil, dryRun: Bool = false)
        throws -> ReplayResult
    {
        try replay(filter, to: connector, reason: reason, dryRun: dryRun, now: Date())
    }
}
