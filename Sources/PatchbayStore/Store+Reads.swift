import Foundation
import GRDB

extension Store {
    /// Received, delivered, failed, retried and dead per bucket over the window ending now, oldest first.
    ///
    /// Reads the minute or hour rollups (never the log), so the cost is the number of buckets times
    /// the number of connectors. Buckets with nothing in them are present with zeros.
    public func throughput(window: TimeInterval, bucket: TimeInterval, connector: ConnectorID? = nil,
                           now: Date = Date()) throws -> [ThroughputBucket] {
        let span = ThroughputSpan(window: window, bucket: bucket, now: now)
        let (table, rowsPerBucket) = (span.table, span.rowsPerBucket)
        var arguments: StatementArguments = [span.start / span.unit, span.end / span.unit]
        let sql: String
        if let connector {
            _ = arguments.append(contentsOf: [connector])
            sql = """
                SELECT bucket / \(rowsPerBucket), sum(received), sum(delivered), sum(failed), sum(retried), sum(dead)
                FROM \(table) WHERE bucket >= ? AND bucket < ? AND connector_id = ?
                GROUP BY 1
                """
        } else {
            // Summed per row of the table first, in the primary key's order (no sort), then per
            // bucket: a day in minutes is 17,000 rows, and sorting them for the GROUP BY cost half.
            sql = """
                SELECT b / \(rowsPerBucket), sum(r), sum(d), sum(f), sum(t), sum(x) FROM (
                  SELECT bucket AS b, sum(received) AS r, sum(delivered) AS d, sum(failed) AS f,
                         sum(retried) AS t, sum(dead) AS x
                  FROM \(table) WHERE bucket >= ? AND bucket < ?
                  GROUP BY bucket)
                GROUP BY 1
                """
        }
        var series = span.starts.map { ThroughputBucket(start: $0) }
        try read { db in
            let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
            while let row = try rows.next() {
                let index = span.index(ofBucket: try row.decode(Int64.self, atIndex: 0))
                guard series.indices.contains(index) else { continue }
                series[index] = ThroughputBucket(
                    start: series[index].start, received: try row.decode(atIndex: 1), delivered: try row.decode(atIndex: 2),
                    failed: try row.decode(atIndex: 3), retried: try row.decode(atIndex: 4), dead: try row.decode(atIndex: 5))
            }
        }
        return series
    }

    /// Failing deliveries (retrying and dead), most recently failed first, a page at a time.
    public func failedDeliveries(_ filter: FailureFilter = FailureFilter(), limit: Int = 50,
                                 before cursor: FailureCursor? = nil) throws -> [FailedDelivery] {
        try read { db in
            var (whereSQL, arguments) = try Self.failingWhere(filter, db: db, alias: "d.")
            if let cursor {
                whereSQL += " AND (d.updated_at, d.id) < (?, ?)"
                _ = arguments.append(contentsOf: [cursor.updatedAt, cursor.id])
            }
            _ = arguments.append(contentsOf: [limit])
            return try FailedDelivery.fetchIndexed(db, sql: """
                SELECT \(FailedDelivery.indexedColumns)
                FROM deliveries d
                JOIN events e ON e.id = d.event_id
                JOIN connectors c ON c.id = d.connector_id
                WHERE \(whereSQL)
                ORDER BY d.updated_at DESC, d.id DESC
                LIMIT ?
                """, arguments: arguments)
        }
    }

    /// Failures grouped by error signature, most recently seen first; only groups failing now.
    public func errorGroups(connector: ConnectorID? = nil, limit: Int = 100) throws -> [ErrorGroup] {
        try read { db in
            var sql = """
                SELECT g.id, g.connector_id, c.name AS connector, g.signature, g.sample_error, g.last_status,
                       g.retrying, g.dead, g.occurrences, g.first_seen, g.last_seen
                FROM error_groups g JOIN connectors c ON c.id = g.connector_id
                WHERE g.retrying + g.dead > 0
                """
            var arguments: StatementArguments = []
            if let connector {
                sql += " AND g.connector_id = ?"
                _ = arguments.append(contentsOf: [connector])
            }
            sql += " ORDER BY g.last_seen DESC LIMIT ?"
            _ = arguments.append(contentsOf: [limit])
            return try ErrorGroup.fetchAll(db, sql: sql, arguments: arguments)
        }
    }

    /// Retrying deliveries in the order they will be tried.
    public func retryQueue(connector: ConnectorID? = nil, limit: Int = 50,
                           after cursor: (nextAttemptAt: Int64, id: DeliveryID)? = nil) throws -> [FailedDelivery] {
        try read { db in
            var clauses = ["d.state = 'retrying'"]
            var arguments: StatementArguments = []
            if let connector {
                // deliveries_due's WHERE, word for word: SQLite does not infer it from `state = 'retrying'`,
                // and without it `INDEXED BY deliveries_due` fails with "no query solution".
                clauses.append("d.state IN ('pending', 'retrying')")
                clauses.append("d.connector_id = ?")
                _ = arguments.append(contentsOf: [connector])
            }
            if let cursor {
                clauses.append("(d.next_attempt_at, d.id) > (?, ?)")
                _ = arguments.append(contentsOf: [cursor.nextAttemptAt, cursor.id])
            }
            _ = arguments.append(contentsOf: [limit])
            // With a connector, SQLite walks that connector's due index; otherwise the retry queue index.
            let index = connector == nil ? "INDEXED BY deliveries_retry_queue" : "INDEXED BY deliveries_due"
            return try FailedDelivery.fetchIndexed(db, sql: """
                SELECT \(FailedDelivery.indexedColumns)
                FROM deliveries d \(index)
                JOIN events e ON e.id = d.event_id
                JOIN connectors c ON c.id = d.connector_id
                WHERE \(clauses.joined(separator: " AND "))
                ORDER BY d.next_attempt_at, d.id
                LIMIT ?
                """, arguments: arguments)
        }
    }

    /// One event with its deliveries, every attempt and every state change; nil when there is none.
    public func eventDetail(_ id: EventID) throws -> EventDetail? {
        try read { db in
            guard let event = try Event.fetchOne(db, sql: "SELECT * FROM events WHERE id = ?", arguments: [id]) else {
                return nil
            }
            let names = try Self.connectorNames(db)
            let deliveries = try Delivery.fetchAll(
                db, sql: "SELECT * FROM deliveries WHERE event_id = ? ORDER BY connector_id", arguments: [id])
            let histories = try deliveries.map { delivery in
                EventDetail.DeliveryHistory(
                    delivery: delivery,
                    connector: names[delivery.connectorId] ?? "#\(delivery.connectorId)",
                    attempts: try Attempt.fetchAll(
                        db, sql: "SELECT * FROM attempts WHERE delivery_id = ? ORDER BY number, id",
                        arguments: [delivery.id]),
                    transitions: try Transition.fetchAll(
                        db, sql: "SELECT * FROM transitions WHERE delivery_id = ? ORDER BY id",
                        arguments: [delivery.id]))
            }
            return EventDetail(event: event, source: names[event.sourceId] ?? "#\(event.sourceId)",
                               deliveries: histories)
        }
    }

    /// The event a delivery belongs to.
    public func eventId(ofDelivery id: DeliveryID) throws -> EventID? {
        try read { db in try EventID.fetchOne(db, sql: "SELECT event_id FROM deliveries WHERE id = ?", arguments: [id]) }
    }

    static func connectorNames(_ db: Database) throws -> [ConnectorID: String] {
        var names: [ConnectorID: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, name FROM connectors") {
            names[row[0]] = row[1]
        }
        return names
    }
}
