import Foundation

/// Which failing deliveries an operator means: the filter the dashboard and `patchbay failed` show.
public struct FailureFilter: Sendable, Equatable {
    public var connectorId: ConnectorID?
    public var errorGroupId: Int64?
    /// Among `retrying` and `dead`; empty means both.
    public var states: Set<DeliveryState>
    /// Last failed at or after.
    public var since: Date?
    /// Last failed before.
    public var until: Date?

    public init(connectorId: ConnectorID? = nil, errorGroupId: Int64? = nil, states: Set<DeliveryState> = [],
                since: Date? = nil, until: Date? = nil) {
        self.connectorId = connectorId
        self.errorGroupId = errorGroupId
        self.states = states
        self.since = since
        self.until = until
    }
}

/// What an operator's action did, delivery by delivery.
public struct OperatorResult: Sendable, Equatable {
    public var changed: [DeliveryID] = []
    /// Deliveries left as they were, with why.
    public var skipped: [Skip] = []

    public struct Skip: Sendable, Equatable {
        public var id: DeliveryID
        public var reason: String
        public init(id: DeliveryID, reason: String) {
            self.id = id
            self.reason = reason
        }
    }

    public init() {}
}

extension FailureFilter {
    /// The failing states the filter selects: `retrying` and `dead`, or those of `states` among them.
    public var effectiveStates: [DeliveryState] {
        DeliveryState.allCases.filter { $0.isFailing && (states.isEmpty || states.contains($0)) }
    }
}
