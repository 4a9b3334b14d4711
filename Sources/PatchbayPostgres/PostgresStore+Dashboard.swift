import Foundation
import PatchbayModel
import PostgresNIO

// The dashboard's reads of SQLite's Store+Dashboard (and `rejectedCount` of Store+Runtime) on
// PostgreSQL, with the same results for the same rows. Sums of bigint columns are numeric in
// PostgreSQL: each is cast back to bigint.

extension PostgresStore {
    /// Per connector, the throughput series of a window (same buckets as `throughput`), from the rollups.
    public func throughputByConnector(window: TimeInterval, bucket: TimeInterval, now: Date = Date())
        throws -> [ConnectorID: [ThroughputBucket]]
    {
        let span = ThroughputSpan(window: window, bucket: bucket, now: now)
        let empty = span.starts.map { ThroughputBucket(start: $0) }
        var series: [ConnectorID: [ThroughputBucket]] = [:]
        try read { session in
            let rows = try session.rows(ReadStatement("""
                SELECT bucket, connector_id, received, delivered, failed, retried, dead
                FROM \(span.table) WHERE bucket >= ? AND bucket < ?
                """, [.int(span.start / span.unit), .int(span.end / span.unit)]))
            for row in rows {
                let (number, connector, received, delivered, failed, retried, dead) =
                    try row.decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
                let index = span.index(ofBucket: number / span.rowsPerBucket)
                guard empty.indices.contains(index) else { continue }
                if series[connector] == nil { series[connector] = empty }
                series[connector]![index].received += Int(received)
                series[connector]![index].delivered += Int(delivered)
                series[connector]![index].failed += Int(failed)
                series[connector]![index].retried += Int(retried)
                series[connector]![index].dead += Int(dead)
            }
        }
        return series
    }

    /// Events received since `date` (from the hourly and minute rollups).
    public func receivedCount(since date: Date) throws -> Int {
        try rollupSum("received", since: date)
    }

    /// Requests refused since `date` (from the hourly and minute rollups).
    public func rejectedCount(since: Date) throws -> Int {
        try rollupSum("rejected", since: since)
    }

    /// The sum of a rollup column since a time: whole hours from the hourly table, the minutes before
    /// the first whole hour from the per-minute one.
    private func rollupSum(_ column: String, since date: Date) throws -> Int {
        let ms = date.millis
        let firstFullHour = (ms + 3_599_999) / 3_600_000
        return try read { session in
            let row = try session.rows(ReadStatement("""
                SELECT (SELECT coalesce(sum(\(column)), 0)::bigint FROM throughput_hour WHERE bucket >= ?),
                       (SELECT coalesce(sum(\(column)), 0)::bigint FROM throughput_minute WHERE bucket >= ? AND bucket < ?)
                """, [.int(firstFullHour), .int(ms / 60_000), .int(firstFullHour * 60)])).first
            guard let row else { return 0 }
            let (hours, minutes) = try row.decode((Int64, Int64).self)
            return Int(hours + minutes)
        }
    }

    /// How many failing deliveries a filter selects: what `R` asks the operator to confirm.
    ///
    /// Without a time range, from the counters kept with the changes (`delivery_counts`,
    /// `error_groups`); with one, counted row by row.
    public func failingCount(_ filter: FailureFilter) throws -> Int {
        try read { session in
            if filter.since == nil && filter.until == nil {
                return try Self.failingCountFromRollups(filter, session: session)
            }
            return try Self.failingCountByRows(filter, session: session)
        }
    }

    /// The same count, row by row: the time-ranged case, and the reference the counters are tested against.
    static func failingCountByRows(_ filter: FailureFilter, session: Session) throws -> Int {
        let clause = try failingWhere(filter, session: session)
        let row = try session.rows(ReadStatement("SELECT count(*) FROM deliveries WHERE \(clause.sql)", clause.values)).first
        return Int(try row?.decode(Int64.self) ?? 0)
    }

    private static func failingCountFromRollups(_ filter: FailureFilter, session: Session) throws -> Int {
        let states = filter.effectiveStates
        if states.isEmpty { return 0 }
        if let groupId = filter.errorGroupId {
            guard let row = try session.rows(
                "SELECT connector_id, retrying, dead FROM error_groups WHERE id = \(groupId)").first else {
                throw StoreError.unknownErrorGroup(groupId)
            }
            let (connector, retrying, dead) = try row.decode((Int64, Int64, Int64).self)
            if let connectorId = filter.connectorId, connectorId != connector { return 0 }
            return (states.contains(.retrying) ? Int(retrying) : 0) + (states.contains(.dead) ? Int(dead) : 0)
        }
        var binds = PostgresBindings(capacity: 2)
        binds.append(states.map(\.rawValue))
        var sql = "SELECT coalesce(sum(n), 0)::bigint FROM delivery_counts WHERE state = ANY($1)"
        if let connectorId = filter.connectorId {
            sql += " AND connector_id = $2"
            binds.append(connectorId)
        }
        let row = try session.rows(PostgresQuery(unsafeSQL: sql, binds: binds)).first
        return Int(try row?.decode(Int64.self) ?? 0)
    }
}
