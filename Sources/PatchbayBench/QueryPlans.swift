import Foundation
import GRDB
import PatchbayStore

/// `--explain`: SQLite's plan for the reads whose cost can grow with the log.
///
/// The SQL is copied from `Store+Reads.swift` and `Store+Events.swift` (the store keeps its
/// statements internal); if they drift apart, these plans say nothing about the store, so keep them
/// in step.
enum QueryPlans {
    static func print(path: String, parameters p: ReadBenchmark.Parameters, report: Report) throws {
        func eventList(_ whereSQL: String) -> String { "SELECT e.* FROM events e \(whereSQL) ORDER BY e.id DESC LIMIT 51" }
        let queries: [(String, String, StatementArguments)] = [
            ("events, first page", eventList(""), []),
            // Since v3 a connector or failure state drives the read from an index: first the
            // candidate ids, then the page's rows among them (Store+Events.swift).
            ("events, connector: its own events", """
                SELECT id FROM events WHERE source_id = ? AND id < ? ORDER BY id DESC LIMIT 51
                """, [p.quickbooks, Int64.max]),
            ("events, connector: events sent to it", """
                SELECT event_id FROM deliveries INDEXED BY deliveries_by_connector
                WHERE connector_id = ? AND event_id < ? ORDER BY event_id DESC LIMIT 51
                """, [p.quickbooks, Int64.max]),
            ("events, state", """
                SELECT DISTINCT event_id FROM deliveries INDEXED BY deliveries_failing_by_event
                WHERE state IN ('retrying', 'dead', 'discarded') AND state = 'discarded' AND event_id < ?
                ORDER BY event_id DESC LIMIT 51
                """, [Int64.max]),
            ("events, the page's rows among the candidates", """
                SELECT e.*, (SELECT group_concat(x.state) FROM deliveries x WHERE x.event_id = e.id)
                FROM events e WHERE e.id IN (SELECT value FROM json_each(?))
                """, ["[3,2,1]"]),
            // A text search reads one window of ids at a time, within a time budget.
            ("events, text (one window)", eventList("""
                WHERE e.id < ? AND e.id >= ? AND (e.payload LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM deliveries x
                  WHERE x.event_id = e.id AND x.last_error LIKE ? ESCAPE '\\'))
                """), [Int64.max, 0, "%\(p.rareText)%", "%\(p.rareText)%"]),
            ("events, correlation", eventList("WHERE e.correlation_id = ?"), [p.correlation]),
            ("events, since", eventList("""
                WHERE e.id >= coalesce((SELECT min(id) FROM (SELECT id FROM events WHERE received_at >= ?
                  ORDER BY received_at LIMIT 1000)), 9223372036854775807)
                  AND e.received_at >= ?
                """), [0, 0]),
            ("failed list", """
                SELECT d.id, e.topic, c.name FROM deliveries d JOIN events e ON e.id = d.event_id
                JOIN connectors c ON c.id = d.connector_id
                WHERE d.state IN ('retrying', 'dead') ORDER BY d.updated_at DESC, d.id DESC LIMIT 50
                """, []),
            ("throughput, one connector", """
                SELECT bucket * 60000 / 1800000 * 1800000 AS start, sum(received) FROM throughput_minute
                WHERE bucket >= ? AND bucket < ? AND connector_id = ? GROUP BY 1
                """, [0, 1, p.erp]),
        ]
        let queue = try DatabaseQueue(path: path, configuration: HistoryBuilder.readOnly)
        try queue.read { db in
            for (name, sql, arguments) in queries {
                report.emit("\n  EXPLAIN QUERY PLAN — \(name)")
                let rows = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
                var depth: [Int: Int] = [0: 0]
                for row in rows {
                    let id: Int = row["id"]
                    let parent: Int = row["parent"]
                    let level = (depth[parent] ?? 0) + 1
                    depth[id] = level
                    report.emit(String(repeating: "  ", count: level + 1) + (row["detail"] as String))
                }
            }
        }
        report.emit("")
    }

    /// The SQL of the list reads run bare (rows fetched as `Row`, nothing decoded), beside the store's
    /// call: the difference is what the store spends turning rows into records.
    static func timeBareSQL(path: String) throws -> TextTable {
        let failed = """
            SELECT d.id, d.event_id, e.topic, d.connector_id, c.name AS connector, d.state, d.attempts,
                   d.max_attempts, d.next_attempt_at, d.last_error, d.last_status, d.error_signature, d.updated_at
            FROM deliveries d %INDEX%
            JOIN events e ON e.id = d.event_id
            JOIN connectors c ON c.id = d.connector_id

            """
        let queries: [(String, String)] = [
            ("failed list, first page (1000)", failed.replacingOccurrences(of: "%INDEX%", with: "")
                + "WHERE d.state IN ('retrying', 'dead') ORDER BY d.updated_at DESC, d.id DESC LIMIT 1000"),
            ("retry queue, first page (1000)", failed.replacingOccurrences(of: "%INDEX%", with: "INDEXED BY deliveries_retry_queue")
                + "WHERE d.state = 'retrying' ORDER BY d.next_attempt_at, d.id LIMIT 1000"),
            ("events, first page (200): events only", "SELECT e.* FROM events e ORDER BY e.id DESC LIMIT 201"),
            ("events, first page (200): with state counts", """
                SELECT e.*, (SELECT group_concat(state) FROM deliveries x WHERE x.event_id = e.id)
                FROM events e ORDER BY e.id DESC LIMIT 201
                """),
        ]
        var table = TextTable(headers: ["bare SQL (no decoding)", "rows", "median"], rightAligned: [1, 2])
        let queue = try DatabaseQueue(path: path, configuration: HistoryBuilder.readOnly)
        try queue.read { db in
            for (name, sql) in queries {
                var samples = Samples()
                var rows = 0
                for _ in 0..<20 {
                    let (fetched, seconds) = try Monotonic.time { try Row.fetchAll(db, sql: sql) }
                    rows = fetched.count
                    samples.add(seconds)
                }
                table.add([name, Format.count(rows), Format.duration(samples.median)])
            }
            // The store's record, decoded by column index instead of by Codable: what a hand-written
            // `init(row:)` would cost.
            var samples = Samples()
            for _ in 0..<20 {
                let (_, seconds) = try Monotonic.time { try IndexedFailedDelivery.fetchAll(db, sql: queries[0].1) }
                samples.add(seconds)
            }
            table.add(["failed list (1000), decoded by init(row:)", "1,000", Format.duration(samples.median)])
        }
        return table
    }
}

/// `FailedDelivery`'s fields, read by column index: the decoding `--explain` compares with Codable's.
private struct IndexedFailedDelivery: FetchableRecord {
    var id: DeliveryID
    var eventId: EventID
    var topic: String
    var connectorId: ConnectorID
    var connector: String
    var state: DeliveryState
    var attempts: Int
    var maxAttempts: Int
    var nextAttemptAt: Int64?
    var lastError: String?
    var lastStatus: Int?
    var errorSignature: String?
    var updatedAt: Int64

    init(row: Row) throws {
        id = row[0]; eventId = row[1]; topic = row[2]; connectorId = row[3]; connector = row[4]
        state = row[5]; attempts = row[6]; maxAttempts = row[7]; nextAttemptAt = row[8]; lastError = row[9]
        lastStatus = row[10]; errorSignature = row[11]; updatedAt = row[12]
    }
}
