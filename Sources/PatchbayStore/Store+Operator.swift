import Foundation
import GRDB

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

    var effectiveStates: [DeliveryState] {
        let failing: Set<DeliveryState> = [.retrying, .dead]
        let chosen = states.isEmpty ? failing : states.intersection(failing)
        return DeliveryState.allCases.filter(chosen.contains)
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
    }

    public init() {}
}

extension Store {
    /// Requeues deliveries now, with a fresh set of attempts.
    ///
    /// Only `retrying`, `dead` and `discarded` deliveries move; a delivery that is already pending
    /// (for instance requeued a moment ago by another dashboard) is skipped, so a retry pressed twice
    /// requeues once.
    public func retry(_ ids: [DeliveryID], reason: String? = nil, now: Date = Date()) throws -> OperatorResult {
        try write { db in try Self.retry(ids, reason: reason, db: db, now: now.millis) }
    }

    /// Requeues every delivery the filter selects, in one transaction.
    public func retry(matching filter: FailureFilter, reason: String? = nil, now: Date = Date()) throws -> OperatorResult {
        try write { db in
            let ids = try Self.failingIds(filter, db: db)
            return try Self.retry(ids, reason: reason, db: db, now: now.millis)
        }
    }

    /// Marks deliveries discarded: they will not be tried again unless an operator retries them.
    public func discard(_ ids: [DeliveryID], reason: String? = nil, now: Date = Date()) throws -> OperatorResult {
        try write { db in
            try Self.apply(ids, db: db) { id, state in
                guard state.isDiscardable else {
                    return "it is \(state.rawValue); only pending, retrying or dead deliveries can be discarded"
                }
                try db.cachedStatement(sql: """
                    UPDATE deliveries SET state = 'discarded', next_attempt_at = NULL, updated_at = ? WHERE id = ?
                    """).execute(arguments: [now.millis, id])
                try Self.recordTransition(db, delivery: id, at: now.millis, from: state.rawValue, to: .discarded,
                                     actor: .operator_, reason: reason ?? "discarded by operator")
                return nil
            }
        }
    }

    static func retry(_ ids: [DeliveryID], reason: String?, db: Database, now: Int64) throws -> OperatorResult {
        try apply(ids, db: db) { id, state in
            guard state.isRequeueable else {
                return "it is \(state.rawValue); only retrying, dead or discarded deliveries can be retried"
            }
            try db.cachedStatement(sql: """
                UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?
                """).execute(arguments: [now, now, id])
            try recordTransition(db, delivery: id, at: now, from: state.rawValue, to: .pending,
                                 actor: .operator_, reason: reason ?? "requeued by operator")
            return nil
        }
    }

    /// Runs `change` on each existing delivery; `change` returns why it skipped one, or nil.
    private static func apply(
        _ ids: [DeliveryID], db: Database, change: (DeliveryID, DeliveryState) throws -> String?
    ) throws -> OperatorResult {
        var result = OperatorResult()
        let stateOf = try db.cachedStatement(sql: "SELECT state FROM deliveries WHERE id = ?")
        var seen = Set<DeliveryID>()
        for id in ids where seen.insert(id).inserted {
            guard let state = try DeliveryState.fetchOne(stateOf, arguments: [id]) else {
                result.skipped.append(.init(id: id, reason: "no such delivery"))
                continue
            }
            if let why = try change(id, state) {
                result.skipped.append(.init(id: id, reason: why))
            } else {
                result.changed.append(id)
            }
        }
        return result
    }

    /// Ids of the failing deliveries a filter selects, through the partial indices on failures.
    static func failingIds(_ filter: FailureFilter, db: Database) throws -> [DeliveryID] {
        var (sql, arguments) = try failingWhere(filter, db: db)
        sql = "SELECT id FROM deliveries WHERE \(sql)"
        return try DeliveryID.fetchAll(db, sql: sql, arguments: arguments)
    }

    /// The WHERE clause selecting a filter's failing deliveries; `alias` prefixes column names ("d.").
    static func failingWhere(_ filter: FailureFilter, db: Database, alias p: String = "") throws -> (String, StatementArguments) {
        // The state test must read exactly like the partial indices' WHERE for SQLite to use them.
        var clauses = ["\(p)state IN ('retrying', 'dead')"]
        var arguments = StatementArguments()
        let states = filter.effectiveStates
        // States were named, but none of them is failing: nothing matches (not "both").
        if states.isEmpty { return ("0", []) }
        if states.count == 1 {
            clauses.append("\(p)state = ?")
            _ = arguments.append(contentsOf: [states[0]])
        }
        var connectorId = filter.connectorId
        if let groupId = filter.errorGroupId {
            guard let row = try Row.fetchOne(
                db, sql: "SELECT connector_id, signature FROM error_groups WHERE id = ?", arguments: [groupId]) else {
                throw StoreError.unknownErrorGroup(groupId)
            }
            let groupConnector: ConnectorID = row[0]
            if let connectorId, connectorId != groupConnector {
                return ("0", [])
            }
            connectorId = groupConnector
            clauses.append("\(p)error_signature = ?")
            _ = arguments.append(contentsOf: [row[1] as String])
        }
        if let connectorId {
            clauses.append("\(p)connector_id = ?")
            _ = arguments.append(contentsOf: [connectorId])
        }
        if let since = filter.since {
            clauses.append("\(p)updated_at >= ?")
            _ = arguments.append(contentsOf: [since.millis])
        }
        if let until = filter.until {
            clauses.append("\(p)updated_at < ?")
            _ = arguments.append(contentsOf: [until.millis])
        }
        return (clauses.joined(separator: " AND "), arguments)
    }
}
