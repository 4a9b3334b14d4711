import Crypto
import Foundation
import GRDB

extension Store {
    /// Stores one event and its deliveries, atomically; idempotent on (source, key).
    public func ingest(_ event: NewEvent) throws -> IngestResult {
        try ingest([event])[0]
    }

    /// Stores a batch of events in one durable transaction (group commit).
    ///
    /// Either every event of the batch is stored or none is: a bad event fails the whole batch with
    /// an error naming it, so a caller can acknowledge exactly what was committed.
    public func ingest(_ events: [NewEvent]) throws -> [IngestResult] {
        for (index, event) in events.enumerated() {
            try event.validate(index: index)
        }
        return try write { db in try Self.ingest(events, db: db) }
    }

    /// The most events one INSERT statement carries.
    static let eventsPerStatement = 256

    private struct SourceKey: Hashable {
        var source: ConnectorID
        var key: String
    }

    /// Set-based: events go in by multi-row INSERTs of 256, 128, … 1 rows (each shape prepared once
    /// and cached), deliveries by one `INSERT … SELECT` from a JSON argument, and the counters by
    /// one upsert per row they touch. A statement that inserts many rows keeps its cursors on the
    /// table and its indices open and positioned; one statement per row reopened and re-sought nine
    /// of them per delivery, which was most of the cost (docs/BENCHMARKS.md, session 4).
    static func ingest(_ events: [NewEvent], db: Database) throws -> [IngestResult] {
        // Connectors are few: checking sources and targets here names the bad one, where a foreign
        // key failure would only say that one row of a statement was wrong.
        let known = Set(try ConnectorID.fetchAll(db.cachedStatement(sql: "SELECT id FROM connectors")))
        for event in events {
            guard known.contains(event.sourceId) else { throw bad(event, "unknown source connector id \(event.sourceId)") }
            if let target = event.targets.first(where: { !known.contains($0.connectorId) }) {
                throw bad(event, "unknown target connector id \(target.connectorId)")
            }
        }
        // Replays of a signed body: answered with the event that body made, never stored again.
        let replays = try findReplays(events, db: db)
        let fresh = replays.isEmpty ? events : events.enumerated().filter { replays[$0.offset] == nil }.map(\.element)
        var inserted: [SourceKey: EventID] = [:]
        inserted.reserveCapacity(fresh.count)
        for range in statementShapes(fresh.count, largest: eventsPerStatement) {
            try insertEvents(fresh[range], db: db) { id, source, key in inserted[SourceKey(source: source, key: key)] = id }
        }

        var rollups = RollupDelta()
        var deliveries = JSONRows()
        var accepted: [(index: Int, id: EventID)] = []
        var results: [IngestResult?] = Array(repeating: nil, count: events.count)
        var seen = Set<SourceKey>()
        for (index, event) in events.enumerated() {
            if let replay = replays[index] {
                if case .stored(let id) = replay { results[index] = .duplicate(id) }
                continue
            }
            let key = SourceKey(source: event.sourceId, key: event.idempotencyKey)
            // The first event with a key is the one stored; a repeat in the same batch is its duplicate.
            if let id = inserted[key], seen.insert(key).inserted {
                let received = event.receivedAt.millis
                rollups.received(source: event.sourceId, at: received)
                for target in event.targets {
                    deliveries.row {
                        $0.add(id)
                        $0.add(target.connectorId)
                        $0.add(target.maxAttempts)
                        $0.add(received)
                    }
                    rollups.inserted(connector: target.connectorId, state: .pending)
                }
                accepted.append((index, id))
            } else if let id = inserted[key] {
                results[index] = .duplicate(id)
            } else {
                let existing = try EventID.fetchOne(
                    db.cachedStatement(sql: "SELECT id FROM events WHERE source_id = ? AND idempotency_key = ?"),
                    arguments: [event.sourceId, event.idempotencyKey])
                guard let existing else {
                    throw StoreError.invalidInput("event '\(event.idempotencyKey.prefix(80))' was neither stored nor found")
                }
                results[index] = .duplicate(existing)
            }
        }
        var deliveryIds: [EventID: [ConnectorID: DeliveryID]] = [:]
        if deliveries.count > 0 {
            deliveryIds.reserveCapacity(accepted.count)
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                INSERT INTO deliveries(event_id, connector_id, state, max_attempts, next_attempt_at, created_at, updated_at)
                SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'pending', json_extract(value, '$[2]'),
                       json_extract(value, '$[3]'), json_extract(value, '$[3]'), json_extract(value, '$[3]')
                FROM json_each(?)
                RETURNING id, event_id, connector_id
                """), arguments: [deliveries.json])
            while let row = try rows.next() {
                deliveryIds[row[1], default: [:]][row[2]] = row[0]
            }
        }
        for (index, id) in accepted {
            let made = deliveryIds[id] ?? [:]
            results[index] = .accepted(id, deliveries: events[index].targets.compactMap { made[$0.connectorId] })
        }
        // A replay of a body first seen in this batch is a duplicate of whatever that one became.
        for (index, replay) in replays {
            if case .sameAs(let first) = replay { results[index] = .duplicate(results[first]!.eventId) }
        }
        try rememberSignedBodies(events, results: results, db: db)
        try rollups.apply(db)
        return results.map { $0! }
    }

    private enum Replay {
        /// The body made this event, within the window.
        case stored(EventID)
        /// The body is that of an earlier event of the same batch.
        case sameAs(Int)
    }

    private struct DigestKey: Hashable {
        var source: ConnectorID
        var digest: String
    }

    /// The events of the batch whose signed body the same source sent within its replay window.
    private static func findReplays(_ events: [NewEvent], db: Database) throws -> [Int: Replay] {
        var replays: [Int: Replay] = [:]
        var firstInBatch: [DigestKey: Int] = [:]
        for (index, event) in events.enumerated() {
            guard let guardian = event.replayGuard else { continue }
            let key = DigestKey(source: event.sourceId, digest: guardian.digest)
            if let first = firstInBatch[key] {
                replays[index] = .sameAs(first)
                continue
            }
            let since = event.receivedAt.millis - Int64(min(guardian.window, 366 * 86400) * 1000)
            if let id = try EventID.fetchOne(db.cachedStatement(sql: """
                SELECT event_id FROM signed_bodies WHERE source_id = ? AND digest = ? AND received_at >= ?
                """), arguments: [event.sourceId, guardian.digest, since]) {
                replays[index] = .stored(id)
            } else {
                firstInBatch[key] = index
            }
        }
        return replays
    }

    /// Records the signed bodies of the events this batch stored (a body seen again after its
    /// window starts a new one).
    private static func rememberSignedBodies(_ events: [NewEvent], results: [IngestResult?], db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO signed_bodies(source_id, digest, event_id, received_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(source_id, digest) DO UPDATE SET event_id = excluded.event_id, received_at = excluded.received_at
            """)
        for (index, event) in events.enumerated() {
            guard let guardian = event.replayGuard, case .accepted(let id, _)? = results[index] else { continue }
            try statement.execute(arguments: [event.sourceId, guardian.digest, id, event.receivedAt.millis])
        }
    }

    /// Forgets signed bodies received before `cutoff` (the longest replay window ago).
    @discardableResult
    public func pruneSignedBodies(before cutoff: Date) throws -> Int {
        try write { db in
            try db.execute(sql: "DELETE FROM signed_bodies WHERE received_at < ?", arguments: [cutoff.millis])
            return db.changesCount
        }
    }

    private static func bad(_ event: NewEvent, _ what: String) -> StoreError {
        .invalidInput("event '\(event.idempotencyKey.prefix(80))': \(what)")
    }

    /// Inserts `chunk` with one statement, skipping keys the source already sent, and reports each
    /// event stored. On a CHECK failure the statement changed nothing; the events are tried one by
    /// one to name the bad one.
    private static func insertEvents(_ chunk: ArraySlice<NewEvent>, db: Database,
                                     stored: (EventID, ConnectorID, String) -> Void) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO events(topic, source_id, received_at, occurred_at, correlation_id,
                               idempotency_key, payload, payload_hash)
            VALUES \(valuesList(rows: chunk.count, columns: 8))
            ON CONFLICT(source_id, idempotency_key) DO NOTHING
            RETURNING id, source_id, idempotency_key
            """)
        var values: [DatabaseValue] = []
        values.reserveCapacity(chunk.count * 8)
        for event in chunk {
            values += [
                event.topic.databaseValue, event.sourceId.databaseValue, event.receivedAt.millis.databaseValue,
                event.occurredAt?.millis.databaseValue ?? .null, event.correlationId?.databaseValue ?? .null,
                event.idempotencyKey.databaseValue, event.payload.databaseValue, payloadHash(event.payload).databaseValue,
            ]
        }
        do {
            let rows = try Row.fetchCursor(statement, arguments: StatementArguments(values))
            while let row = try rows.next() { stored(row[0], row[1], row[2]) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            if chunk.count > 1 {
                // One by one, the bad event fails naming itself. The batch fails either way.
                for index in chunk.indices { try insertEvents(chunk[index...index], db: db) { _, _, _ in } }
            } else if error.message?.contains("json_valid") == true || error.message?.contains("CHECK") == true {
                throw bad(chunk[chunk.startIndex], "payload is not valid JSON")
            }
            throw error
        }
    }

    /// Hex SHA-256 of the payload's UTF-8 bytes.
    public static func payloadHash(_ payload: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: Data(payload.utf8)) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
