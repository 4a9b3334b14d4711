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
    /// deliveries per sink (through `deliveries_by_connector`), and the window's batch runs.
    public func trafficSnapshot(now: Date = Date(), days: Int = 7, historyDays: Int = 90) throws -> TrafficSnapshot {
        let days = max(1, days)
        let historyDays = max(days, historyDays)
        let nowMs = now.millis
        let windowStart = nowMs - Int64(days) * 86_400_000
        let historyStart = nowMs - Int64(historyDays) * 86_400_000

        return try read { session in
            // Sorted as SQLite's BINARY collation sorts names: the sinks are read in this order.
            let connectors = try session.rows(PostgresQuery(
                unsafeSQL: "SELECT \(Self.connectorColumns) FROM connectors ORDER BY name COLLATE \"C\""))
                .map(Self.decodeConnector)
            let directions = Dictionary(uniqueKeysWithValues: connectors.map { ($0.id, $0.direction) })

            // Hourly rollups over the history: daily volumes, window sums and the peak hour (the
            // first of equal hours: rows in key order, as SQLite's WITHOUT ROWID table gives them).
            var perConnector: [ConnectorID: (daily: [Int64: TrafficSnapshot.DailyVolume],
                                             traffic: TrafficSnapshot.ConnectorTraffic)] = [:]
            let hourly = try session.rows("""
                SELECT bucket, connector_id, received, delivered, failed, dead FROM throughput_hour
                WHERE bucket >= \(historyStart / 3_600_000) AND bucket <= \(nowMs / 3_600_000)
                ORDER BY bucket, connector_id
                """)
            for row in hourly {
                let (bucket, connector, received64, delivered64, failed64, dead64) =
                    try row.decode((Int64, Int64, Int64, Int64, Int64, Int64).self)
                let (received, delivered, failed, dead) = (Int(received64), Int(delivered64), Int(failed64), Int(dead64))
                if received + delivered + failed + dead == 0 { continue }
                let hourStart = bucket * 3_600_000
                let dayStart = hourStart / 86_400_000 * 86_400_000
                var entry = perConnector[connector] ?? ([:], TrafficSnapshot.ConnectorTraffic(
                    connector: connector, daily: [], windowReceived: 0, windowDelivered: 0, windowFailed: 0,
                    windowDead: 0, peakHourStart: nil, peakHourEvents: 0, firstActivity: nil))
                var day = entry.daily[dayStart] ?? TrafficSnapshot.DailyVolume(dayStart: dayStart)
                day.received += received
                day.delivered += delivered
                day.failed += failed
                day.dead += dead
                entry.daily[dayStart] = day
                entry.traffic.firstActivity = min(entry.traffic.firstActivity ?? hourStart, hourStart)
                if hourStart + 3_600_000 > windowStart {
                    entry.traffic.windowReceived += received
                    entry.traffic.windowDelivered += delivered
                    entry.traffic.windowFailed += failed
                    entry.traffic.windowDead += dead
                    let carried = directions[connector] == .source ? received : delivered + dead
                    if carried > entry.traffic.peakHourEvents {
                        entry.traffic.peakHourEvents = carried
                        entry.traffic.peakHourStart = hourStart
                    }
                }
                perConnector[connector] = entry
            }
            let traffic = perConnector.keys.sorted().map { id -> TrafficSnapshot.ConnectorTraffic in
                var entry = perConnector[id]!
                entry.traffic.daily = entry.daily.keys.sorted().map { entry.daily[$0]! }
                return entry.traffic
            }

            // Routes and latency: the newest deliveries of each sink whose event arrived in the window.
            // Event ids grow with receipt, so the window starts at the first event received in it
            // (SQLite walks `events_by_received`: of equal times, the lowest id).
            let firstEvent = try session.rows("""
                SELECT id FROM events WHERE received_at >= \(windowStart) ORDER BY received_at, id LIMIT 1
                """).first?.decode(Int64.self)
            var routes: [TrafficSnapshot.Route] = []
            var latencies: [TrafficSnapshot.RouteLatency] = []
            if let firstEvent {
                for sink in connectors where sink.direction == .sink {
                    var counts: [ConnectorID: [String: (n: Int, delivered: Int, failing: Int)]] = [:]
                    var waits: [ConnectorID: [Int64]] = [:]
                    var read = 0
                    let rows = try session.rows("""
                        SELECT e.source_id, e.topic, d.state, d.updated_at - e.received_at
                        FROM deliveries d JOIN events e ON e.id = d.event_id
                        WHERE d.connector_id = \(sink.id) AND d.event_id >= \(firstEvent) AND e.received_at >= \(windowStart)
                        ORDER BY d.event_id DESC LIMIT \(Int64(Self.trafficSampleLimit))
                        """)
                    for row in rows {
                        read += 1
                        let (source, topic, state, wait) = try row.decode((Int64, String, String, Int64).self)
                        var count = counts[source, default: [:]][topic] ?? (0, 0, 0)
                        count.n += 1
                        if state == "delivered" {
                            count.delivered += 1
                            waits[source, default: []].append(max(0, wait))
                        } else if state == "retrying" || state == "dead" {
                            count.failing += 1
                        }
                        counts[source, default: [:]][topic] = count
                    }
                    let sampled = read >= Self.trafficSampleLimit
                    for source in counts.keys.sorted() {
                        for topic in counts[source]!.keys.sorted() {
                            let count = counts[source]![topic]!
                            routes.append(.init(source: source, sink: sink.id, topic: topic, deliveries: count.n,
                                                delivered: count.delivered, failing: count.failing, sampled: sampled))
                        }
                    }
                    for source in waits.keys.sorted() {
                        let sorted = waits[source]!.sorted()
                        latencies.append(.init(source: source, sink: sink.id,
                                               p50Ms: TrafficSnapshot.percentile(sorted, 0.50),
                                               p95Ms: TrafficSnapshot.percentile(sorted, 0.95), samples: sorted.count))
                    }
                }
            }

            // Batch runs per job in the window.
            var batchJobs: [TrafficSnapshot.BatchJobActivity] = []
            var starts: [String: [Int64]] = [:]
            let runs = try session.rows("""
                SELECT job, connector_id, started_at, status, rows_loaded FROM batch_runs
                WHERE started_at >= \(windowStart) ORDER BY job COLLATE "C", started_at, id
                """)
            var byJob: [String: TrafficSnapshot.BatchJobActivity] = [:]
            for row in runs {
                let (job, connector, started, status, loaded) = try row.decode((String, Int64?, Int64, String, Int64).self)
                var activity = byJob[job] ?? .init(job: job, connector: connector, runs: 0, failedRuns: 0, rowsLoaded: 0,
                                                   firstStartedAt: started, lastStartedAt: started, medianIntervalMs: nil)
                activity.connector = activity.connector ?? connector
                activity.runs += 1
                activity.failedRuns += status == "failed" ? 1 : 0
                activity.rowsLoaded += Int(loaded)
                activity.lastStartedAt = max(activity.lastStartedAt, started)
                byJob[job] = activity
                starts[job, default: []].append(started)
            }
            for job in byJob.keys.sorted() {
                var activity = byJob[job]!
                let times = starts[job]!
                if times.count >= 2 {
                    let gaps = zip(times.dropFirst(), times).map { $0 - $1 }.sorted()
                    activity.medianIntervalMs = TrafficSnapshot.percentile(gaps, 0.5)
                }
                batchJobs.append(activity)
            }

            let oldest = traffic.compactMap(\.firstActivity).min()
            let retained = oldest.map { Int(min(Int64(historyDays), (nowMs - $0) / 86_400_000 + 1)) } ?? 0
            return TrafficSnapshot(now: nowMs, windowDays: days, historyDays: retained, connectors: connectors,
                                   traffic: traffic, routes: routes, latencies: latencies, batchJobs: batchJobs)
        }
    }
}

extension PostgresStore: TrafficReading {}
