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

    /// Set-based: events go in by multi-row INSERTs of 256, 128, … 1 rows (each shape prepared once
    /// and cached), deliveries by one `INSERT … SELECT` from a JSON argument, and the counters by
    /// one upsert per row they touch. A statement that inserts many rows keeps its cursors on the
    /// table and its indices open and positioned; one statement per row reopened and re-sought nine
    /// of them per delivery, which was most of the cost (docs/BENCHMARKS.md, session 4).
    /// `IngestBatch` decides, between the statements, what each event becomes.
    static func ingest(_ events: [NewEvent], db: Database) throws -> [IngestResult] {
        // Connectors are few: checking sources and targets here names the bad one.
        let known = Set(try ConnectorID.fetchAll(db.cachedStatement(sql: "SELECT id FROM connectors")))
        try NewEvent.checkConnectors(events, known: known)
        // Replays of a signed body: answered with the event that body made, never stored again.
        var batch = try IngestBatch(events) { index in
            let event = events[index]
            return try EventID.fetchOne(db.cachedStatement(sql: """
                SELECT event_id FROM signed_bodies WHERE source_id = ? AND digest = ? AND received_at >= ?
                """), arguments: [event.sourceId, event.replayGuard!.digest, event.replayWindowStart!])
        }
        var inserted: [IngestBatch.SourceKey: EventID] = [:]
        inserted.reserveCapacity(batch.fresh.count)
        for range in statementShapes(batch.fresh.count, largest: eventsPerStatement) {
            try insertEvents(batch.fresh[range], db: db) { id, source, key in
                inserted[IngestBatch.SourceKey(source: source, key: key)] = id
            }
        }
        batch.inserted(inserted)
        for index in batch.missing {
            let event = events[index]
            try batch.found(try EventID.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM events WHERE source_id = ? AND idempotency_key = ?"),
                arguments: [event.sourceId, event.idempotencyKey]), at: index)
        }

        var deliveryIds: [EventID: [ConnectorID: DeliveryID]] = [:]
        if !batch.deliveries.isEmpty {
            var deliveries = JSONRows()
            for delivery in batch.deliveries {
                deliveries.row {
                    $0.add(delivery.event)
                    $0.add(delivery.connector)
                    $0.add(delivery.maxAttempts)
                    $0.add(delivery.at)
                }
            }
            deliveryIds.reserveCapacity(batch.deliveries.count)
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
        let results = batch.results(deliveryIds: deliveryIds)
        try rememberSignedBodies(events, results: results, db: db)
        try batch.rollups.apply(db)
        return results
    }

    /// Records the signed bodies of the events this batch stored (a body seen again after its
    /// window starts a new one).
    private static func rememberSignedBodies(_ events: [NewEvent], results: [IngestResult], db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO signed_bodies(source_id, digest, event_id, received_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(source_id, digest) DO UPDATE SET event_id = excluded.event_id, received_at = excluded.received_at
            """)
        for (index, event) in events.enumerated() {
            guard let guardian = event.replayGuard, case .accepted(let id, _) = results[index] else { continue }
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
