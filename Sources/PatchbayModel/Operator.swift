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

/// What an operator's action reads of a delivery before it changes it: its state for the rules,
/// its connector and signature for the counters.
public struct OperatorDelivery: Sendable, Equatable {
    public var id: DeliveryID
    public var state: DeliveryState
    public var connector: ConnectorID
    public var signature: String?

    public init(id: DeliveryID, state: DeliveryState, connector: ConnectorID, signature: String?) {
        self.id = id
        self.state = state
        self.connector = connector
        self.signature = signature
    }
}

/// A retarget's view of one delivery: its row, its event, and the delivery its event already has
/// to the target, if any (UNIQUE(event_id, connector_id) allows one).
public struct RetargetCandidate: Sendable, Equatable {
    public var delivery: OperatorDelivery
    public var event: EventID
    public var existing: DeliveryID?

    public init(delivery: OperatorDelivery, event: EventID, existing: DeliveryID?) {
        self.delivery = delivery
        self.event = event
        self.existing = existing
    }
}

/// The sink deliveries move to (`patchbay retry --to`).
public struct RetargetDestination: Sendable, Equatable {
    public var id: ConnectorID
    public var name: String
    /// The sink's own attempt limit, which the moved deliveries take; nil keeps theirs.
    public var maxAttempts: Int?

    /// Refuses a source, and a sink the running configuration no longer names: no worker would
    /// send what moved there.
    public init(id: ConnectorID, name: String, direction: String, orphaned: Bool, maxAttempts: Int?) throws {
        if direction != ConnectorDirection.sink.rawValue {
            throw StoreError.invalidInput("connector '\(name)' is a source; deliveries can only move to a sink connector")
        }
        if orphaned {
            throw StoreError.invalidInput(
                "connector '\(name)' is not in the hub's configuration either (orphaned): no worker would send them; "
                    + "name a connector the configuration has, and run the hub with it once")
        }
        self.id = id
        self.name = name
        self.maxAttempts = maxAttempts
    }

    /// The end of each move's transition reason, after "moved from 'OLD' ".
    public func transitionReason(_ reason: String?) -> String {
        "to '\(name)' and requeued by operator" + (reason.map { ": \($0)" } ?? "")
    }
}

extension OperatorResult {
    /// Sorts one chunk of the deliveries an operator named, in the order named: those whose state
    /// is `allowed` are returned, to be changed; the others are reported skipped, a missing one as
    /// "no such delivery", another as "it is dead; `refusal`".
    public mutating func movable(_ chunk: [DeliveryID], found: [DeliveryID: OperatorDelivery],
                                 allowed: (DeliveryState) -> Bool, refusal: String) -> [OperatorDelivery] {
        var movable: [OperatorDelivery] = []
        for id in chunk {
            guard let row = found[id] else {
                skipped.append(.init(id: id, reason: "no such delivery"))
                continue
            }
            if allowed(row.state) {
                movable.append(row)
            } else {
                skipped.append(.init(id: id, reason: "it is \(row.state.rawValue); \(refusal)"))
            }
        }
        return movable
    }

    /// Sorts one chunk of the deliveries a retarget named, in the order named: those that may move
    /// to `target` are returned; the others are reported skipped, with why. A delivery already
    /// there, one a worker holds, one whose event already has a delivery there, and a second
    /// delivery of an event in the same action (`eventsTaken`, across chunks) stay where they are.
    public mutating func retargetable(_ chunk: [DeliveryID], found: [DeliveryID: RetargetCandidate],
                                      to target: RetargetDestination, eventsTaken: inout Set<EventID>)
        -> [OperatorDelivery]
    {
        var movable: [OperatorDelivery] = []
        for id in chunk {
            guard let found = found[id] else {
                skipped.append(.init(id: id, reason: "no such delivery"))
                continue
            }
            let state = found.delivery.state
            if found.delivery.connector == target.id {
                skipped.append(.init(id: id, reason: "it already goes to '\(target.name)'"))
            } else if !state.isRetargetable {
                let detail = state == .inFlight
                    ? "a worker holds it; once its lease expires it is retrying and can be moved"
                    : "only pending, retrying, dead or discarded deliveries can be moved"
                skipped.append(.init(id: id, reason: "it is \(state.rawValue); \(detail)"))
            } else if let existing = found.existing {
                skipped.append(.init(
                    id: id, reason: "its event \(found.event) already has delivery \(existing) to '\(target.name)'"))
            } else if !eventsTaken.insert(found.event).inserted {
                skipped.append(.init(
                    id: id, reason: "another delivery of its event \(found.event) moves to '\(target.name)' in this action"))
            } else {
                movable.append(found.delivery)
            }
        }
        return movable
    }
}
