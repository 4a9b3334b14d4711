import Foundation
import GRDB

extension OperatorDelivery {
    /// From `SELECT id, state, connector_id, error_signature`.
    init(row: Row) {
        self.init(id: row[0], state: row[1], connector: row[2], signature: row[3])
    }
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
            // The filter reads each row's state, connector and signature already: no second look-up.
            var (sql, arguments) = try Self.failingWhere(filter, db: db)
            sql = "SELECT id, state, connector_id, error_signature FROM deliveries WHERE \(sql)"
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments).map(OperatorDelivery.init(row:))
            var result = OperatorResult()
            var rollups = RollupDelta()
            for chunk in rows.chunked(into: Self.operatorChunk) {
                try Self.requeue(Array(chunk), reason: reason, db: db, now: now.millis, rollups: &rollups)
                result.changed += chunk.map(\.id)
            }
            try rollups.apply(db)
            return result
        }
    }

    /// Marks deliveries discarded: they will not be tried again unless an operator retries them.
    public func discard(_ ids: [DeliveryID], reason: String? = nil, now: Date = Date()) throws -> OperatorResult {
        try write { db in try Self.discard(ids, reason: reason, db: db, now: now.millis) }
    }

    /// Discards every pending, retrying and dead delivery of one connector (or only those in
    /// `states`), in one transaction: what is left of a connector the configuration no longer names.
    public func discard(connector: ConnectorID, states: Set<DeliveryState> = [], reason: String? = nil,
                        now: Date = Date()) throws -> OperatorResult {
        try write { db in
            let chosen = DeliveryState.allCases.filter { $0.isDiscardable && (states.isEmpty || states.contains($0)) }
            let ids = try DeliveryID.fetchAll(db, sql: """
                SELECT id FROM deliveries WHERE connector_id = ? AND state IN (SELECT value FROM json_each(?)) ORDER BY id
                """, arguments: [connector, Self.jsonStates(chosen)])
            return try Self.discard(ids, reason: reason, db: db, now: now.millis)
        }
    }

    private static func discard(_ ids: [DeliveryID], reason: String?, db: Database, now: Int64) throws -> OperatorResult {
        var result = OperatorResult()
        var rollups = RollupDelta()
        let why = reason ?? "discarded by operator"
        try forEachMovable(ids, db: db, result: &result, allowed: \.isDiscardable,
                           refusal: "only pending, retrying or dead deliveries can be discarded") { rows in
            let ids = JSONRows.ids(rows.map(\.id))
            try setState(of: ids, to: .discarded, actor: .operator_, reason: why, db: db, now: now)
            try db.cachedStatement(sql: """
                UPDATE deliveries SET state = 'discarded', next_attempt_at = NULL, updated_at = ?
                WHERE id IN (SELECT value FROM json_each(?))
                """).execute(arguments: [now, ids])
            for row in rows {
                rollups.moved(connector: row.connector, from: row.state, to: .discarded, at: now,
                              oldSignature: row.signature, newSignature: row.signature)
            }
        }
        try rollups.apply(db)
        return result
    }

    /// `["pending","dead"]`, for `state IN (SELECT value FROM json_each(?))`.
    static func jsonStates(_ states: [DeliveryState]) -> String {
        "[" + states.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]"
    }

    /// How many deliveries an operator action reads and changes per statement.
    static let operatorChunk = 10_000

    /// Set-based in chunks: one read of the states, one UPDATE and one `INSERT … SELECT` of
    /// transitions per chunk, each a cached statement with the ids as one JSON argument, so
    /// requeueing 100,000 dead deliveries is a few dozen statements, not 300,000.
    static func retry(_ ids: [DeliveryID], reason: String?, db: Database, now: Int64) throws -> OperatorResult {
        var result = OperatorResult()
        var rollups = RollupDelta()
        try forEachMovable(ids, db: db, result: &result, allowed: \.isRequeueable,
                           refusal: "only retrying, dead or discarded deliveries can be retried") { rows in
            try requeue(rows, reason: reason, db: db, now: now, rollups: &rollups)
        }
        try rollups.apply(db)
        return result
    }

    /// Moves requeueable deliveries to pending, due now, with a fresh set of attempts.
    private static func requeue(_ rows: [OperatorDelivery], reason: String?, db: Database, now: Int64,
                                rollups: inout RollupDelta) throws {
        let ids = JSONRows.ids(rows.map(\.id))
        try setState(of: ids, to: .pending, actor: .operator_, reason: reason ?? "requeued by operator", db: db, now: now)
        try db.cachedStatement(sql: """
            UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
            WHERE id IN (SELECT value FROM json_each(?))
            """).execute(arguments: [now, now, ids])
        for row in rows {
            rollups.moved(connector: row.connector, from: row.state, to: .pending, at: now,
                          oldSignature: row.signature, newSignature: row.signature)
        }
    }

    /// Records the transitions of the deliveries `ids` (a JSON array) from their current state to
    /// `state`, with one `INSERT … SELECT` that reads the states from the rows themselves: run it
    /// before the UPDATE.
    private static func setState(of ids: String, to state: DeliveryState, actor: Actor, reason: String,
                                 db: Database, now: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason)
            SELECT id, ?, state, ?, ?, ? FROM deliveries WHERE id IN (SELECT value FROM json_each(?))
            """).execute(arguments: [now, state, actor, reason, ids])
    }

    /// Reads the named deliveries in chunks, each once, and hands `move` those whose state is
    /// `allowed`; the others are reported skipped (missing, or "it is dead; `refusal`"), in the order
    /// given, and the moved ones changed.
    private static func forEachMovable(
        _ ids: [DeliveryID], db: Database, result: inout OperatorResult, allowed: (DeliveryState) -> Bool,
        refusal: String, _ move: ([OperatorDelivery]) throws -> Void
    ) throws {
        var seen = Set<DeliveryID>()
        let unique = ids.filter { seen.insert($0).inserted }
        let read = try db.cachedStatement(sql: """
            SELECT id, state, connector_id, error_signature FROM deliveries WHERE id IN (SELECT value FROM json_each(?))
            """)
        for chunk in unique.chunked(into: operatorChunk) {
            var byId: [DeliveryID: OperatorDelivery] = [:]
            for row in try Row.fetchAll(read, arguments: [JSONRows.ids(chunk)]) {
                let found = OperatorDelivery(row: row)
                byId[found.id] = found
            }
            let movable = result.movable(Array(chunk), found: byId, allowed: allowed, refusal: refusal)
            guard !movable.isEmpty else { continue }
            try move(movable)
            result.changed += movable.map(\.id)
        }
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
