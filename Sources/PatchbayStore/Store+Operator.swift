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

    /// Set-based in chunks: one read of the states, one UPDATE and one multi-row INSERT of
    /// transitions per 400 deliveries, so requeueing 100,000 dead deliveries is a few hundred
    /// statements, not 300,000.
    static func retry(_ ids: [DeliveryID], reason: String?, db: Database, now: Int64) throws -> OperatorResult {
        var result = OperatorResult()
        var seen = Set<DeliveryID>()
        let unique = ids.filter { seen.insert($0).inserted }
        let why = reason ?? "requeued by operator"
        for chunk in unique.chunked(into: 400) {
            var states: [DeliveryID: DeliveryState] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT id, state FROM deliveries WHERE id IN (\(databaseQuestionMarks(count: chunk.count)))
                """, arguments: StatementArguments(Array(chunk))) {
                states[row[0]] = DeliveryState(rawValue: row[1])
            }
            var requeue: [(DeliveryID, DeliveryState)] = []
            for id in chunk {
                guard let state = states[id] else {
                    result.skipped.append(.init(id: id, reason: "no such delivery"))
                    continue
                }
                guard state.isRequeueable else {
                    result.skipped.append(.init(id: id, reason: "it is \(state.rawValue); only retrying, dead or discarded deliveries can be retried"))
                    continue
                }
                requeue.append((id, state))
            }
            guard !requeue.isEmpty else { continue }
            try db.execute(sql: """
                UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
                WHERE id IN (\(databaseQuestionMarks(count: requeue.count)))
                """, arguments: [now, now] + StatementArguments(requeue.map(\.0)))
            var values: [any DatabaseValueConvertible] = []
            values.reserveCapacity(requeue.count * 4)
            for (id, state) in requeue { values += [id, now, state.rawValue, why] }
            try db.execute(sql: """
                INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason)
                VALUES \(Array(repeating: "(?, ?, ?, 'pending', 'operator', ?)", count: requeue.count).joined(separator: ", "))
                """, arguments: StatementArguments(values))
            result.changed += requeue.map(\.0)
        }
        return result
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
