import Foundation
import PatchbayModel
import PostgresNIO

// SQLite's Store+Traffic on PostgreSQL: the same snapshot for the same rows.
//
// Where SQLite's order came from an index or a table's key (rollup rows by (bucket, connector),
// the first event of the window by (received_at, id), connectors by name in byte order), the
// statements here say so, so ties fall the same way on both backends.

extension PostgresStore {
    /// Deliveries read per sink connector for routes and latency: the newest in the window.
    public static let trafficSampleLimit = TrafficSnapshot.sampleLimit

    /// The traffic of the last `days` days (averages, routes, latency, batch runs) and the hourly
    /// rollups of the last `historyDays` (trends), as SQLite's `trafficSnapshot` reads them.
    ///
    /// One read-only transaction: the connectors, the hourly rollups, at most `trafficSampleLimit`
    /// deliveries per sink (through `deliveries_by_connector`), and the window's batch runs, made a
    /// snapshot by `TrafficSnapshot.Builder` as on SQLite.
    public func trafficSnapshot(now: Date = Date(), days: Int = 7, historyDays: Int = 90) throws -> TrafficSnapshot {
        try read { session in
            // Sorted as SQLite's BINARY collation sorts names: the sinks are read in this order.
            let connectors = try session.rows(PostgresQuery(
                unsafeSQL: "SELECT \(Self.connectorColumns) FROM connectors ORDER BY name COLLATE \"C\""))
                .map(Self.decodeConnector)
            var snapshot = TrafficSnapshot.Builder(now: now.millis, days: days, historyDays: historyDays,
                                                   connectors: connectors)
            let windowStart = snapshot.windowStart

            // Hourly rollups over the history: daily volumes, window sums and the peak hour (the
            // first of equal hours: rows in key order, as SQLite's WITHOUT ROWID table gives them).
            let hourly = try session.rows("""
                SELECT bucket, connector_id, received, delivered, failed, dead FROM throughput_hour
                WHERE bucket >= \(snapshot.hourBuckets.lowerBound) AND bucket <= \(snapshot.hourBuckets.upperBound)
                ORDER BY bucket, connector_id
                """)
            for row in hourly {
                let (bucket, connector, received, delivered, failed, dead) =
                    try row.decode((Int64, Int64, Int64, Int64, Int64, Int64).self)
                snapshot.addHour(bucket: bucket, connector: connector, received: Int(received), delivered: Int(delivered),
                                 failed: Int(failed), dead: Int(dead))
            }

            // Routes and latency: the newest deliveries of each sink whose event arrived in the window.
            // Event ids grow with receipt, so the window starts at the first event received in it
            // (SQLite walks `events_by_received`: of equal times, the lowest id).
            let firstEvent = try session.rows("""
                SELECT id FROM events WHERE received_at >= \(windowStart) ORDER BY received_at, id LIMIT 1
                """).first?.decode(Int64.self)
            if let firstEvent {
                for sink in snapshot.sinks {
                    var sample = TrafficSnapshot.SinkSample(sink: sink.id)
                    let rows = try session.rows("""
                        SELECT e.source_id, e.topic, d.state, d.updated_at - e.received_at
                        FROM deliveries d JOIN events e ON e.id = d.event_id
                        WHERE d.connector_id = \(sink.id) AND d.event_id >= \(firstEvent) AND e.received_at >= \(windowStart)
                        ORDER BY d.event_id DESC LIMIT \(Int64(Self.trafficSampleLimit))
                        """)
                    for row in rows {
                        let (source, topic, state, wait) = try row.decode((Int64, String, String, Int64).self)
                        sample.add(source: source, topic: topic, state: state, waitMs: wait)
                    }
                    snapshot.add(sample)
                }
            }

            // Batch runs per job in the window.
            let runs = try session.rows("""
                SELECT job, connector_id, started_at, status, rows_loaded FROM batch_runs
                WHERE started_at >= \(windowStart) ORDER BY job COLLATE "C", started_at, id
                """)
            for row in runs {
                let (job, connector, started, status, loaded) = try row.decode((String, Int64?, Int64, String, Int64).self)
                snapshot.addBatchRun(job: job, connector: connector, startedAt: started, status: status,
                                     rowsLoaded: Int(loaded))
            }
            return snapshot.build()
        }
    }
}

extension PostgresStore: TrafficReading {}
