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
}
