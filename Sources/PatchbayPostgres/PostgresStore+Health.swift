import Foundation
import PatchbayModel
import PostgresNIO

// SQLite's Store+Health on PostgreSQL, with the same results for the same rows: the rules are the
// model's (`MoneyAtRiskTally`, `SourceActivityRule`); this file only reads rows.

extension PostgresStore: HealthReading {
    public func moneyAtRisk(connector: ConnectorID?) throws -> MoneyAtRisk {
        let report = try moneyAtRiskRows(connector: connector)
        return connector.map { report.connector($0) } ?? report.total
    }

    public func moneyAtRiskReport() throws -> MoneyAtRiskReport { try moneyAtRiskRows(connector: nil) }

    /// One aggregate over the failing deliveries and their events. The payload is kept as `json`
    /// (byte for byte); it is read here as `jsonb` once per row, and `currency` and `total` are
    /// taken only when each is a JSON string, as on SQLite.
    private func moneyAtRiskRows(connector: ConnectorID?) throws -> MoneyAtRiskReport {
        try read { session in
            var sql = """
                SELECT f.connector_id, g.id,
                       CASE WHEN jsonb_typeof(f.p -> 'currency') = 'string' THEN f.p ->> 'currency' END,
                       CASE WHEN jsonb_typeof(f.p -> 'total') = 'string' THEN f.p ->> 'total' END,
                       count(*)::bigint
                FROM (SELECT d.connector_id, d.error_signature, e.payload::jsonb AS p
                      FROM deliveries d JOIN events e ON e.id = d.event_id
                      WHERE d.state IN ('retrying', 'dead')
                """
            var values: [ReadValue] = []
            if let connector {
                sql += " AND d.connector_id = ?"
                values.append(.int(connector))
            }
            sql += """
                ) f
                LEFT JOIN error_groups g ON g.connector_id = f.connector_id AND g.signature = f.error_signature
                GROUP BY 1, 2, 3, 4
                """
            var tally = MoneyAtRiskTally()
            for row in try session.rows(ReadStatement(sql, values)) {
                let (connector, group, currency, total, count) =
                    try row.decode((Int64, Int64?, String?, String?, Int64).self)
                tally.add(connector: connector, group: group, currency: currency, total: total, count: Int(count))
            }
            return tally.report
        }
    }

    public func sourceHealth(window: TimeInterval, now: Date) throws -> [ConnectorID: SourceHealth] {
        try read { session in
            let sources = try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(Self.connectorColumns) FROM connectors WHERE direction = 'source' ORDER BY name COLLATE "C"
                """)).map(Self.decodeConnector)
            guard !sources.isEmpty else { return [:] }
            let today = try Self.receivedAndRefused(since: now.startOfUTCDay, session: session)
            let inWindow = try Self.receivedAndRefused(since: now.addingTimeInterval(-window), session: session)
            let minutes = SourceActivityRule.lastHourMinutes(now: now)
            var lastHour: [ConnectorID: Int] = [:]
            for row in try session.rows(ReadStatement("""
                SELECT connector_id, sum(received)::bigint FROM throughput_minute WHERE bucket >= ? AND bucket <= ?
                GROUP BY connector_id
                """, [.int(minutes.lowerBound), .int(minutes.upperBound)])) {
                let (id, received) = try row.decode((Int64, Int64).self)
                lastHour[id] = Int(received)
            }
            var hours: [ConnectorID: [Int64: Int]] = [:]
            for row in try session.rows(ReadStatement("""
                SELECT bucket, connector_id, received FROM throughput_hour WHERE bucket = ANY(?)
                """, [.ints(SourceActivityRule.hourBuckets(now: now))])) {
                let (bucket, id, received) = try row.decode((Int64, Int64, Int64).self)
                hours[id, default: [:]][bucket] = Int(received)
            }
            var firstHour: [ConnectorID: Int64] = [:]
            var last: [ConnectorID: Int64] = [:]
            for source in sources {
                firstHour[source.id] = try session.rows(ReadStatement(
                    "SELECT min(bucket) FROM throughput_hour WHERE connector_id = ?", [.int(source.id)]))
                    .first?.decode(Int64?.self) ?? nil
                last[source.id] = try session.rows(ReadStatement(
                    "SELECT received_at FROM events WHERE source_id = ? ORDER BY id DESC LIMIT 1", [.int(source.id)]))
                    .first?.decode(Int64.self)
            }
            return SourceHealth.assemble(
                sources: sources.map(\.id), today: today, inWindow: inWindow, lastHour: lastHour, hours: hours,
                firstHour: firstHour, lastReceivedAt: last, now: now)
        }
    }

    /// Per connector, events received and webhooks refused since a time, as SQLite adds them: whole
    /// hours from the hourly rollups, the minutes before the first whole hour from the per-minute ones.
    private static func receivedAndRefused(since date: Date, session: Session) throws
        -> [ConnectorID: SourceHealth.Counts]
    {
        let ms = date.millis
        let firstFullHour = (ms + 3_599_999) / 3_600_000
        let rows = try session.rows(ReadStatement("""
            SELECT connector_id, sum(received)::bigint, sum(rejected)::bigint FROM (
              SELECT connector_id, received, rejected FROM throughput_hour WHERE bucket >= ?
              UNION ALL
              SELECT connector_id, received, rejected FROM throughput_minute WHERE bucket >= ? AND bucket < ?
            ) s GROUP BY connector_id
            """, [.int(firstFullHour), .int(ms / 60_000), .int(firstFullHour * 60)]))
        var sums: [ConnectorID: SourceHealth.Counts] = [:]
        for row in rows {
            let (id, received, refused) = try row.decode((Int64, Int64, Int64).self)
            sums[id] = (Int(received), Int(refused))
        }
        return sums
    }

    public func batchJobHealth() throws -> [ConnectorID: BatchJobHealth] {
        try read { session in
            let sources = try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(Self.connectorColumns) FROM connectors WHERE direction = 'source' ORDER BY name COLLATE "C"
                """)).map(Self.decodeConnector)
            var result: [ConnectorID: BatchJobHealth] = [:]
            for source in sources {
                let last = try session.rows(ReadStatement(
                    "SELECT \(BatchRun.pgColumns()) FROM batch_runs WHERE job = ? ORDER BY id DESC LIMIT 1",
                    [.text(source.name)])).first.map(BatchRun.init(pgRow:))
                guard BatchJobHealth.isBatchJob(source, hasRuns: last != nil) else { continue }
                let requested = try session.rows(ReadStatement(
                    "SELECT run_requested_at FROM connectors WHERE id = ?", [.int(source.id)])).first?.decode(Int64?.self) ?? nil
                result[source.id] = BatchJobHealth(connectorId: source.id, job: source.name, lastRun: last,
                                                   runRequestedAt: requested)
            }
            return result
        }
    }
}
