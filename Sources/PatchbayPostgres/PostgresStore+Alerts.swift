import Foundation
import PatchbayModel
import PostgresNIO

extension PostgresStore: AlertLedger, AlertReading, CircuitBreaking, BatchRunRequests {
    static let alertColumns = """
        id, rule, kind, subject, state, summary, value, threshold, fired_at, last_notified_at, notifications, \
        resolved_at, updated_at
        """

    static func decodeAlert(_ row: PostgresRow) throws -> AlertRecord {
        let (id, rule, kind, subject, state, summary, value, threshold, firedAt, notifiedAt, notifications, resolvedAt,
             updatedAt) = try row.decode((Int64, String, String, String, String, String, String?, String?, Int64, Int64?,
                                          Int, Int64?, Int64).self)
        guard let kind = AlertKind(rawValue: kind), let state = AlertState(rawValue: state) else {
            throw StoreError.invalidInput("alert \(id) has an unknown kind or state")
        }
        return AlertRecord(id: id, rule: rule, kind: kind, subject: subject, state: state, summary: summary, value: value,
                           threshold: threshold, firedAt: firedAt, lastNotifiedAt: notifiedAt,
                           notifications: notifications, resolvedAt: resolvedAt, updatedAt: updatedAt)
    }

    // MARK: Alerts

    public func firingAlerts() throws -> [AlertRecord] {
        try read { session in
            try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(Self.alertColumns) FROM alerts WHERE state = 'firing' ORDER BY id
                """)).map(Self.decodeAlert)
        }
    }

    public func recentAlerts(limit: Int) throws -> [AlertRecord] {
        try read { session in
            var binds = PostgresBindings(capacity: 1)
            binds.append(Int64(max(0, limit)))
            return try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(Self.alertColumns) FROM alerts
                ORDER BY state = 'firing' DESC, fired_at DESC, id DESC LIMIT $1
                """, binds: binds)).map(Self.decodeAlert)
        }
    }

    public func fireAlert(_ finding: AlertFinding, now: Date) throws -> AlertRecord {
        try write { session in
            try session.run("""
                INSERT INTO alerts(rule, kind, subject, state, summary, value, threshold, fired_at, updated_at)
                VALUES (\(finding.rule), \(finding.kind.rawValue), \(finding.subject), 'firing', \(finding.summary),
                        \(finding.value), \(finding.threshold), \(now.millis), \(now.millis))
                ON CONFLICT (rule, subject) WHERE state = 'firing' DO NOTHING
                """)
            var binds = PostgresBindings(capacity: 2)
            binds.append(finding.rule)
            binds.append(finding.subject)
            guard let row = try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(Self.alertColumns) FROM alerts WHERE rule = $1 AND subject = $2 AND state = 'firing'
                """, binds: binds)).first else {
                throw StoreError.invalidInput("alert \(finding.rule) for \(finding.subject) was not stored")
            }
            return try Self.decodeAlert(row)
        }
    }

    public func updateAlert(_ id: Int64, summary: String, value: String?, notified: Bool, now: Date) throws {
        try write { session in
            try session.run("""
                UPDATE alerts SET summary = \(summary), value = \(value), updated_at = \(now.millis),
                  last_notified_at = CASE WHEN \(notified) THEN \(now.millis) ELSE last_notified_at END,
                  notifications = notifications + CASE WHEN \(notified) THEN 1 ELSE 0 END
                WHERE id = \(id) AND state = 'firing'
                """)
        }
    }

    public func resolveAlert(_ id: Int64, summary: String, now: Date) throws {
        try write { session in
            try session.run("""
                UPDATE alerts SET state = 'resolved', summary = \(summary), resolved_at = \(now.millis),
                  updated_at = \(now.millis), last_notified_at = \(now.millis), notifications = notifications + 1
                WHERE id = \(id) AND state = 'firing'
                """)
        }
    }

    // MARK: Alert inputs

    public func hourlyCounts(buckets: [Int64]) throws -> [Int64: [ConnectorID: RollupCounts]] {
        guard !buckets.isEmpty else { return [:] }
        return try read { session in
            var result: [Int64: [ConnectorID: RollupCounts]] = [:]
            for row in try session.rows("""
                SELECT bucket, connector_id, received, delivered, failed, dead, rejected FROM throughput_hour
                WHERE bucket = ANY(\(buckets))
                """) {
                let (bucket, connector, received, delivered, failed, dead, rejected) =
                    try row.decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
                result[bucket, default: [:]][connector] = RollupCounts(
                    received: Int(received), delivered: Int(delivered), failed: Int(failed), dead: Int(dead),
                    rejected: Int(rejected))
            }
            return result
        }
    }

    public func minuteCounts(sinceMinute: Int64) throws -> [ConnectorID: RollupCounts] {
        try read { session in
            var result: [ConnectorID: RollupCounts] = [:]
            for row in try session.rows("""
                SELECT connector_id, SUM(received)::bigint, SUM(delivered)::bigint, SUM(failed)::bigint,
                       SUM(dead)::bigint, SUM(rejected)::bigint
                FROM throughput_minute WHERE bucket >= \(sinceMinute) GROUP BY connector_id
                """) {
                let (connector, received, delivered, failed, dead, rejected) =
                    try row.decode((Int64, Int64, Int64, Int64, Int64, Int64).self)
                result[connector] = RollupCounts(received: Int(received), delivered: Int(delivered), failed: Int(failed),
                                                 dead: Int(dead), rejected: Int(rejected))
            }
            return result
        }
    }

    public func oldestWaiting() throws -> [ConnectorID: Int64] {
        try read { session in
            var result: [ConnectorID: Int64] = [:]
            let sinks = try session.rows("SELECT id FROM connectors WHERE direction = 'sink'").map { try $0.decode(Int64.self) }
            for sink in sinks {
                if let at = try session.rows("""
                    SELECT MIN(created_at) FROM deliveries WHERE connector_id = \(sink) AND state IN ('pending', 'retrying')
                    """).first?.decode(Int64?.self) {
                    result[sink] = at
                }
            }
            return result
        }
    }

    public func batchJobRuns() throws -> [BatchJobRuns] {
        try read { session in
            try session.rows("""
                SELECT j.job, r.started_at, r.status,
                       (SELECT MAX(started_at) FROM batch_runs s WHERE s.job = j.job AND s.status = 'succeeded')
                FROM (SELECT job, MAX(id) AS last FROM batch_runs GROUP BY job) j
                JOIN batch_runs r ON r.id = j.last ORDER BY j.job
                """).map { row in
                let (job, started, status, succeeded) = try row.decode((String, Int64?, String?, Int64?).self)
                return BatchJobRuns(job: job, lastStartedAt: started, lastStatus: status.flatMap(BatchRunStatus.init),
                                    lastSucceededAt: succeeded)
            }
        }
    }

    // MARK: Breaker

    public func tripBreaker(connector: ConnectorID, reason: String, now: Date) throws -> Bool {
        try write { session in
            let tripped = try session.rows("""
                UPDATE connectors SET paused = true, paused_by = 'breaker', paused_reason = \(reason)
                WHERE id = \(connector) AND NOT paused RETURNING id
                """).first != nil
            if tripped { try PostgresChanges.notifyWrite(session) }
            return tripped
        }
    }

    public func closeBreaker(connector: ConnectorID, now: Date) throws -> Bool {
        try write { session in
            let closed = try session.rows("""
                UPDATE connectors SET paused = false, paused_by = NULL, paused_reason = NULL
                WHERE id = \(connector) AND paused AND paused_by = 'breaker' RETURNING id
                """).first != nil
            // Resumed, its queue is due again: every node's worker for it wakes.
            if closed { try PostgresChanges.notify(session, due: [connector]) }
            return closed
        }
    }

    // MARK: Run now

    public func requestBatchRun(job: String, now: Date) throws {
        try write { session in
            guard let pattern = try session.rows("SELECT pattern FROM connectors WHERE name = \(job) FOR UPDATE")
                .first?.decode(String.self) else {
                throw StoreError.unknownConnector(job)
            }
            guard pattern == IntegrationPattern.batch.rawValue else {
                throw StoreError.invalidInput("'\(job)' is not a batch job; only batch jobs run on request")
            }
            try session.run("UPDATE connectors SET run_requested_at = \(now.millis) WHERE name = \(job)")
            try PostgresChanges.notifyWrite(session)
        }
    }

    public func batchRunRequest(job: String) throws -> Int64? {
        try read { session in
            try session.rows("SELECT run_requested_at FROM connectors WHERE name = \(job)").first?.decode(Int64?.self)
        }
    }

    public func clearBatchRunRequest(job: String, upTo requestedAt: Int64) throws {
        try write { session in
            try session.run("""
                UPDATE connectors SET run_requested_at = NULL WHERE name = \(job) AND run_requested_at <= \(requestedAt)
                """)
        }
    }
}
