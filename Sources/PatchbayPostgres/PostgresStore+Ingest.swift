import Foundation
import PatchbayModel
import PostgresNIO

extension PostgresStore {
    /// Stores a batch of events in one durable transaction (group commit), each once by (source,
    /// key), with one delivery per target; the same contract as SQLite's.
    ///
    /// Set-based: the events go in by one `INSERT … SELECT FROM unnest(…)` whatever the batch size,
    /// the deliveries by another, the counters by one upsert per counter table. Two nodes taking
    /// the same key at once: `ON CONFLICT DO NOTHING` waits for the first to commit, and the second
    /// answers with the first's event, a duplicate.
    public func ingest(_ events: [NewEvent]) throws -> [IngestResult] {
        for (index, event) in events.enumerated() {
            try event.validate(index: index)
            if let bad = Self.unstorableText(event) { throw StoreError.invalidInput(bad) }
        }
        guard !events.isEmpty else { return [] }
        do {
            return try write { session in try Self.ingest(events, session: session) }
        } catch StoreError.database(_, let detail) where detail.contains("SQLSTATE 22P02") || detail.contains("SQLSTATE 22032") {
            // One statement checked every payload; find the one PostgreSQL refused, to name it.
            for event in events where !Self.isJSON(event.payload) {
                throw StoreError.invalidInput("event '\(event.idempotencyKey.prefix(80))': payload is not valid JSON")
            }
            throw StoreError.invalidInput("a payload of the batch is not valid JSON: \(detail)")
        }
    }

    /// PostgreSQL's text cannot hold NUL: a payload, topic or key with one is refused by name.
    static func unstorableText(_ event: NewEvent) -> String? {
        for (what, text) in [("payload", event.payload), ("topic", event.topic), ("idempotency key", event.idempotencyKey),
                             ("correlation id", event.correlationId ?? "")] where text.utf8.contains(0) {
            return "event '\(event.idempotencyKey.replacingOccurrences(of: "\0", with: "\\0").prefix(80))': \(what) "
                + "contains a NUL character, which PostgreSQL cannot store"
        }
        return nil
    }

    static func isJSON(_ text: String) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil
    }

    /// `IngestBatch` decides, between the statements, what each event becomes.
    static func ingest(_ events: [NewEvent], session: Session) throws -> [IngestResult] {
        let known = Set(try session.rows("SELECT id FROM connectors").map { try $0.decode(Int64.self) })
        try NewEvent.checkConnectors(events, known: known)
        let stored = try replayedBodies(events, session: session)
        var batch = IngestBatch(events) { stored[$0] }
        let fresh = batch.fresh

        var inserted: [IngestBatch.SourceKey: EventID] = [:]
        if !fresh.isEmpty {
            var binds = PostgresBindings(capacity: 10)
            binds.append(fresh.map(\.topic))
            binds.append(fresh.map(\.sourceId))
            binds.append(fresh.map(\.receivedAt.millis))
            binds.append(fresh.map { $0.occurredAt?.millis ?? 0 })
            binds.append(fresh.map { $0.occurredAt != nil })
            binds.append(fresh.map { $0.correlationId ?? "" })
            binds.append(fresh.map { $0.correlationId != nil })
            binds.append(fresh.map(\.idempotencyKey))
            binds.append(fresh.map(\.payload))
            let rows = try session.rows(PostgresQuery(unsafeSQL: """
                INSERT INTO events(topic, source_id, received_at, occurred_at, correlation_id, idempotency_key,
                                   payload, payload_hash)
                SELECT topic, source, received, CASE WHEN has_occurred THEN occurred END,
                       CASE WHEN has_correlation THEN correlation END, key, payload::json,
                       encode(sha256(convert_to(payload, 'UTF8')), 'hex')
                FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bool[], $6::text[], $7::bool[],
                            $8::text[], $9::text[])
                  WITH ORDINALITY AS e(topic, source, received, occurred, has_occurred, correlation, has_correlation,
                                       key, payload, n)
                ORDER BY n
                ON CONFLICT (source_id, idempotency_key) DO NOTHING
                RETURNING id, source_id, idempotency_key
                """, binds: binds))
            for row in rows {
                let (id, source, key) = try row.decode((Int64, Int64, String).self)
                inserted[IngestBatch.SourceKey(source: source, key: key)] = id
            }
        }
        batch.inserted(inserted)

        let missing = batch.missing
        if !missing.isEmpty {
            let rows = try session.rows("""
                SELECT e.id, e.source_id, e.idempotency_key FROM events e
                JOIN unnest(\(missing.map { events[$0].sourceId })::bigint[], \(missing.map { events[$0].idempotencyKey })::text[])
                  AS k(source, key) ON e.source_id = k.source AND e.idempotency_key = k.key
                """)
            var existing: [IngestBatch.SourceKey: EventID] = [:]
            for row in rows {
                let (id, source, key) = try row.decode((Int64, Int64, String).self)
                existing[IngestBatch.SourceKey(source: source, key: key)] = id
            }
            for index in missing {
                let event = events[index]
                try batch.found(existing[IngestBatch.SourceKey(source: event.sourceId, key: event.idempotencyKey)],
                                at: index)
            }
        }
        let deliveries = batch.deliveries
        var deliveryIds: [EventID: [ConnectorID: DeliveryID]] = [:]
        if !deliveries.isEmpty {
            let rows = try session.rows("""
                INSERT INTO deliveries(event_id, connector_id, state, max_attempts, next_attempt_at, created_at, updated_at)
                SELECT e, c, 'pending', m, at, at, at
                FROM unnest(\(deliveries.map(\.event))::bigint[], \(deliveries.map(\.connector))::bigint[],
                            \(deliveries.map { Int64($0.maxAttempts) })::bigint[], \(deliveries.map(\.at))::bigint[])
                  AS d(e, c, m, at)
                RETURNING id, event_id, connector_id
                """)
            for row in rows {
                let (id, event, connector) = try row.decode((Int64, Int64, Int64).self)
                deliveryIds[event, default: [:]][connector] = id
            }
        }
        let results = batch.results(deliveryIds: deliveryIds)
        try rememberSignedBodies(events, results: results, session: session)
        try batch.rollups.apply(session)
        if !deliveries.isEmpty {
            try PostgresChanges.notify(session, due: Set(deliveries.map(\.connector)))
        }
        return results
    }

    /// The event each guarded event's signed body made within its replay window, by the event's
    /// place in the batch: one statement for the whole batch.
    private static func replayedBodies(_ events: [NewEvent], session: Session) throws -> [Int: EventID] {
        let guarded = events.indices.filter { events[$0].replayGuard != nil }
        guard !guarded.isEmpty else { return [:] }
        let rows = try session.rows("""
            SELECT g.n, s.event_id
            FROM unnest(\(guarded.map { Int64($0) })::bigint[], \(guarded.map { events[$0].sourceId })::bigint[],
                        \(guarded.map { events[$0].replayGuard!.digest })::text[],
                        \(guarded.map { events[$0].replayWindowStart! })::bigint[])
              AS g(n, source, digest, since)
            JOIN signed_bodies s ON s.source_id = g.source AND s.digest = g.digest AND s.received_at >= g.since
            """)
        var stored: [Int: EventID] = [:]
        for row in rows {
            let (n, id) = try row.decode((Int64, Int64).self)
            stored[Int(n)] = id
        }
        return stored
    }

    private static func rememberSignedBodies(_ events: [NewEvent], results: [IngestResult], session: Session) throws {
        var sources: [Int64] = [], digests: [String] = [], ids: [Int64] = [], times: [Int64] = []
        for (index, event) in events.enumerated() {
            guard let guardian = event.replayGuard, case .accepted(let id, _) = results[index] else { continue }
            sources.append(event.sourceId)
            digests.append(guardian.digest)
            ids.append(id)
            times.append(event.receivedAt.millis)
        }
        guard !sources.isEmpty else { return }
        try session.run("""
            INSERT INTO signed_bodies(source_id, digest, event_id, received_at)
            SELECT * FROM unnest(\(sources)::bigint[], \(digests)::text[], \(ids)::bigint[], \(times)::bigint[])
            ON CONFLICT (source_id, digest) DO UPDATE SET event_id = excluded.event_id, received_at = excluded.received_at
            """)
    }
}

extension PostgresStore: EventIngest {}

