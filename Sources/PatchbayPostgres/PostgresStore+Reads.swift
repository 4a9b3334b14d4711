import Foundation
import PatchbayModel
import PatchbayValues
import PostgresNIO

// The reads of SQLite's Store+Reads, Store+Events, Store+Invoices (aging, open items, runs) and
// Store+RollupCheck, on PostgreSQL, with the same results for the same rows.
//
// Text sorts as SQLite's BINARY collation does (`COLLATE "C"`, byte order), whatever the database's
// own collation: lists ordered by a name come out in the same order on both backends.

// MARK: Decoding

/// A stored enum value this Patchbay does not know: a row written by something else.
private func storedValue<E: RawRepresentable>(_ raw: String, _ what: String) throws -> E where E.RawValue == String {
    guard let value = E(rawValue: raw) else { throw StoreError.invalidInput("unknown \(what) '\(raw)' in the database") }
    return value
}

/// `a.x, a.y` for the column names `x, y` and the alias `a` (none when empty).
private func prefixed(_ columns: [String], _ alias: String) -> String {
    columns.map { alias.isEmpty ? $0 : "\(alias).\($0)" }.joined(separator: ", ")
}

extension Event {
    /// The columns `init(pgRow:)` reads, in its order; `payload` as its text, byte for byte.
    static func pgColumns(_ alias: String = "") -> String {
        let p = alias.isEmpty ? "" : "\(alias)."
        return "\(p)id, \(p)topic, \(p)source_id, \(p)received_at, \(p)occurred_at, \(p)correlation_id, "
            + "\(p)idempotency_key, \(p)payload::text, \(p)payload_hash"
    }

    init(pgRow row: PostgresRow) throws {
        let (id, topic, sourceId, receivedAt, occurredAt, correlationId, key, payload, hash) =
            try row.decode((Int64, String, Int64, Int64, Int64?, String?, String, String, String).self)
        self.init(id: id, topic: topic, sourceId: sourceId, receivedAt: receivedAt, occurredAt: occurredAt,
                  correlationId: correlationId, idempotencyKey: key, payload: payload, payloadHash: hash)
    }
}

extension Delivery {
    static func pgColumns(_ alias: String = "") -> String {
        prefixed(["id", "event_id", "connector_id", "state", "attempts", "max_attempts", "next_attempt_at",
                  "lease_owner", "lease_token", "lease_expires_at", "last_error", "last_status", "error_signature",
                  "created_at", "updated_at"], alias)
    }

    init(pgRow row: PostgresRow) throws {
        let (id, eventId, connectorId, state, attempts, maxAttempts, nextAttemptAt, leaseOwner, leaseToken,
             leaseExpiresAt, lastError, lastStatus, errorSignature, createdAt, updatedAt) =
            try row.decode((Int64, Int64, Int64, String, Int, Int, Int64?, String?, Int64?, Int64?, String?, Int?,
                            String?, Int64, Int64).self)
        self.init(id: id, eventId: eventId, connectorId: connectorId, state: try storedValue(state, "delivery state"),
                  attempts: attempts, maxAttempts: maxAttempts, nextAttemptAt: nextAttemptAt, leaseOwner: leaseOwner,
                  leaseToken: leaseToken, leaseExpiresAt: leaseExpiresAt, lastError: lastError, lastStatus: lastStatus,
                  errorSignature: errorSignature, createdAt: createdAt, updatedAt: updatedAt)
    }
}

extension Attempt {
    static func pgColumns(_ alias: String = "") -> String {
        prefixed(["id", "delivery_id", "number", "started_at", "duration_ms", "outcome", "status_code", "error",
                  "response_excerpt", "note"], alias)
    }

    init(pgRow row: PostgresRow) throws {
        let (id, deliveryId, number, startedAt, durationMs, outcome, statusCode, error, excerpt, note) =
            try row.decode((Int64, Int64, Int, Int64, Int64, String, Int?, String?, String?, String?).self)
        self.init(id: id, deliveryId: deliveryId, number: number, startedAt: startedAt, durationMs: durationMs,
                  outcome: try storedValue(outcome, "attempt outcome"), statusCode: statusCode, error: error,
                  responseExcerpt: excerpt, note: note)
    }
}

extension Transition {
    static func pgColumns(_ alias: String = "") -> String {
        prefixed(["id", "delivery_id", "at", "from_state", "to_state", "actor", "reason"], alias)
    }

    init(pgRow row: PostgresRow) throws {
        let (id, deliveryId, at, from, to, actor, reason) =
            try row.decode((Int64, Int64, Int64, String, String, String, String?).self)
        self.init(id: id, deliveryId: deliveryId, at: at, fromState: try storedValue(from, "delivery state"),
                  toState: try storedValue(to, "delivery state"), actor: try storedValue(actor, "actor"), reason: reason)
    }
}

extension Invoice {
    static func pgColumns(_ alias: String = "") -> String {
        prefixed(["id", "source_id", "external_id", "number", "kind", "customer", "currency", "issue_date", "due_date",
                  "total_minor", "open_minor", "status", "synced_at"], alias)
    }

    init(pgRow row: PostgresRow) throws {
        let (id, sourceId, externalId, number, kind, customer, currency, issueDate, dueDate, total, open, status,
             syncedAt) =
            try row.decode((Int64, Int64, String, String, String, String, String, String, String, Int64, Int64, String,
                            Int64).self)
        self.init(id: id, sourceId: sourceId, externalId: externalId, number: number,
                  kind: try storedValue(kind, "invoice kind"), customer: customer, currency: currency,
                  issueDate: issueDate, dueDate: dueDate, totalMinor: total, openMinor: open,
                  status: try storedValue(status, "invoice status"), syncedAt: syncedAt)
    }
}

extension BatchRun {
    static func pgColumns(_ alias: String = "") -> String {
        prefixed(["id", "job", "connector_id", "started_at", "finished_at", "status", "rows_read", "rows_loaded",
                  "rows_rejected", "cursor", "error", "input"], alias)
    }

    init(pgRow row: PostgresRow) throws {
        let (id, job, connectorId, startedAt, finishedAt, status, read, loaded, rejected, cursor, error, input) =
            try row.decode((Int64, String, Int64?, Int64, Int64?, String, Int, Int, Int, String?, String?, String?).self)
        self.init(id: id, job: job, connectorId: connectorId, startedAt: startedAt, finishedAt: finishedAt,
                  status: try storedValue(status, "batch run status"), rowsRead: read, rowsLoaded: loaded,
                  rowsRejected: rejected, cursor: cursor, error: error, input: input)
    }
}

extension RejectedRequest {
    static func pgColumns(_ alias: String = "") -> String {
        prefixed(["id", "connector_id", "received_at", "status", "reason", "remote", "path", "body_bytes",
                  "body_excerpt"], alias)
    }

    init(pgRow row: PostgresRow) throws {
        let (id, connectorId, receivedAt, status, reason, remote, path, bodyBytes, excerpt) =
            try row.decode((Int64, Int64?, Int64, Int, String, String?, String, Int, String?).self)
        self.init(id: id, connectorId: connectorId, receivedAt: receivedAt, status: status, reason: reason,
                  remote: remote, path: path, bodyBytes: bodyBytes, bodyExcerpt: excerpt)
    }
}

extension ErrorGroup {
    /// For `error_groups g JOIN connectors c`.
    static let pgColumns = """
        g.id, g.connector_id, c.name, g.signature, g.sample_error, g.last_status, g.retrying, g.dead, \
        g.occurrences, g.first_seen, g.last_seen
        """

    init(pgRow row: PostgresRow) throws {
        let (id, connectorId, connector, signature, sample, lastStatus, retrying, dead, occurrences, firstSeen,
             lastSeen) =
            try row.decode((Int64, Int64, String, String, String, Int?, Int, Int, Int, Int64, Int64).self)
        self.init(id: id, connectorId: connectorId, connector: connector, signature: signature, sampleError: sample,
                  lastStatus: lastStatus, retrying: retrying, dead: dead, occurrences: occurrences,
                  firstSeen: firstSeen, lastSeen: lastSeen)
    }
}

extension FailedDelivery {
    /// For `deliveries d JOIN events e JOIN connectors c`.
    static let pgColumns = """
        d.id, d.event_id, e.topic, d.connector_id, c.name, d.state, d.attempts, d.max_attempts, d.next_attempt_at, \
        d.last_error, d.last_status, d.error_signature, d.updated_at
        """

    init(pgRow row: PostgresRow) throws {
        let (id, eventId, topic, connectorId, connector, state, attempts, maxAttempts, nextAttemptAt, lastError,
             lastStatus, signature, updatedAt) =
            try row.decode((Int64, Int64, String, Int64, String, String, Int, Int, Int64?, String?, Int?, String?,
                            Int64).self)
        self.init(id: id, eventId: eventId, topic: topic, connectorId: connectorId, connector: connector,
                  state: try storedValue(state, "delivery state"), attempts: attempts, maxAttempts: maxAttempts,
                  nextAttemptAt: nextAttemptAt, lastError: lastError, lastStatus: lastStatus, errorSignature: signature,
                  updatedAt: updatedAt)
    }
}

// MARK: Statements written with `?`

/// A value bound to a `?` of a `ReadStatement`.
enum ReadValue: Sendable {
    case int(Int64)
    case text(String)
    case ints([Int64])
}

/// SQL written with `?` for each value, as the SQLite store writes it, numbered `$1…` when built.
/// Only for SQL whose text holds no other `?` (none of these reads has one in a literal).
struct ReadStatement {
    var sql: String
    var values: [ReadValue]

    init(_ sql: String, _ values: [ReadValue] = []) {
        self.sql = sql
        self.values = values
    }

    var query: PostgresQuery {
        var binds = PostgresBindings(capacity: values.count)
        var text = ""
        text.reserveCapacity(sql.utf8.count + values.count * 2)
        var next = 0
        for character in sql {
            guard character == "?" else {
                text.append(character)
                continue
            }
            precondition(next < values.count, "more ? than values in: \(sql)")
            switch values[next] {
            case .int(let value): binds.append(value)
            case .text(let value): binds.append(value)
            case .ints(let value): binds.append(value)
            }
            next += 1
            text += "$\(next)"
        }
        precondition(next == values.count, "more values than ? in: \(sql)")
        return PostgresQuery(unsafeSQL: text, binds: binds)
    }
}

extension Session {
    func rows(_ statement: ReadStatement) throws -> [PostgresRow] { try rows(statement.query) }
}

// MARK: Deliveries, attempts, one event

extension PostgresStore {
    /// Every delivery to one connector, oldest first (for tests and small tools; not paged).
    public func deliveries(connector: ConnectorID) throws -> [Delivery] {
        try read { session in
            try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(Delivery.pgColumns()) FROM deliveries WHERE connector_id = $1 ORDER BY id
                """, binds: Self.binding(connector))).map(Delivery.init(pgRow:))
        }
    }

    /// The attempts of one delivery, in order.
    public func attempts(delivery: DeliveryID) throws -> [Attempt] {
        try read { session in
            try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(Attempt.pgColumns()) FROM attempts WHERE delivery_id = $1 ORDER BY id
                """, binds: Self.binding(delivery))).map(Attempt.init(pgRow:))
        }
    }

    /// How many events a source has stored.
    public func eventCount(source: ConnectorID) throws -> Int {
        try read { session in
            try session.rows("SELECT count(*) FROM events WHERE source_id = \(source)").first?.decode(Int.self) ?? 0
        }
    }

    /// The event a delivery belongs to.
    public func eventId(ofDelivery id: DeliveryID) throws -> EventID? {
        try read { session in
            try session.rows("SELECT event_id FROM deliveries WHERE id = \(id)").first?.decode(Int64.self)
        }
    }

    /// One event with its deliveries, every attempt and every state change; nil when there is none.
    public func eventDetail(_ id: EventID) throws -> EventDetail? {
        try read { session in
            guard let event = try session.rows(PostgresQuery(
                unsafeSQL: "SELECT \(Event.pgColumns()) FROM events WHERE id = $1", binds: Self.binding(id)))
                .first.map(Event.init(pgRow:)) else {
                return nil
            }
            let names = try Self.readsConnectorNames(session)
            let deliveries = try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(Delivery.pgColumns()) FROM deliveries WHERE event_id = $1 ORDER BY connector_id
                """, binds: Self.binding(id))).map(Delivery.init(pgRow:))
            let ids = deliveries.map(\.id)
            var attempts: [DeliveryID: [Attempt]] = [:]
            var transitions: [DeliveryID: [Transition]] = [:]
            if !ids.isEmpty {
                for row in try session.rows(PostgresQuery(unsafeSQL: """
                    SELECT \(Attempt.pgColumns()) FROM attempts WHERE delivery_id = ANY($1) ORDER BY number, id
                    """, binds: Self.binding(ids))) {
                    let attempt = try Attempt(pgRow: row)
                    attempts[attempt.deliveryId, default: []].append(attempt)
                }
                for row in try session.rows(PostgresQuery(unsafeSQL: """
                    SELECT \(Transition.pgColumns()) FROM transitions WHERE delivery_id = ANY($1) ORDER BY id
                    """, binds: Self.binding(ids))) {
                    let transition = try Transition(pgRow: row)
                    transitions[transition.deliveryId, default: []].append(transition)
                }
            }
            let histories = deliveries.map { delivery in
                EventDetail.DeliveryHistory(delivery: delivery,
                                            connector: names[delivery.connectorId] ?? "#\(delivery.connectorId)",
                                            attempts: attempts[delivery.id] ?? [],
                                            transitions: transitions[delivery.id] ?? [])
            }
            return EventDetail(event: event, source: names[event.sourceId] ?? "#\(event.sourceId)", deliveries: histories)
        }
    }

    static func readsConnectorNames(_ session: Session) throws -> [ConnectorID: String] {
        var names: [ConnectorID: String] = [:]
        for row in try session.rows("SELECT id, name FROM connectors") {
            let (id, name) = try row.decode((Int64, String).self)
            names[id] = name
        }
        return names
    }

    fileprivate static func binding(_ value: Int64) -> PostgresBindings {
        var binds = PostgresBindings(capacity: 1)
        binds.append(value)
        return binds
    }

    fileprivate static func binding(_ values: [Int64]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: 1)
        binds.append(values)
        return binds
    }
}

// MARK: The event log

extension PostgresStore {
    /// The integration log, newest first, a page at a time (keyset on the event id, never OFFSET).
    ///
    /// As on SQLite: a filter on a connector or a failure state is driven from the ids that index
    /// selects, in growing chunks; a text filter with no driver reads the log newest first in windows
    /// of ids; both stop at the `TextSearchBudget` and say so (`partial`). The text matches as
    /// SQLite's `LIKE '%…%'` does: a substring, with ASCII letters in either case.
    public func events(_ filter: EventFilter = EventFilter(), limit: Int = 50, before: EventID? = nil,
                       textBudget: TextSearchBudget = .standard) throws -> EventPage {
        try read { session in
            let query = PGEventQuery(filter: filter)
            let deadline = textBudget.deadline(for: filter)
            let found: EventPaging.Found<PGEventRow>
            if let driver = query.driver {
                found = try Self.drivenEvents(session, driver: driver, query: query, limit: limit, before: before,
                                              deadline: deadline)
            } else if filter.searchesText {
                found = try Self.searchedEvents(session, query: query, limit: limit, before: before,
                                                window: max(1, textBudget.window), deadline: deadline)
            } else {
                let rows = try Self.pageRows(session, query.page(order: true, leading: before.map { ("e.id < ?", [.int($0)]) },
                                                                 limit: limit + 1))
                found = EventPaging.trimmed(rows, limit: limit, id: \PGEventRow.event.id)
            }
            let names = try Self.readsConnectorNames(session)
            let summaries = found.rows.map { row in
                EventSummary(event: row.event, source: names[row.event.sourceId] ?? "#\(row.event.sourceId)",
                             deliveryStates: row.states)
            }
            return EventPage(events: summaries, nextCursor: found.next, partial: found.partial)
        }
    }

    private static func pageRows(_ session: Session, _ statement: ReadStatement) throws -> [PGEventRow] {
        try session.rows(statement).map { row in
            let states = try row.makeRandomAccess()[PGEventQuery.statesColumn].decode(String?.self)
            return PGEventRow(event: try Event(pgRow: row), states: EventPaging.stateCounts(states))
        }
    }

    /// Filters with no driving index and a text: the log newest first, one window of ids at a time.
    private static func searchedEvents(_ session: Session, query: PGEventQuery, limit: Int, before: EventID?,
                                       window: Int64, deadline: ContinuousClock.Instant?) throws
        -> EventPaging.Found<PGEventRow>
    {
        guard let bounds = try session.rows("SELECT (SELECT min(id) FROM events), (SELECT max(id) FROM events)").first,
              case let (lowest?, highest?) = try bounds.decode((Int64?, Int64?).self) else {
            return EventPaging.Found(rows: [], next: nil, partial: false)
        }
        return try EventPaging.searched(lowest: lowest, highest: highest, before: before, limit: limit, window: window,
                                        deadline: deadline, id: \PGEventRow.event.id) { upper, lower, count in
            try pageRows(session, query.page(order: true, leading: ("e.id < ? AND e.id >= ?", [.int(upper), .int(lower)]),
                                             limit: count))
        }
    }

    /// Filters with a driving index: candidate ids from the index, newest first, in growing chunks,
    /// then the page's rows for those of them that pass the other filters.
    private static func drivenEvents(_ session: Session, driver: EventDriver, query: PGEventQuery, limit: Int,
                                     before: EventID?, deadline: ContinuousClock.Instant?) throws
        -> EventPaging.Found<PGEventRow>
    {
        var queue: [EventID]?  // pending / in flight: the whole (small) set, read once
        return try EventPaging.driven(before: before, limit: limit, deadline: deadline,
                                      id: \PGEventRow.event.id) { below, chunk in
            switch driver {
            case .connector(let connector):
                return try connectorCandidates(session, connector: connector, below: below, count: chunk)
            case .failing(let state):
                // The partial index's WHERE, word for word, then the one state.
                return try session.rows(PostgresQuery(unsafeSQL: """
                    SELECT DISTINCT event_id FROM deliveries
                    WHERE state IN ('retrying', 'dead', 'discarded') AND state = '\(state.rawValue)' AND event_id < $1
                    ORDER BY event_id DESC LIMIT $2
                    """, binds: {
                        var binds = PostgresBindings(capacity: 2)
                        binds.append(below)
                        binds.append(Int64(chunk))
                        return binds
                    }())).map { try $0.decode(Int64.self) }
            case .queued(let state):
                if queue == nil {
                    let condition = state == .inFlight
                        ? "state = 'in_flight'" : "state IN ('pending', 'retrying') AND state = 'pending'"
                    let all = try session.rows(PostgresQuery(unsafeSQL: "SELECT event_id FROM deliveries WHERE \(condition)"))
                        .map { try $0.decode(Int64.self) }
                    queue = Array(Set(all)).sorted(by: >)
                }
                return Array(queue!.lazy.filter { $0 < below }.prefix(chunk))
            }
        } rows: { ids in
            try pageRows(session, query.page(order: false, leading: ("e.id = ANY(?)", [.ints(ids)]), limit: nil))
        }
    }

    /// The newest `count` events below `below` that a connector sent or is a target of, newest first.
    private static func connectorCandidates(_ session: Session, connector: ConnectorID, below: EventID,
                                            count: Int) throws -> [EventID] {
        let sent = try session.rows("""
            SELECT id FROM events WHERE source_id = \(connector) AND id < \(below) ORDER BY id DESC LIMIT \(count)
            """).map { try $0.decode(Int64.self) }
        let received = try session.rows("""
            SELECT event_id FROM deliveries WHERE connector_id = \(connector) AND event_id < \(below)
            ORDER BY event_id DESC LIMIT \(count)
            """).map { try $0.decode(Int64.self) }
        return EventPaging.merged(sent, received, count: count)
    }
}

private struct PGEventRow {
    var event: Event
    var states: [DeliveryState: Int]
}

/// The WHERE clauses of an event-list read, less the filter that drives it.
private struct PGEventQuery {
    private(set) var clauses: [String] = []
    private var values: [ReadValue] = []
    let driver: EventDriver?

    /// Index of the page rows' `string_agg` of delivery states (after `Event.pgColumns`).
    static let statesColumn = 9

    /// What SQLite's `LIKE` folds: ASCII letters only.
    static let upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    static let lower = "abcdefghijklmnopqrstuvwxyz"

    init(filter: EventFilter) {
        driver = EventDriver(filter: filter)
        if let topic = filter.topic { add("e.topic = ?", [.text(topic)]) }
        if let correlation = filter.correlationId { add("e.correlation_id = ?", [.text(correlation)]) }
        if let connector = filter.connectorId, driver != .connector(connector) {
            add("(e.source_id = ? OR EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id AND x.connector_id = ?))",
                [.int(connector), .int(connector)])
        }
        if let state = filter.state, !EventDriver.drives(driver, state: state) {
            add("EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id AND x.state = ?)", [.text(state.rawValue)])
        }
        if let since = filter.since {
            // Bound the id range through the received_at index first (see SQLite's EventQuery); the
            // exact test on received_at decides.
            add("""
                e.id >= coalesce((SELECT min(id) FROM (SELECT id FROM events WHERE received_at >= ?
                  ORDER BY received_at LIMIT 1000) AS first_received), 9223372036854775807)
                """, [.int(since.millis - 3_600_000)])
            add("e.received_at >= ?", [.int(since.millis)])
        }
        if let until = filter.until {
            add("""
                e.id <= coalesce((SELECT max(id) FROM (SELECT id FROM events WHERE received_at < ?
                  ORDER BY received_at DESC LIMIT 1000) AS last_received), -1)
                """, [.int(until.millis + 3_600_000)])
            add("e.received_at < ?", [.int(until.millis)])
        }
        if let text = filter.text, !text.isEmpty {
            // SQLite's `LIKE '%text%'` (escaped): a substring, ASCII letters folded, nothing else.
            let needle = String(decoding: text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
            add("""
                (strpos(translate(e.payload::text, '\(Self.upper)', '\(Self.lower)'), ?) > 0
                  OR EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id
                    AND strpos(translate(x.last_error, '\(Self.upper)', '\(Self.lower)'), ?) > 0))
                """, [.text(needle), .text(needle)])
        }
    }

    private mutating func add(_ clause: String, _ clauseValues: [ReadValue]) {
        clauses.append(clause)
        values += clauseValues
    }

    /// The page's statement: the event's columns and its deliveries' states. `leading` comes before
    /// the filter's clauses.
    func page(order: Bool, leading: (String, [ReadValue])?, limit: Int?) -> ReadStatement {
        var all = clauses
        var arguments: [ReadValue] = []
        if let leading {
            all.insert(leading.0, at: 0)
            arguments = leading.1
        }
        arguments += values
        let whereSQL = all.isEmpty ? "" : "WHERE " + all.joined(separator: " AND ")
        var sql = """
            SELECT \(Event.pgColumns("e")),
                   (SELECT string_agg(x.state, ',') FROM deliveries x WHERE x.event_id = e.id)
            FROM events e \(whereSQL)
            """
        if order { sql += " ORDER BY e.id DESC" }
        if let limit {
            sql += " LIMIT ?"
            arguments.append(.int(Int64(max(0, limit))))
        }
        return ReadStatement(sql, arguments)
    }
}

// MARK: Failures, error groups, the retry queue, throughput

extension PostgresStore {
    /// Received, delivered, failed, retried and dead per bucket over the window ending now, oldest first.
    public func throughput(window: TimeInterval, bucket: TimeInterval, connector: ConnectorID? = nil,
                           now: Date = Date()) throws -> [ThroughputBucket] {
        let span = ThroughputSpan(window: window, bucket: bucket, now: now)
        var statement = ReadStatement("""
            SELECT bucket / \(span.rowsPerBucket), sum(received)::bigint, sum(delivered)::bigint, sum(failed)::bigint,
                   sum(retried)::bigint, sum(dead)::bigint
            FROM \(span.table) WHERE bucket >= ? AND bucket < ?
            """, [.int(span.start / span.unit), .int(span.end / span.unit)])
        if let connector {
            statement.sql += " AND connector_id = ?"
            statement.values.append(.int(connector))
        }
        statement.sql += " GROUP BY 1"
        var series = span.starts.map { ThroughputBucket(start: $0) }
        try read { session in
            for row in try session.rows(statement) {
                let (number, received, delivered, failed, retried, dead) =
                    try row.decode((Int64, Int, Int, Int, Int, Int).self)
                let index = span.index(ofBucket: number)
                guard series.indices.contains(index) else { continue }
                series[index] = ThroughputBucket(start: series[index].start, received: received, delivered: delivered,
                                                 failed: failed, retried: retried, dead: dead)
            }
        }
        return series
    }

    /// Failing deliveries (retrying and dead), most recently failed first, a page at a time.
    public func failedDeliveries(_ filter: FailureFilter = FailureFilter(), limit: Int = 50,
                                 before cursor: FailureCursor? = nil) throws -> [FailedDelivery] {
        try read { session in
            var statement = try Self.failingWhere(filter, session: session, alias: "d.")
            if let cursor {
                statement.sql += " AND (d.updated_at, d.id) < (?, ?)"
                statement.values += [.int(cursor.updatedAt), .int(cursor.id)]
            }
            statement.sql = """
                SELECT \(FailedDelivery.pgColumns)
                FROM deliveries d
                JOIN events e ON e.id = d.event_id
                JOIN connectors c ON c.id = d.connector_id
                WHERE \(statement.sql)
                ORDER BY d.updated_at DESC, d.id DESC
                LIMIT ?
                """
            statement.values.append(.int(Int64(max(0, limit))))
            return try session.rows(statement).map(FailedDelivery.init(pgRow:))
        }
    }

    /// Failures grouped by error signature, most recently seen first; only groups failing now.
    public func errorGroups(connector: ConnectorID? = nil, limit: Int = 100) throws -> [ErrorGroup] {
        try read { session in
            var statement = ReadStatement("""
                SELECT \(ErrorGroup.pgColumns)
                FROM error_groups g JOIN connectors c ON c.id = g.connector_id
                WHERE g.retrying + g.dead > 0
                """)
            // Ties in last_seen come in SQLite's plan order: for one connector it reads the groups
            // by signature (its unique index) and sorts them stably; for all, it walks
            // error_groups_by_last_seen backwards, the newest row first.
            if let connector {
                statement.sql += " AND g.connector_id = ? ORDER BY g.last_seen DESC, g.signature COLLATE \"C\" LIMIT ?"
                statement.values.append(.int(connector))
            } else {
                statement.sql += " ORDER BY g.last_seen DESC, g.id DESC LIMIT ?"
            }
            statement.values.append(.int(Int64(max(0, limit))))
            return try session.rows(statement).map(ErrorGroup.init(pgRow:))
        }
    }

    /// Retrying deliveries in the order they will be tried.
    public func retryQueue(connector: ConnectorID? = nil, limit: Int = 50,
                           after cursor: (nextAttemptAt: Int64, id: DeliveryID)? = nil) throws -> [FailedDelivery] {
        try read { session in
            var clauses = ["d.state = 'retrying'"]
            var values: [ReadValue] = []
            if let connector {
                clauses.append("d.state IN ('pending', 'retrying')")
                clauses.append("d.connector_id = ?")
                values.append(.int(connector))
            }
            if let cursor {
                clauses.append("(d.next_attempt_at, d.id) > (?, ?)")
                values += [.int(cursor.nextAttemptAt), .int(cursor.id)]
            }
            values.append(.int(Int64(max(0, limit))))
            return try session.rows(ReadStatement("""
                SELECT \(FailedDelivery.pgColumns)
                FROM deliveries d
                JOIN events e ON e.id = d.event_id
                JOIN connectors c ON c.id = d.connector_id
                WHERE \(clauses.joined(separator: " AND "))
                ORDER BY d.next_attempt_at, d.id
                LIMIT ?
                """, values)).map(FailedDelivery.init(pgRow:))
        }
    }

    /// The WHERE clause selecting a filter's failing deliveries (SQLite's `failingWhere`); `alias`
    /// prefixes column names ("d.").
    static func failingWhere(_ filter: FailureFilter, session: Session, alias p: String = "") throws
        -> ReadStatement
    {
        var clauses = ["\(p)state IN ('retrying', 'dead')"]
        var values: [ReadValue] = []
        let states = filter.effectiveStates
        // States were named, but none of them is failing: nothing matches (not "both").
        if states.isEmpty { return ReadStatement("false") }
        if states.count == 1 {
            clauses.append("\(p)state = ?")
            values.append(.text(states[0].rawValue))
        }
        var connectorId = filter.connectorId
        if let groupId = filter.errorGroupId {
            guard let row = try session.rows(
                "SELECT connector_id, signature FROM error_groups WHERE id = \(groupId)").first else {
                throw StoreError.unknownErrorGroup(groupId)
            }
            let (groupConnector, signature) = try row.decode((Int64, String).self)
            if let connectorId, connectorId != groupConnector { return ReadStatement("false") }
            connectorId = groupConnector
            clauses.append("\(p)error_signature = ?")
            values.append(.text(signature))
        }
        if let connectorId {
            clauses.append("\(p)connector_id = ?")
            values.append(.int(connectorId))
        }
        if let since = filter.since {
            clauses.append("\(p)updated_at >= ?")
            values.append(.int(since.millis))
        }
        if let until = filter.until {
            clauses.append("\(p)updated_at < ?")
            values.append(.int(until.millis))
        }
        return ReadStatement(clauses.joined(separator: " AND "), values)
    }
}

// MARK: Invoices: runs, open items, aging

extension PostgresStore {
    /// The most recent batch runs, newest first.
    public func batchRuns(limit: Int) throws -> [BatchRun] {
        try read { session in
            try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(BatchRun.pgColumns()) FROM batch_runs ORDER BY started_at DESC, id DESC LIMIT $1
                """, binds: Self.binding(Int64(max(0, limit))))).map(BatchRun.init(pgRow:))
        }
    }

    /// A customer's open items, oldest due first, for drilling into an aging line.
    public func openInvoices(customer: String, currency: String? = nil) throws -> [Invoice] {
        try read { session in
            if let currency {
                return try session.rows(ReadStatement("""
                    SELECT \(Invoice.pgColumns()) FROM invoices WHERE open_minor <> 0 AND customer = ? AND currency = ?
                    ORDER BY due_date COLLATE "C", issue_date COLLATE "C", number COLLATE "C", id
                    """, [.text(customer), .text(currency.uppercased())])).map(Invoice.init(pgRow:))
            }
            return try session.rows(ReadStatement("""
                SELECT \(Invoice.pgColumns()) FROM invoices WHERE open_minor <> 0 AND customer = ?
                ORDER BY currency COLLATE "C", due_date COLLATE "C", issue_date COLLATE "C", number COLLATE "C", id
                """, [.text(customer)])).map(Invoice.init(pgRow:))
        }
    }

    /// The open invoices of one source connector in one currency (what an A/R export lists).
    public func openInvoices(currency: String, connector name: String) throws -> [Invoice] {
        try read { session in
            try session.rows(ReadStatement("""
                SELECT \(Invoice.pgColumns("i")) FROM invoices i JOIN connectors c ON c.id = i.source_id
                WHERE c.name = ? AND i.currency = ? AND i.open_minor <> 0 AND i.kind = 'invoice'
                ORDER BY i.customer COLLATE "C", i.issue_date COLLATE "C", i.number COLLATE "C"
                """, [.text(name), .text(currency.uppercased())])).map(Invoice.init(pgRow:))
        }
    }


    /// Open balances by currency, customer and age as of a date (`YYYY-MM-DD`).
    ///
    /// Settled items (open balance 0) are left out; credit memos and unapplied payments count with
    /// their negative balance. Currencies come sorted by code.
    public func aging(asOf: String, by basis: AgingBasis = .due) throws -> [CurrencyAging] {
        let empty = try AgingReportBuilder(asOf: asOf, basis: basis)
        let dateColumn = basis == .due ? "due_date" : "issue_date"
        return try read { session in
            // A sum past Int64 is NULL here and refused below, as SQLite's sum() refuses it.
            let rows = try session.rows(PostgresQuery(unsafeSQL: """
                SELECT currency, customer, \(dateColumn),
                       CASE WHEN sum(open_minor) BETWEEN -9223372036854775808 AND 9223372036854775807
                            THEN sum(open_minor)::bigint END,
                       count(*)
                FROM invoices
                WHERE open_minor <> 0
                GROUP BY currency, customer, \(dateColumn)
                ORDER BY currency COLLATE "C", customer COLLATE "C", \(dateColumn) COLLATE "C"
                """))
            var report = empty
            for row in rows {
                let (code, name, date, sum, count) = try row.decode((String, String, String, Int64?, Int).self)
                guard let open = sum else { throw StoreError.invalidInput(AgingSums.overflowMessage) }
                try report.add(currency: code, customer: name, date: date, open: open, count: count)
            }
            return try report.build()
        }
    }

    /// The aging report. SQLite keeps the last one until `invoices_version` moves; this store has no
    /// cache (yet) and computes it each time: the same report.
    public func agingCached(asOf: String, by basis: AgingBasis = .due) throws -> [CurrencyAging] {
        try aging(asOf: asOf, by: basis)
    }
}

// MARK: Counters against the rows

extension PostgresStore {
    /// Recounts every counter the dashboard reads from the rows it counts, and names each that
    /// differs. Empty when the counters are exact. (SQLite's `rollupDifferences`, check for check.)
    public func rollupDifferences(since: Date) throws -> [String] {
        try read { session in try Self.rollupDifferences(since: since.millis, session: session) }
    }

    static func rollupDifferences(since: Int64, session: Session) throws -> [String] {
        let minute = since / 60_000 + (since % 60_000 == 0 ? 0 : 1)
        /// Rows in `a` and not in `b`, plus rows in `b` and not in `a`.
        func differences(_ a: String, _ b: String) -> String {
            """
            SELECT (SELECT count(*) FROM (\(a) EXCEPT \(b)) AS a_not_b)
                 + (SELECT count(*) FROM (\(b) EXCEPT \(a)) AS b_not_a)
            """
        }
        let checks: [(String, String)] = [
            ("received per minute and source", differences(
                "SELECT received_at / 60000, source_id, count(*) FROM events WHERE received_at >= \(minute * 60_000) GROUP BY 1, 2",
                "SELECT bucket, connector_id, received FROM throughput_minute WHERE received <> 0 AND bucket >= \(minute)")),
            // A transition counts for the connector it happened on: its own `connector_id` once the
            // delivery has moved to another connector (`retry --to`), else the delivery's.
            ("delivered, failed, retried, dead per minute and connector", differences("""
                SELECT b, c, dl, fl, rt, x FROM (
                  SELECT t.at / 60000 AS b, coalesce(t.connector_id, d.connector_id) AS c,
                         count(*) FILTER (WHERE t.to_state = 'delivered') AS dl,
                         count(*) FILTER (WHERE t.from_state = 'in_flight' AND t.to_state IN ('retrying', 'dead')) AS fl,
                         count(*) FILTER (WHERE t.to_state = 'retrying'
                                            OR (t.to_state = 'pending' AND t.from_state <> 'in_flight')) AS rt,
                         count(*) FILTER (WHERE t.to_state = 'dead') AS x
                  FROM transitions t JOIN deliveries d ON d.id = t.delivery_id
                  WHERE t.from_state <> t.to_state AND t.at >= \(minute * 60_000)
                  GROUP BY 1, 2) AS moves
                WHERE dl + fl + rt + x > 0
                """, """
                SELECT bucket, connector_id, delivered, failed, retried, dead FROM throughput_minute
                WHERE delivered + failed + retried + dead > 0 AND bucket >= \(minute)
                """)),
            ("deliveries per connector and state", differences(
                "SELECT connector_id, state, count(*) FROM deliveries GROUP BY 1, 2",
                "SELECT connector_id, state, n FROM delivery_counts WHERE n <> 0")),
            ("retrying and dead per error group", differences("""
                SELECT connector_id, error_signature, count(*) FILTER (WHERE state = 'retrying'),
                       count(*) FILTER (WHERE state = 'dead')
                FROM deliveries WHERE state IN ('retrying', 'dead') GROUP BY 1, 2
                """, "SELECT connector_id, signature, retrying, dead FROM error_groups WHERE retrying + dead <> 0")),
        ]
        // The coarser tables against the minutes they sum, from their first whole bucket since `since`.
        let coarser = [("quarters", "throughput_quarter", 15), ("hours", "throughput_hour", 60)].map { name, table, minutes in
            let first = minute / Int64(minutes) + (minute % Int64(minutes) == 0 ? 0 : 1)
            return ("\(name) against minutes", differences("""
                SELECT bucket / \(minutes), connector_id, sum(received)::bigint, sum(delivered)::bigint,
                       sum(failed)::bigint, sum(retried)::bigint, sum(dead)::bigint, sum(rejected)::bigint
                FROM throughput_minute WHERE bucket >= \(first * Int64(minutes)) GROUP BY 1, 2
                """, """
                SELECT bucket, connector_id, received, delivered, failed, retried, dead, rejected FROM \(table)
                WHERE bucket >= \(first)
                """))
        }
        var wrong: [String] = []
        for (name, sql) in checks + coarser {
            let rows = try session.rows(PostgresQuery(unsafeSQL: sql)).first?.decode(Int64.self) ?? 0
            if rows != 0 { wrong.append("\(name): \(rows) rows differ") }
        }
        return wrong
    }
}
