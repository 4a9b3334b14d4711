import Foundation
import GRDB

extension Store {
    /// Recounts every counter the dashboard reads from the rows it counts, and names each that
    /// differs. Empty when the counters are exact.
    ///
    /// Per-minute and per-hour figures are recounted from `since` on (the log before it may have
    /// been pruned, which keeps the counters by design); per-state and per-group counts are
    /// recounted whole. It reads every row since `since`: for tests, `patchbay-bench` and checks by
    /// hand, never for the dashboard.
    public func rollupDifferences(since: Date) throws -> [String] {
        try read { db in try Self.rollupDifferences(since: since.millis, db: db) }
    }

    static func rollupDifferences(since: Int64, db: Database) throws -> [String] {
        let minute = since / 60_000 + (since % 60_000 == 0 ? 0 : 1)
        /// Rows in `a` and not in `b`, plus rows in `b` and not in `a`.
        func differences(_ a: String, _ b: String) -> String {
            "SELECT (SELECT count(*) FROM (\(a) EXCEPT \(b))) + (SELECT count(*) FROM (\(b) EXCEPT \(a)))"
        }
        let checks: [(String, String)] = [
            ("received per minute and source", differences(
                "SELECT received_at / 60000, source_id, count(*) FROM events WHERE received_at >= \(minute * 60_000) GROUP BY 1, 2",
                "SELECT bucket, connector_id, received FROM throughput_minute WHERE received <> 0 AND bucket >= \(minute)")),
            // A transition counts for the connector it happened on: its own `connector_id` once the
            // delivery has moved to another connector (`retry --to`), else the delivery's.
            ("delivered, failed, retried, dead per minute and connector", differences("""
                SELECT t.at / 60000 AS b, coalesce(t.connector_id, d.connector_id) AS c,
                       sum(t.to_state = 'delivered') AS dl,
                       sum(t.from_state = 'in_flight' AND t.to_state IN ('retrying', 'dead')) AS fl,
                       sum(t.to_state = 'retrying' OR (t.to_state = 'pending' AND t.from_state <> 'in_flight')) AS rt,
                       sum(t.to_state = 'dead') AS x
                FROM transitions t JOIN deliveries d ON d.id = t.delivery_id
                WHERE t.from_state <> t.to_state AND t.at >= \(minute * 60_000)
                GROUP BY 1, 2 HAVING dl + fl + rt + x > 0
                """, """
                SELECT bucket, connector_id, delivered, failed, retried, dead FROM throughput_minute
                WHERE delivered + failed + retried + dead > 0 AND bucket >= \(minute)
                """)),
            ("deliveries per connector and state", differences(
                "SELECT connector_id, state, count(*) FROM deliveries GROUP BY 1, 2",
                "SELECT connector_id, state, n FROM delivery_counts WHERE n <> 0")),
            ("retrying and dead per error group", differences("""
                SELECT connector_id, error_signature, sum(state = 'retrying'), sum(state = 'dead') FROM deliveries
                WHERE state IN ('retrying', 'dead') GROUP BY 1, 2
                """, "SELECT connector_id, signature, retrying, dead FROM error_groups WHERE retrying + dead <> 0")),
        ]
        // The coarser tables against the minutes they sum, from their first whole bucket since `since`.
        let coarser = [("quarters", "throughput_quarter", 15), ("hours", "throughput_hour", 60)].map { name, table, minutes in
            let first = minute / Int64(minutes) + (minute % Int64(minutes) == 0 ? 0 : 1)
            return ("\(name) against minutes", differences("""
                SELECT bucket / \(minutes), connector_id, sum(received), sum(delivered), sum(failed), sum(retried),
                       sum(dead), sum(rejected)
                FROM throughput_minute WHERE bucket >= \(first * Int64(minutes)) GROUP BY 1, 2
                """, """
                SELECT bucket, connector_id, received, delivered, failed, retried, dead, rejected FROM \(table)
                WHERE bucket >= \(first)
                """))
        }
        var wrong: [String] = []
        for (name, sql) in checks + coarser {
            let rows = try Int.fetchOne(db, sql: sql) ?? 0
            if rows != 0 { wrong.append("\(name): \(rows) rows differ") }
        }
        return wrong
    }
}
