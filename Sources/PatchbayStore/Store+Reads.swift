import Foundation
import GRDB

/// Counts for one bucket of a throughput series.
public struct ThroughputBucket: Sendable, Equatable {
    /// Start of the bucket, milliseconds since 1970.
    public var start: Int64
    public var received: Int
    public var delivered: Int
    public var failed: Int
    public var retried: Int
    public var dead: Int

    public init(start: Int64, received: Int = 0, delivered: Int = 0, failed: Int = 0, retried: Int = 0, dead: Int = 0) {
        self.start = start
        self.received = received
        self.delivered = delivered
        self.failed = failed
        self.retried = retried
        self.dead = dead
    }
}

/// A failing delivery, as the failed list shows it.
public struct FailedDelivery: Codable, Sendable, Equatable, FetchableRecord {
    public var id: DeliveryID
    public var eventId: EventID
    public var topic: String
    public var connectorId: ConnectorID
    public var connector: String
    public var state: DeliveryState
    public var attempts: Int
    public var maxAttempts: Int
    public var nextAttemptAt: Int64?
    public var lastError: String?
    public var lastStatus: Int?
    public var errorSignature: String?
    public var updatedAt: Int64

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

/// Keyset position in a newest-first list of failures.
public struct FailureCursor: Sendable, Equatable {
    public var updatedAt: Int64
    public var id: DeliveryID

    public init(updatedAt: Int64, id: DeliveryID) {
        self.updatedAt = updatedAt
        self.id = id
    }
}

/// What the event history shows for one event.
public struct EventSummary: Sendable, Equatable {
    public var event: Event
    public var source: String
    /// How many of its deliveries are in each state.
    public var deliveryStates: [DeliveryState: Int]
}

public struct EventFilter: Sendable, Equatable {
    public var topic: String?
    /// Source or target connector.
    public var connectorId: ConnectorID?
    /// Events with at least one delivery in this state.
    public var state: DeliveryState?
    public var correlationId: String?
    public var since: Date?
    public var until: Date?
    /// Text in the payload or in a delivery's last error.
    public var text: String?

    public init(topic: String? = nil, connectorId: ConnectorID? = nil, state: DeliveryState? = nil,
                correlationId: String? = nil, since: Date? = nil, until: Date? = nil, text: String? = nil) {
        self.topic = topic
        self.connectorId = connectorId
        self.state = state
        self.correlationId = correlationId
        self.since = since
        self.until = until
        self.text = text
    }
}

public struct EventPage: Sendable, Equatable {
    public var events: [EventSummary]
    /// Pass as `before` for the next (older) page; nil on the last page.
    public var nextCursor: EventID?
}

/// One event in full: what the drill-down shows.
public struct EventDetail: Sendable, Equatable {
    public struct DeliveryHistory: Sendable, Equatable {
        public var delivery: Delivery
        public var connector: String
        public var attempts: [Attempt]
        public var transitions: [Transition]
    }

    public var event: Event
    public var source: String
    public var deliveries: [DeliveryHistory]
}

/// The buckets of a throughput window: which rollup table serves them and where they start and end.
struct ThroughputSpan {
    let bucketMs: Int64
    let table: String
    /// Milliseconds per row of `table`.
    let unit: Int64
    let start: Int64
    /// Exclusive; the current, partial bucket is the last one.
    let end: Int64

    init(window: TimeInterval, bucket: TimeInterval, now: Date) {
        bucketMs = max(60_000, Int64(bucket * 1000) / 60_000 * 60_000)
        let windowMs = max(bucketMs, Int64(window * 1000))
        let useHours = bucketMs % 3_600_000 == 0
        table = useHours ? "throughput_hour" : "throughput_minute"
        unit = useHours ? 3_600_000 : 60_000
        end = (now.millis / bucketMs + 1) * bucketMs
        start = end - (windowMs + bucketMs - 1) / bucketMs * bucketMs
    }

    var starts: [Int64] { Array(stride(from: start, to: end, by: Int(bucketMs))) }
}

extension Store {
    /// Received, delivered, failed, retried and dead per bucket over the window ending now, oldest first.
    ///
    /// Reads the minute or hour rollups (never the log), so the cost is the number of buckets times
    /// the number of connectors. Buckets with nothing in them are present with zeros.
    public func throughput(window: TimeInterval, bucket: TimeInterval, connector: ConnectorID? = nil,
                           now: Date = Date()) throws -> [ThroughputBucket] {
        let span = ThroughputSpan(window: window, bucket: bucket, now: now)
        let (table, unit, bucketMs, start, end) = (span.table, span.unit, span.bucketMs, span.start, span.end)
        var sql = """
            SELECT bucket * \(unit) / \(bucketMs) * \(bucketMs) AS start, sum(received), sum(delivered),
                   sum(failed), sum(retried), sum(dead)
            FROM \(table) WHERE bucket >= ? AND bucket < ?
            """
        var arguments: StatementArguments = [start / unit, end / unit]
        if let connector {
            sql += " AND connector_id = ?"
            _ = arguments.append(contentsOf: [connector])
        }
        sql += " GROUP BY 1"
        let rows = try read { db in try Row.fetchAll(db, sql: sql, arguments: arguments) }
        var byStart: [Int64: ThroughputBucket] = [:]
        for row in rows {
            let s: Int64 = row[0]
            byStart[s] = ThroughputBucket(start: s, received: row[1], delivered: row[2], failed: row[3],
                                          retried: row[4], dead: row[5])
        }
        return span.starts.map { byStart[$0] ?? ThroughputBucket(start: $0) }
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
            return try FailedDelivery.fetchAll(db, sql: """
                SELECT d.id, d.event_id, e.topic, d.connector_id, c.name AS connector, d.state, d.attempts,
                       d.max_attempts, d.next_attempt_at, d.last_error, d.last_status, d.error_signature, d.updated_at
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
            return try FailedDelivery.fetchAll(db, sql: """
                SELECT d.id, d.event_id, e.topic, d.connector_id, c.name AS connector, d.state, d.attempts,
                       d.max_attempts, d.next_attempt_at, d.last_error, d.last_status, d.error_signature, d.updated_at
                FROM deliveries d \(index)
                JOIN events e ON e.id = d.event_id
                JOIN connectors c ON c.id = d.connector_id
                WHERE \(clauses.joined(separator: " AND "))
                ORDER BY d.next_attempt_at, d.id
                LIMIT ?
                """, arguments: arguments)
        }
    }

    /// The integration log, newest first, a page at a time (keyset on the event id, never OFFSET).
    public func events(_ filter: EventFilter = EventFilter(), limit: Int = 50, before: EventID? = nil) throws -> EventPage {
        try read { db in
            var clauses: [String] = []
            var arguments = StatementArguments()
            func add(_ clause: String, _ values: [any DatabaseValueConvertible]) {
                clauses.append(clause)
                _ = arguments.append(contentsOf: StatementArguments(values))
            }
            if let before { add("e.id < ?", [before]) }
            if let topic = filter.topic { add("e.topic = ?", [topic]) }
            if let correlation = filter.correlationId { add("e.correlation_id = ?", [correlation]) }
            if let connector = filter.connectorId {
                add("(e.source_id = ? OR EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id AND x.connector_id = ?))",
                    [connector, connector])
            }
            if let state = filter.state {
                add("EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id AND x.state = ?)", [state])
            }
            if let since = filter.since {
                // Ids grow with arrival: bound the id range through the received_at index first. Ids and
                // times can disagree a little (a batch with its own times, a clock step), so the bound is
                // the smallest id among the first thousand events received from an hour before `since`;
                // the exact test on received_at below decides.
                add("""
                    e.id >= coalesce((SELECT min(id) FROM (SELECT id FROM events WHERE received_at >= ?
                      ORDER BY received_at LIMIT 1000)), 9223372036854775807)
                    """, [since.millis - 3_600_000])
                add("e.received_at >= ?", [since.millis])
            }
            if let until = filter.until {
                // The same bound from above: start walking at the first event an hour after `until`.
                add("""
                    e.id <= coalesce((SELECT max(id) FROM (SELECT id FROM events WHERE received_at < ?
                      ORDER BY received_at DESC LIMIT 1000)), -1)
                    """, [until.millis + 3_600_000])
                add("e.received_at < ?", [until.millis])
            }
            if let text = filter.text, !text.isEmpty {
                let pattern = "%" + text.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
                add("""
                    (e.payload LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id
                      AND x.last_error LIKE ? ESCAPE '\\'))
                    """, [pattern, pattern])
            }
            let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            _ = arguments.append(contentsOf: [limit + 1])
            var events = try Event.fetchAll(db, sql: """
                SELECT e.* FROM events e \(whereSQL) ORDER BY e.id DESC LIMIT ?
                """, arguments: arguments)
            let more = events.count > limit
            if more { events.removeLast() }
            let names = try Self.connectorNames(db)
            let stateCounts = try db.cachedStatement(sql: """
                SELECT state, count(*) FROM deliveries WHERE event_id = ? GROUP BY state
                """)
            let summaries = try events.map { event in
                var states: [DeliveryState: Int] = [:]
                for row in try Row.fetchAll(stateCounts, arguments: [event.id]) {
                    if let state = DeliveryState(rawValue: row[0]) { states[state] = row[1] }
                }
                return EventSummary(event: event, source: names[event.sourceId] ?? "#\(event.sourceId)",
                                    deliveryStates: states)
            }
            return EventPage(events: summaries, nextCursor: more ? events.last?.id : nil)
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
