import Foundation
import GRDB

extension Store {
    /// Deliveries read per sink connector for routes and latency: the newest in the window.
    public static let trafficSampleLimit = TrafficSnapshot.sampleLimit

    /// The traffic of the last `days` days (averages, routes, latency, batch runs) and the hourly
    /// rollups of the last `historyDays` (trends).
    ///
    /// Bounded: hourly rollup rows (connectors × hours of history), at most `trafficSampleLimit`
    /// deliveries per sink read through `deliveries_by_connector`, and the window's batch runs.
    /// The rows are read here; `TrafficSnapshot.Builder` makes the snapshot of them.
    public func trafficSnapshot(now: Date = Date(), days: Int = 7, historyDays: Int = 90) throws -> TrafficSnapshot {
        let connectors = try connectors()
        return try writer.read { db in
            var snapshot = TrafficSnapshot.Builder(now: now.millis, days: days, historyDays: historyDays,
                                                   connectors: connectors)
            let windowStart = snapshot.windowStart

            // Hourly rollups over the history: daily volumes, window sums and the peak hour.
            let hourly = try Row.fetchCursor(db, sql: """
                SELECT bucket, connector_id, received, delivered, failed, dead FROM throughput_hour
                WHERE bucket >= ? AND bucket <= ?
                """, arguments: [snapshot.hourBuckets.lowerBound, snapshot.hourBuckets.upperBound])
            while let row = try hourly.next() {
                snapshot.addHour(bucket: row[0], connector: row[1], received: row[2], delivered: row[3], failed: row[4],
                                 dead: row[5])
            }

            // Routes and latency: the newest deliveries of each sink whose event arrived in the window.
            // Event ids grow with receipt, so the window starts at the first event received in it.
            let firstEvent = try Int64.fetchOne(db, sql: """
                SELECT id FROM events WHERE received_at >= ? ORDER BY received_at LIMIT 1
                """, arguments: [windowStart])
            if let firstEvent {
                for sink in snapshot.sinks {
                    var sample = TrafficSnapshot.SinkSample(sink: sink.id)
                    let rows = try Row.fetchCursor(db, sql: """
                        SELECT e.source_id, e.topic, d.state, d.updated_at - e.received_at
                        FROM deliveries d JOIN events e ON e.id = d.event_id
                        WHERE d.connector_id = ? AND d.event_id >= ? AND e.received_at >= ?
                        ORDER BY d.event_id DESC LIMIT ?
                        """, arguments: [sink.id, firstEvent, windowStart, Self.trafficSampleLimit])
                    while let row = try rows.next() {
                        sample.add(source: row[0], topic: row[1], state: row[2], waitMs: row[3])
                    }
                    snapshot.add(sample)
                }
            }

            // Batch runs per job in the window.
            let runs = try Row.fetchCursor(db, sql: """
                SELECT job, connector_id, started_at, status, rows_loaded FROM batch_runs
                WHERE started_at >= ? ORDER BY job, started_at
                """, arguments: [windowStart])
            while let row = try runs.next() {
                snapshot.addBatchRun(job: row[0], connector: row[1], startedAt: row[2], status: row[3], rowsLoaded: row[4])
            }
            return snapshot.build()
        }
    }
}
