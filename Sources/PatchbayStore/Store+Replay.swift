import Foundation
import GRDB

extension Store {
    /// Sends the events `filter` matches to `connector` again (see `OperatorActions.replay`).
    ///
    /// Set-based in chunks of `operatorChunk`: one read of the matches (the events through their
    /// indices, each with its delivery to the target through `UNIQUE (event_id, connector_id)`), then
    /// per chunk one `INSERT … SELECT` of new deliveries, one of transitions and one UPDATE of the
    /// finished ones.
    public func replay(_ filter: ReplayFilter, to connector: String, reason: String? = nil, dryRun: Bool = false,
                       now: Date = Date()) throws -> ReplayResult {
        guard filter.isBounded else { throw StoreError.invalidInput(Self.unboundedReplay) }
        if dryRun {
            return try read { db in
                let target = try Self.retargetDestination(connector, db: db)
                return ReplayResult.plan(try Self.replayMatches(filter, target: target.id, db: db), dryRun: true).result
            }
        }
        return try write { db in
            let target = try Self.retargetDestination(connector, db: db)
            let (planned, create, requeue) = ReplayResult.plan(try Self.replayMatches(filter, target: target.id, db: db),
                                                               dryRun: false)
            var result = planned
            let nowMs = now.millis
            let why = ReplayResult.transitionReason(reason)
            var rollups = RollupDelta()
            for chunk in create.chunked(into: Self.operatorChunk) {
                let rows = try Row.fetchAll(db.cachedStatement(sql: """
                    INSERT INTO deliveries(event_id, connector_id, state, max_attempts, next_attempt_at, created_at,
                                           updated_at, replays)
                    SELECT value, ?, 'pending', ?, ?, ?, ?, 1 FROM json_each(?)
                    RETURNING id
                    """), arguments: [target.id, target.maxAttempts ?? replayDefaultMaxAttempts, nowMs, nowMs, nowMs,
                                      JSONRows.ids(chunk)])
                let ids: [DeliveryID] = rows.map { $0[0] }
                try db.cachedStatement(sql: """
                    INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason)
                    SELECT value, ?, 'pending', 'pending', 'operator', ? FROM json_each(?)
                    """).execute(arguments: [nowMs, why, JSONRows.ids(ids)])
                for _ in ids { rollups.inserted(connector: target.id, state: .pending) }
                result.created += ids
            }
            for chunk in requeue.chunked(into: Self.operatorChunk) {
                let ids = JSONRows.ids(chunk)
                let moved = try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT state, error_signature FROM deliveries WHERE id IN (SELECT value FROM json_each(?))
                    """), arguments: [ids])
                try db.cachedStatement(sql: """
                    INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason)
                    SELECT id, ?, state, 'pending', 'operator', ? FROM deliveries WHERE id IN (SELECT value FROM json_each(?))
                    """).execute(arguments: [nowMs, why, ids])
                try db.cachedStatement(sql: """
                    UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?,
                      replays = replays + 1
                    WHERE id IN (SELECT value FROM json_each(?))
                    """).execute(arguments: [nowMs, nowMs, ids])
                for row in moved {
                    let state = DeliveryState(rawValue: row[0]) ?? .delivered
                    let signature: String? = row[1]
                    rollups.moved(connector: target.id, from: state, to: .pending, at: nowMs,
                                  oldSignature: signature, newSignature: signature)
                }
            }
            try rollups.apply(db)
            return result
        }
    }

    static let unboundedReplay = "a replay needs at least one condition (--since, --until, --topic, --source, --grep "
        + "or --state); to send the whole log again, say so with --since and the date of the first event"

    /// Each matched event, oldest first, with its delivery to the target, if any.
    private static func replayMatches(_ filter: ReplayFilter, target: ConnectorID, db: Database) throws
        -> [(event: EventID, delivery: DeliveryID?, state: DeliveryState?)]
    {
        var clauses: [String] = []
        var arguments: [DatabaseValueConvertible?] = [target]
        if let topic = filter.topic {
            clauses.append("e.topic = ?")
            arguments.append(topic)
        }
        if let source = filter.sourceId {
            clauses.append("e.source_id = ?")
            arguments.append(source)
        }
        if let since = filter.since {
            clauses.append("e.received_at >= ?")
            arguments.append(since.millis)
        }
        if let until = filter.until {
            clauses.append("e.received_at < ?")
            arguments.append(until.millis)
        }
        if let text = filter.text {
            clauses.append("instr(e.payload, ?) > 0")
            arguments.append(text)
        }
        if !filter.states.isEmpty {
            clauses.append("d.state IN (SELECT value FROM json_each(?))")
            arguments.append(jsonStates(DeliveryState.allCases.filter(filter.states.contains)))
        }
        let rows = try Row.fetchAll(db, sql: """
            SELECT e.id, d.id, d.state FROM events e
            LEFT JOIN deliveries d ON d.event_id = e.id AND d.connector_id = ?
            WHERE \(clauses.isEmpty ? "1" : clauses.joined(separator: " AND "))
            ORDER BY e.id
            """, arguments: StatementArguments(arguments))
        return rows.map { row in
            let state: String? = row[2]
            return (row[0], row[1], state.flatMap(DeliveryState.init(rawValue:)))
        }
    }
}
