import Foundation
import GRDB

extension Store: AlertLedger, AlertReading {
    static let alertColumns = """
        id, rule, kind, subject, state, summary, value, threshold, fired_at, last_notified_at, notifications, \
        resolved_at, updated_at
        """

    static func decodeAlert(_ row: Row) throws -> AlertRecord {
        guard let kind = AlertKind(rawValue: row[2]), let state = AlertState(rawValue: row[4]) else {
            throw StoreError.invalidInput("alert \(row[0] as Int64) has an unknown kind or state")
        }
        return AlertRecord(id: row[0], rule: row[1], kind: kind, subject: row[3], state: state, summary: row[5],
                           value: row[6], threshold: row[7], firedAt: row[8], lastNotifiedAt: row[9],
                           notifications: row[10], resolvedAt: row[11], updatedAt: row[12])
    }

    public func firingAlerts() throws -> [AlertRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.alertColumns) FROM alerts WHERE state = 'firing' ORDER BY id")
                .map(Self.decodeAlert)
        }
    }

    public func recentAlerts(limit: Int) throws -> [AlertRecord] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.alertColumns) FROM alerts
                ORDER BY state = 'firing' DESC, fired_at DESC, id DESC LIMIT ?
                """, arguments: [max(0, limit)]).map(Self.decodeAlert)
        }
    }

    public func fireAlert(_ finding: AlertFinding, now: Date) throws -> AlertRecord {
        try write { db in
            try db.execute(sql: """
                INSERT INTO alerts(rule, kind, subject, state, summary, value, threshold, fired_at, updated_at)
                VALUES (?, ?, ?, 'firing', ?, ?, ?, ?, ?)
                ON CONFLICT(rule, subject) WHERE state = 'firing' DO NOTHING
                """, arguments: [finding.rule, finding.kind.rawValue, finding.subject, finding.summary, finding.value,
                                 finding.threshold, now.millis, now.millis])
            guard let row = try Row.fetchOne(db, sql: """
                SELECT \(Self.alertColumns) FROM alerts WHERE rule = ? AND subject = ? AND state = 'firing'
                """, arguments: [finding.rule, finding.subject]) else {
                throw StoreError.invalidInput("alert \(finding.rule) for \(finding.subject) was not stored")
            }
            return try Self.decodeAlert(row)
        }
    }

    public func updateAlert(_ id: Int64, summary: String, value: String?, notified: Bool, now: Date) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE alerts SET summary = ?, value = ?, updated_at = ?,
                  last_notified_at = CASE WHEN ? THEN ? ELSE last_notified_at END,
                  notifications = notifications + CASE WHEN ? THEN 1 ELSE 0 END
                WHERE id = ? AND state = 'firing'
                """, arguments: [summary, value, now.millis, notified, now.millis, notified, id])
        }
    }

    public func resolveAlert(_ id: Int64, summary: String, now: Date) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE alerts SET state = 'resolved', summary = ?, resolved_at = ?, updated_at = ?,
                  last_notified_at = ?, notifications = notifications + 1
                WHERE id = ? AND state = 'firing'
                """, arguments: [summary, now.millis, now.millis, now.millis, id])
        }
    }

    public func hourlyCounts(buckets: [Int64]) throws -> [Int64: [ConnectorID: RollupCounts]] {
        guard !buckets.isEmpty else { return [:] }
        return try read { db in
            var result: [Int64: [ConnectorID: RollupCounts]] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT bucket, connector_id, received, delivered, failed, dead, rejected FROM throughput_hour
                WHERE bucket IN (SELECT value FROM json_each(?))
                """, arguments: [JSONRows.ids(buckets)])
            while let row = try rows.next() {
                result[row[0], default: [:]][row[1]] = RollupCounts(
                    received: row[2], delivered: row[3], failed: row[4], dead: row[5], rejected: row[6])
            }
            return result
        }
    }

    public func minuteCounts(sinceMinute: Int64) throws -> [ConnectorID: RollupCounts] {
        try read { db in
            var result: [ConnectorID: RollupCounts] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT connector_id, SUM(received), SUM(delivered), SUM(failed), SUM(dead), SUM(rejected)
                FROM throughput_minute WHERE bucket >= ? GROUP BY connector_id
                """, arguments: [sinceMinute])
            while let row = try rows.next() {
                result[row[0]] = RollupCounts(received: row[1], delivered: row[2], failed: row[3], dead: row[4],
                                              rejected: row[5])
            }
            return result
        }
    }

    public func oldestWaiting() throws -> [ConnectorID: Int64] {
        try read { db in
            // Per sink through the due index (only waiting rows are in it): bounded by the backlog.
            let sinks = try ConnectorID.fetchAll(db, sql: "SELECT id FROM connectors WHERE direction = 'sink'")
            let oldest = try db.cachedStatement(sql: """
                SELECT MIN(created_at) FROM deliveries INDEXED BY deliveries_due
                WHERE connector_id = ? AND state IN ('pending', 'retrying')
                """)
            var result: [ConnectorID: Int64] = [:]
            for sink in sinks {
                if let at = try Int64.fetchOne(oldest, arguments: [sink]) { result[sink] = at }
            }
            return result
        }
    }

    public func batchJobRuns() throws -> [BatchJobRuns] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT j.job, r.started_at, r.status,
                       (SELECT MAX(started_at) FROM batch_runs s WHERE s.job = j.job AND s.status = 'succeeded')
                FROM (SELECT job, MAX(id) AS last FROM batch_runs GROUP BY job) j
                JOIN batch_runs r ON r.id = j.last ORDER BY j.job
                """).map { row in
                BatchJobRuns(job: row[0], lastStartedAt: row[1], lastStatus: (row[2] as String?).flatMap(BatchRunStatus.init),
                             lastSucceededAt: row[3])
            }
        }
    }
}
