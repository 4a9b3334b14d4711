import Foundation
import GRDB

extension Store {
    /// The integration log, newest first, a page at a time (keyset on the event id, never OFFSET).
    ///
    /// A filter on a connector or on a failure state is driven from an index of the events it
    /// selects (`events_by_source`, `deliveries_by_connector`, `deliveries_failing_by_event`, the
    /// queue's own indices for pending and in-flight), so a quiet connector or a rare state costs
    /// what it returns, not a walk through the log. A text filter reads within a `TextSearchBudget`.
    public func events(_ filter: EventFilter = EventFilter(), limit: Int = 50, before: EventID? = nil,
                       textBudget: TextSearchBudget = .standard) throws -> EventPage {
        try read { db in
            let query = EventQuery(filter: filter)
            let deadline = textBudget.deadline(for: filter)
            let found: EventPaging.Found<Row>
            if let driver = query.driver {
                found = try Self.drivenEvents(db, driver: driver, query: query, limit: limit, before: before,
                                              deadline: deadline)
            } else if filter.searchesText {
                found = try Self.searchedEvents(db, query: query, limit: limit, before: before,
                                                window: max(1, textBudget.window), deadline: deadline)
            } else {
                let rows = try Row.fetchAll(
                    db, sql: query.pageSQL(order: true, leading: before == nil ? nil : "e.id < ?"),
                    arguments: query.arguments(limit: limit + 1, leading: before.map { [$0] } ?? []))
                found = EventPaging.trimmed(rows, limit: limit, id: Self.eventId)
            }
            let names = try Self.connectorNames(db)
            let summaries = try found.rows.map { row in
                let event = try Event(indexed: row)
                return EventSummary(event: event, source: names[event.sourceId] ?? "#\(event.sourceId)",
                                    deliveryStates: EventPaging.stateCounts(row[EventQuery.statesColumn]))
            }
            return EventPage(events: summaries, nextCursor: found.next, partial: found.partial)
        }
    }

    /// A page row's event id (its first column).
    private static func eventId(_ row: Row) -> EventID { row[0] }

    /// Filters with no driving index and a text: the log newest first, one window of ids at a time.
    private static func searchedEvents(_ db: Database, query: EventQuery, limit: Int, before: EventID?,
                                       window: Int64, deadline: ContinuousClock.Instant?) throws -> EventPaging.Found<Row>
    {
        // Two subqueries: SQLite reads min() and max() from the ends of the b-tree only one at a time.
        guard let bounds = try Row.fetchOne(db, sql: "SELECT (SELECT min(id) FROM events), (SELECT max(id) FROM events)"),
              let lowest: EventID = bounds[0], let highest: EventID = bounds[1] else {
            return EventPaging.Found(rows: [], next: nil, partial: false)
        }
        let sql = query.pageSQL(order: true, leading: "e.id < ? AND e.id >= ?")
        return try EventPaging.searched(lowest: lowest, highest: highest, before: before, limit: limit, window: window,
                                        deadline: deadline, id: eventId) { upper, lower, count in
            try Row.fetchAll(db, sql: sql, arguments: query.arguments(limit: count, leading: [upper, lower]))
        }
    }

    /// Filters with a driving index: candidate ids from the index, newest first, in growing chunks,
    /// then the page's rows for those of them that pass the other filters.
    private static func drivenEvents(_ db: Database, driver: EventDriver, query: EventQuery, limit: Int,
                                     before: EventID?, deadline: ContinuousClock.Instant?) throws -> EventPaging.Found<Row>
    {
        var queue: [EventID]?  // pending / in flight: the whole (small) set, read once
        let sql = query.pageSQL(order: false, leading: "e.id IN (SELECT value FROM json_each(?))")
        return try EventPaging.driven(before: before, limit: limit, deadline: deadline, id: eventId) { below, chunk in
            switch driver {
            case .connector(let connector):
                return try connectorCandidates(db, connector: connector, below: below, count: chunk)
            case .failing(let state):
                return try EventID.fetchAll(db, sql: """
                    SELECT DISTINCT event_id FROM deliveries INDEXED BY deliveries_failing_by_event
                    WHERE state IN ('retrying', 'dead', 'discarded') AND state = '\(state.rawValue)' AND event_id < ?
                    ORDER BY event_id DESC LIMIT ?
                    """, arguments: [below, chunk])
            case .queued(let state):
                if queue == nil {
                    let index = state == .inFlight ? "deliveries_leases" : "deliveries_due"
                    let all = try EventID.fetchAll(db, sql: """
                        SELECT event_id FROM deliveries INDEXED BY \(index)
                        WHERE \(state == .inFlight ? "state = 'in_flight'" : "state IN ('pending', 'retrying') AND state = 'pending'")
                        """)
                    queue = Array(Set(all)).sorted(by: >)
                }
                return Array(queue!.lazy.filter { $0 < below }.prefix(chunk))
            }
        } rows: { ids in
            let json = "[" + ids.map(String.init).joined(separator: ",") + "]"
            return try Row.fetchAll(db, sql: sql, arguments: query.arguments(limit: nil, leading: [json]))
        }
    }

    /// The newest `count` events below `below` that a connector sent or is a target of, newest first.
    private static func connectorCandidates(_ db: Database, connector: ConnectorID, below: EventID,
                                            count: Int) throws -> [EventID] {
        let sent = try EventID.fetchAll(db, sql: """
            SELECT id FROM events WHERE source_id = ? AND id < ? ORDER BY id DESC LIMIT ?
            """, arguments: [connector, below, count])
        let received = try EventID.fetchAll(db, sql: """
            SELECT event_id FROM deliveries INDEXED BY deliveries_by_connector
            WHERE connector_id = ? AND event_id < ? ORDER BY event_id DESC LIMIT ?
            """, arguments: [connector, below, count])
        return EventPaging.merged(sent, received, count: count)
    }
}

/// The WHERE clauses of an event-list read, less the filter that drives it.
struct EventQuery {
    private(set) var clauses: [String] = []
    private var values: [any DatabaseValueConvertible] = []
    let driver: EventDriver?

    /// Index of the page rows' `group_concat` of delivery states (after `Event.indexedColumns`).
    static let statesColumn = 9

    init(filter: EventFilter) {
        driver = EventDriver(filter: filter)
        if let topic = filter.topic { add("e.topic = ?", [topic]) }
        if let correlation = filter.correlationId { add("e.correlation_id = ?", [correlation]) }
        if let connector = filter.connectorId, driver != .connector(connector) {
            add("(e.source_id = ? OR EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id AND x.connector_id = ?))",
                [connector, connector])
        }
        if let state = filter.state, !EventDriver.drives(driver, state: state) {
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
    }

    private mutating func add(_ clause: String, _ clauseValues: [any DatabaseValueConvertible]) {
        clauses.append(clause)
        values += clauseValues
    }

    /// The page's statement: the event's columns and its deliveries' states, in one statement.
    /// `leading` comes before the filter's clauses; its values are the caller's `leading` arguments.
    func pageSQL(order: Bool, leading: String? = nil) -> String {
        var all = clauses
        if let leading { all.insert(leading, at: 0) }
        let whereSQL = all.isEmpty ? "" : "WHERE " + all.joined(separator: " AND ")
        return """
            SELECT \(Event.indexedColumns),
                   (SELECT group_concat(x.state) FROM deliveries x WHERE x.event_id = e.id)
            FROM events e \(whereSQL)\(order ? " ORDER BY e.id DESC LIMIT ?" : "")
            """
    }

    /// The clauses' values after `leading` (bound to clauses that come first), then the limit.
    func arguments(limit: Int?, leading: StatementArguments = []) -> StatementArguments {
        var arguments = leading
        _ = arguments.append(contentsOf: StatementArguments(values))
        if let limit { _ = arguments.append(contentsOf: [limit]) }
        return arguments
    }
}
