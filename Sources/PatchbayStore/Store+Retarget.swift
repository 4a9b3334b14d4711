import Foundation
import GRDB

extension Store {
    /// Moves deliveries to another sink connector and requeues them there, due now, with a fresh set
    /// of attempts: how an operator rescues the deliveries of a connector that was removed from the
    /// configuration or renamed (`patchbay retry ID... --to NEW`).
    ///
    /// A delivery keeps its id, so it keeps its `Idempotency-Key`: after a rename, a target that saw
    /// an earlier attempt still recognises the repeat. Pending, retrying, dead and discarded
    /// deliveries move; one in flight is skipped (a worker holds it; once its lease expires, lease
    /// recovery makes it retrying). A delivery already at `connector` is skipped, so a move pressed
    /// twice requeues once, and so is one whose event already has a delivery to `connector`. Each
    /// move is a transition by the operator, "moved from 'OLD' to 'NEW'"; the earlier transitions
    /// stay counted for the old connector.
    public func retarget(_ ids: [DeliveryID], to connector: String, reason: String? = nil,
                         now: Date = Date()) throws -> OperatorResult {
        try write { db in
            let target = try Self.retargetDestination(connector, db: db)
            return try Self.retarget(ids, to: target, reason: reason, db: db, now: now.millis)
        }
    }

    /// Moves every delivery the filter selects from its connector (which the filter must name) to
    /// `connector`, as `retarget(_:to:)` does, in one transaction.
    ///
    /// Without states or an error group, the filter selects the connector's pending deliveries too,
    /// not only its failing ones: a connector no worker serves has a queue that never moves.
    public func retarget(matching filter: FailureFilter, to connector: String, reason: String? = nil,
                         now: Date = Date()) throws -> OperatorResult {
        guard let source = filter.connectorId else {
            throw StoreError.invalidInput("name the connector to move deliveries from (--connector)")
        }
        return try write { db in
            let target = try Self.retargetDestination(connector, db: db)
            let (clause, arguments) = try Self.failingWhere(filter, db: db)
            var ids = try DeliveryID.fetchAll(db, sql: "SELECT id FROM deliveries WHERE \(clause)", arguments: arguments)
            if filter.states.isEmpty && filter.errorGroupId == nil {
                var pending: StatementArguments = [source]
                var since = ""
                if let date = filter.since {
                    since = " AND updated_at >= ?"
                    _ = pending.append(contentsOf: [date.millis])
                }
                if let date = filter.until {
                    since += " AND updated_at < ?"
                    _ = pending.append(contentsOf: [date.millis])
                }
                ids += try DeliveryID.fetchAll(db, sql: """
                    SELECT id FROM deliveries WHERE connector_id = ? AND state = 'pending'\(since)
                    """, arguments: pending)
            }
            ids.sort()
            return try Self.retarget(ids, to: target, reason: reason, db: db, now: now.millis)
        }
    }

    /// The connector deliveries may move to: a sink the running configuration names.
    static func retargetDestination(_ name: String, db: Database) throws -> RetargetDestination {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT id, direction, orphaned_at, max_attempts FROM connectors WHERE name = ?
            """, arguments: [name]) else {
            throw StoreError.unknownConnector(name)
        }
        return try RetargetDestination(id: row[0], name: name, direction: row[1], orphaned: (row[2] as Int64?) != nil,
                                       maxAttempts: row[3])
    }

    private static func retarget(_ ids: [DeliveryID], to target: RetargetDestination, reason: String?, db: Database,
                                 now: Int64) throws -> OperatorResult {
        var result = OperatorResult()
        var rollups = RollupDelta()
        var seen = Set<DeliveryID>()
        let unique = ids.filter { seen.insert($0).inserted }
        // Each delivery with its event and the delivery its event already has to the target, if any
        // (UNIQUE(event_id, connector_id) allows one).
        let read = try db.cachedStatement(sql: """
            SELECT d.id, d.state, d.connector_id, d.error_signature, d.event_id, o.id
            FROM deliveries d LEFT JOIN deliveries o ON o.event_id = d.event_id AND o.connector_id = ?
            WHERE d.id IN (SELECT value FROM json_each(?))
            """)
        let why = target.transitionReason(reason)
        var eventsTaken = Set<EventID>()
        for chunk in unique.chunked(into: operatorChunk) {
            var byId: [DeliveryID: RetargetCandidate] = [:]
            for row in try Row.fetchAll(read, arguments: [target.id, JSONRows.ids(chunk)]) {
                byId[row[0]] = RetargetCandidate(delivery: OperatorDelivery(row: row), event: row[4], existing: row[5])
            }
            let movable = result.retargetable(Array(chunk), found: byId, to: target, eventsTaken: &eventsTaken)
            guard !movable.isEmpty else { continue }
            let json = JSONRows.ids(movable.map(\.id))
            // History stays where it happened: the transitions so far count for the old connector.
            try db.cachedStatement(sql: """
                UPDATE transitions SET connector_id = (SELECT connector_id FROM deliveries WHERE id = transitions.delivery_id)
                WHERE delivery_id IN (SELECT value FROM json_each(?)) AND connector_id IS NULL
                """).execute(arguments: [json])
            try db.cachedStatement(sql: """
                INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason)
                SELECT d.id, ?, d.state, 'pending', 'operator', 'moved from ''' || c.name || ''' ' || ?
                FROM deliveries d JOIN connectors c ON c.id = d.connector_id
                WHERE d.id IN (SELECT value FROM json_each(?))
                """).execute(arguments: [now, why, json])
            try db.cachedStatement(sql: """
                UPDATE deliveries SET connector_id = ?, state = 'pending', attempts = 0,
                  max_attempts = coalesce(?, max_attempts), next_attempt_at = ?, updated_at = ?
                WHERE id IN (SELECT value FROM json_each(?))
                """).execute(arguments: [target.id, target.maxAttempts, now, now, json])
            for row in movable {
                rollups.retargeted(from: row.connector, to: target.id, state: row.state, signature: row.signature, at: now)
            }
            result.changed += movable.map(\.id)
        }
        try rollups.apply(db)
        return result
    }
}
