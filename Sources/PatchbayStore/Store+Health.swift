import Foundation
import GRDB

// Money at risk, sources' traffic and batch jobs' runs (`HealthReading`). The rules are the model's
// (`MoneyAtRiskTally`, `SourceActivityRule`); this file only reads rows.

extension Store: HealthReading {
    public func moneyAtRisk(connector: ConnectorID?) throws -> MoneyAtRisk {
        let report = try moneyAtRiskRows(connector: connector)
        return connector.map { report.connector($0) } ?? report.total
    }

    public func moneyAtRiskReport() throws -> MoneyAtRiskReport { try moneyAtRiskRows(connector: nil) }

    /// One aggregate over the failing deliveries (through the partial index of failing ones) and their
    /// events: the payload's top-level `currency` and `total` when each is a JSON string, counted per
    /// (connector, error group, currency, total). SQLite parses each payload once per statement.
    private func moneyAtRiskRows(connector: ConnectorID?) throws -> MoneyAtRiskReport {
        try read { db in
            var sql = """
                SELECT d.connector_id, g.id,
                       CASE WHEN json_type(e.payload, '$.currency') = 'text' THEN json_extract(e.payload, '$.currency') END,
                       CASE WHEN json_type(e.payload, '$.total') = 'text' THEN json_extract(e.payload, '$.total') END,
                       count(*)
                FROM deliveries d
                JOIN events e ON e.id = d.event_id
                LEFT JOIN error_groups g ON g.connector_id = d.connector_id AND g.signature = d.error_signature
                WHERE d.state IN ('retrying', 'dead')
                """
            var arguments = StatementArguments()
            if let connector {
                sql += " AND d.connector_id = ?"
                arguments = [connector]
            }
            sql += " GROUP BY 1, 2, 3, 4"
            var tally = MoneyAtRiskTally()
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                tally.add(connector: row[0], group: row[1], currency: row[2], total: row[3], count: row[4])
            }
            return tally.report
        }
    }

    public func sourceHealth(window: TimeInterval, now: Date) throws -> [ConnectorID: SourceHealth] {
        try read { db in
            let sources = try Connector.fetchAll(
                db, sql: "SELECT \(Self.connectorColumns) FROM connectors WHERE direction = 'source' ORDER BY name")
            guard !sources.isEmpty else { return [:] }
            let today = try Self.receivedAndRefused(since: now.startOfUTCDay, db: db)
            let inWindow = try Self.receivedAndRefused(since: now.addingTimeInterval(-window), db: db)
            let minutes = SourceActivityRule.lastHourMinutes(now: now)
            var lastHour: [ConnectorID: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT connector_id, sum(received) FROM throughput_minute WHERE bucket >= ? AND bucket <= ?
                GROUP BY connector_id
                """, arguments: [minutes.lowerBound, minutes.upperBound]) {
                lastHour[row[0]] = row[1]
            }
            let buckets = SourceActivityRule.hourBuckets(now: now)
            var hours: [ConnectorID: [Int64: Int]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT bucket, connector_id, received FROM throughput_hour
                WHERE bucket IN (\(databaseQuestionMarks(count: buckets.count)))
                """, arguments: StatementArguments(buckets)) {
                hours[row[1], default: [:]][row[0]] = row[2]
            }
            var firstHour: [ConnectorID: Int64] = [:]
            var last: [ConnectorID: Int64] = [:]
            for source in sources {
                firstHour[source.id] = try Int64.fetchOne(
                    db, sql: "SELECT min(bucket) FROM throughput_hour WHERE connector_id = ?", arguments: [source.id])
                // The newest event by id: the index on (source_id, id) answers it with one row.
                last[source.id] = try Int64.fetchOne(
                    db, sql: "SELECT received_at FROM events WHERE source_id = ? ORDER BY id DESC LIMIT 1",
                    arguments: [source.id])
            }
            return SourceHealth.assemble(
                sources: sources.map(\.id), today: today, inWindow: inWindow, lastHour: lastHour, hours: hours,
                firstHour: firstHour, lastReceivedAt: last, now: now)
        }
    }

    /// Per connector, events received and webhooks refused since a time: whole hours from the hourly
    /// rollups, the minutes before the first whole hour from the per-minute ones.
    private static func receivedAndRefused(since date: Date, db: Database) throws
        -> [ConnectorID: SourceHealth.Counts]
    {
        let ms = date.millis
        let firstFullHour = (ms + 3_599_999) / 3_600_000
        var sums: [ConnectorID: SourceHealth.Counts] = [:]
        for (sql, arguments) in [
            ("SELECT connector_id, sum(received), sum(rejected) FROM throughput_hour WHERE bucket >= ? GROUP BY connector_id",
             [firstFullHour] as StatementArguments),
            ("""
             SELECT connector_id, sum(received), sum(rejected) FROM throughput_minute WHERE bucket >= ? AND bucket < ?
             GROUP BY connector_id
             """, [ms / 60_000, firstFullHour * 60] as StatementArguments),
        ] {
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                let id: ConnectorID = row[0]
                let current = sums[id] ?? (0, 0)
                sums[id] = (current.received + (row[1] as Int), current.refused + (row[2] as Int))
            }
        }
        return sums
    }

    public func batchJobHealth() throws -> [ConnectorID: BatchJobHealth] {
        try read { db in
            let sources = try Connector.fetchAll(
                db, sql: "SELECT \(Self.connectorColumns) FROM connectors WHERE direction = 'source' ORDER BY name")
            var result: [ConnectorID: BatchJobHealth] = [:]
            for source in sources {
                let last = try BatchRun.fetchOne(
                    db, sql: "SELECT * FROM batch_runs WHERE job = ? ORDER BY id DESC LIMIT 1", arguments: [source.name])
                guard BatchJobHealth.isBatchJob(source, hasRuns: last != nil) else { continue }
                let requested = try Int64.fetchOne(
                    db, sql: "SELECT run_requested_at FROM connectors WHERE id = ?", arguments: [source.id])
                result[source.id] = BatchJobHealth(connectorId: source.id, job: source.name, lastRun: last,
                                                   runRequestedAt: requested)
            }
            return result
        }
    }
}
