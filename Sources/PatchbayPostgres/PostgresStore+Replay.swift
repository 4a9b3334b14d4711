import Foundation
import PatchbayModel
import PostgresNIO

extension PostgresStore {
    /// Sends the events `filter` matches to `connector` again (see `OperatorActions.replay`), as
    /// SQLite's does. The target's existing deliveries are locked (`FOR UPDATE OF d`, in event
    /// order) so that a worker or another operator on another node cannot change them meanwhile;
    /// new deliveries go in with `ON CONFLICT DO NOTHING`, so an ingest that created one at the same
    /// moment keeps its own.
    public func replay(_ filter: ReplayFilter, to connector: String, reason: String? = nil, dryRun: Bool = false,
                       now: Date = Date()) throws -> ReplayResult {
        guard filter.isBounded else { throw StoreError.invalidInput(Self.unboundedReplay) }
        if dryRun {
            return try read { session in
                let target = try Self.retargetDestination(connector, session: session)
                let matches = try Self.replayMatches(filter, target: target.id, lock: false, session: session)
                return ReplayResult.plan(matches.map { ($0.event, $0.delivery, $0.state) }, dryRun: true).result
            }
        }
        let nowMs = now.millis
        return try write { session in
            let target = try Self.retargetDestination(connector, session: session)
            let matches = try Self.replayMatches(filter, target: target.id, lock: true, session: session)
            let (planned, create, requeue) = ReplayResult.plan(matches.map { ($0.event, $0.delivery, $0.state) },
                                                               dryRun: false)
            var result = planned
            let why = ReplayResult.transitionReason(reason)
            var rollups = RollupDelta()
            if !create.isEmpty {
                let ids = try session.rows("""
                    INSERT INTO deliveries(event_id, connector_id, state, max_attempts, next_attempt_at, created_at,
                                           updated_at, replays)
                    SELECT e, \(target.id), 'pending', \(target.maxAttempts ?? replayDefaultMaxAttempts), \(nowMs), \(nowMs),
                           \(nowMs), 1
                    FROM unnest(\(create)::bigint[]) WITH ORDINALITY AS x(e, n) ORDER BY n
                    ON CONFLICT (event_id, connector_id) DO NOTHING
                    RETURNING id
                    """).map { try $0.decode(Int64.self) }
                try session.run("""
                    INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason)
                    SELECT id, \(nowMs), 'pending', 'pending', 'operator', \(why) FROM unnest(\(ids)::bigint[]) AS x(id)
                    """)
                for _ in ids { rollups.inserted(connector: target.id, state: .pending) }
                result.created = ids.sorted()
                result.toCreate = ids.count
            }
            if !requeue.isEmpty {
                try session.run("""
                    INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason)
                    SELECT id, \(nowMs), state, 'pending', 'operator', \(why) FROM deliveries WHERE id = ANY(\(requeue))
                    """)
                try session.run("""
                    UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = \(nowMs), updated_at = \(nowMs),
                      replays = replays + 1
                    WHERE id = ANY(\(requeue))
                    """)
                let byId = Dictionary(uniqueKeysWithValues: matches.compactMap { match in
                    match.delivery.map { ($0, (match.state, match.signature)) }
                })
                for id in requeue {
                    let (state, signature) = byId[id]!
                    rollups.moved(connector: target.id, from: state ?? .delivered, to: .pending, at: nowMs,
                                  oldSignature: signature, newSignature: signature)
                }
            }
            try rollups.apply(session)
            if result.queued > 0 { try PostgresChanges.notify(session, due: [target.id]) }
            return result
        }
    }

    static let unboundedReplay = "a replay needs at least one condition (--since, --until, --topic, --source, --grep "
        + "or --state); to send the whole log again, say so with --since and the date of the first event"

    private struct ReplayMatch {
        var event: EventID
        var delivery: DeliveryID?
        var state: DeliveryState?
        var signature: String?
    }

    /// Each matched event, oldest first, with its delivery to the target, if any.
    private static func replayMatches(_ filter: ReplayFilter, target: ConnectorID, lock: Bool, session: Session) throws
        -> [ReplayMatch]
    {
        var clauses: [String] = []
        var values: [ReadValue] = [.int(target)]
        if let topic = filter.topic {
            clauses.append("e.topic = ?")
            values.append(.text(topic))
        }
        if let source = filter.sourceId {
            clauses.append("e.source_id = ?")
            values.append(.int(source))
        }
        if let since = filter.since {
            clauses.append("e.received_at >= ?")
            values.append(.int(since.millis))
        }
        if let until = filter.until {
            clauses.append("e.received_at < ?")
            values.append(.int(until.millis))
        }
        if let text = filter.text {
            // Byte for byte, as SQLite's instr(): strpos on the payload's text.
            clauses.append("strpos(e.payload::text, ?) > 0")
            values.append(.text(text))
        }
        if !filter.states.isEmpty {
            clauses.append("d.state IN (\(DeliveryState.allCases.filter(filter.states.contains).map { "'\($0.rawValue)'" }.joined(separator: ", ")))")
        }
        let whereSQL = clauses.isEmpty ? "true" : clauses.joined(separator: " AND ")
        if lock {
            // The target's deliveries of the matched events, locked in id order before their states
            // are read (an outer join's nullable side cannot be locked in the same statement).
            _ = try session.rows(ReadStatement("""
                SELECT d.id FROM deliveries d JOIN events e ON e.id = d.event_id
                WHERE d.connector_id = ? AND \(whereSQL)
                ORDER BY d.id FOR UPDATE OF d
                """, values))
        }
        let rows = try session.rows(ReadStatement("""
            SELECT e.id, d.id, d.state, d.error_signature FROM events e
            LEFT JOIN deliveries d ON d.event_id = e.id AND d.connector_id = ?
            WHERE \(whereSQL)
            ORDER BY e.id
            """, values))
        return try rows.map { row in
            let (event, delivery, state, signature) = try row.decode((Int64, Int64?, String?, String?).self)
            return ReplayMatch(event: event, delivery: delivery, state: state.flatMap(DeliveryState.init(rawValue:)),
                               signature: signature)
        }
    }
}
