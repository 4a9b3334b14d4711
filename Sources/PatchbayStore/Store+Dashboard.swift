import Foundation
import GRDB

extension Store {
    /// Per connector, the throughput series of a window (same buckets as `throughput`), from the rollups.
    public func throughputByConnector(window: TimeInterval, bucket: TimeInterval, now: Date = Date())
        throws -> [ConnectorID: [ThroughputBucket]]
    {
        let span = ThroughputSpan(window: window, bucket: bucket, now: now)
        let empty = span.starts.map { ThroughputBucket(start: $0) }
        var slots: [ConnectorID: Int] = [:]
        var series: [[ThroughputBucket]] = []
        try read { db in
            // The table's rows in primary-key order, added up here: a GROUP BY on (connector, bucket)
            // sorted every row first (a day in minutes is ~17,000 rows: 12 ms of 13).
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT bucket, connector_id, received, delivered, failed, retried, dead
                FROM \(span.table) WHERE bucket >= ? AND bucket < ?
                """), arguments: [span.start / span.unit, span.end / span.unit])
            while let row = try rows.next() {
                let index = span.index(ofBucket: try row.decode(Int64.self, atIndex: 0) / span.rowsPerBucket)
                guard empty.indices.contains(index) else { continue }
                let connector: ConnectorID = try row.decode(atIndex: 1)
                let slot: Int
                if let known = slots[connector] {
                    slot = known
                } else {
                    slot = series.count
                    slots[connector] = slot
                    series.append(empty)
                }
                series[slot][index].received += try row.decode(Int.self, atIndex: 2)
                series[slot][index].delivered += try row.decode(Int.self, atIndex: 3)
                series[slot][index].failed += try row.decode(Int.self, atIndex: 4)
                series[slot][index].retried += try row.decode(Int.self, atIndex: 5)
                series[slot][index].dead += try row.decode(Int.self, atIndex: 6)
            }
        }
        return slots.mapValues { series[$0] }
    }

    /// Events received since `date` (from the hourly and minute rollups).
    public func receivedCount(since date: Date) throws -> Int {
        try rollupSum(.received, since: date)
    }

    /// A count column of the throughput rollups.
    enum RollupColumn: String {
        case received, rejected
    }

    /// The sum of a rollup column since a time: whole hours from the hourly table, the minutes before
    /// the first whole hour from the per-minute one (a day in minutes is ~17,000 rows).
    func rollupSum(_ column: RollupColumn, since date: Date) throws -> Int {
        let ms = date.millis
        let firstFullHour = (ms + 3_599_999) / 3_600_000
        return try read { db in
            let hours = try Int.fetchOne(
                db, sql: "SELECT coalesce(sum(\(column.rawValue)), 0) FROM throughput_hour WHERE bucket >= ?",
                arguments: [firstFullHour]) ?? 0
            let minutes = try Int.fetchOne(db, sql: """
                SELECT coalesce(sum(\(column.rawValue)), 0) FROM throughput_minute WHERE bucket >= ? AND bucket < ?
                """, arguments: [ms / 60_000, firstFullHour * 60]) ?? 0
            return hours + minutes
        }
    }

    /// How many failing deliveries a filter selects: what `R` asks the operator to confirm.
    ///
    /// Without a time range the answer is already kept, in the same transactions as the changes it
    /// counts: `delivery_counts` per connector and state, `error_groups` per group. Counting rows
    /// instead costs as many index entries as there are failures (35 ms for 650,000 at 10 M events).
    public func failingCount(_ filter: FailureFilter) throws -> Int {
        try read { db in
            if filter.since == nil && filter.until == nil {
                return try Self.failingCountFromRollups(filter, db: db)
            }
            return try Self.failingCountByRows(filter, db: db)
        }
    }

    /// The same count, row by row: the time-ranged case, and the reference the rollups are tested against.
    static func failingCountByRows(_ filter: FailureFilter, db: Database) throws -> Int {
        let (whereSQL, arguments) = try failingWhere(filter, db: db)
        return try Int.fetchOne(db, sql: "SELECT count(*) FROM deliveries WHERE \(whereSQL)", arguments: arguments) ?? 0
    }

    private static func failingCountFromRollups(_ filter: FailureFilter, db: Database) throws -> Int {
        let states = filter.effectiveStates
        if states.isEmpty { return 0 }
        if let groupId = filter.errorGroupId {
            guard let row = try Row.fetchOne(
                db, sql: "SELECT connector_id, retrying, dead FROM error_groups WHERE id = ?", arguments: [groupId]) else {
                throw StoreError.unknownErrorGroup(groupId)
            }
            if let connectorId = filter.connectorId, connectorId != row[0] as ConnectorID { return 0 }
            return (states.contains(.retrying) ? row[1] as Int : 0) + (states.contains(.dead) ? row[2] as Int : 0)
        }
        var sql = "SELECT coalesce(sum(n), 0) FROM delivery_counts WHERE state IN (\(databaseQuestionMarks(count: states.count)))"
        var arguments = StatementArguments(states.map(\.rawValue))
        if let connectorId = filter.connectorId {
            sql += " AND connector_id = ?"
            _ = arguments.append(contentsOf: [connectorId])
        }
        return try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0
    }
}

/// Notices commits made by any other connection or process, cheaply.
///
/// Holds one dedicated read-only connection and compares `PRAGMA data_version` (about 0.1 ms a poll):
/// GRDB's observation alone does not see other processes' writes.
public final class ChangeWatcher: @unchecked Sendable {
    private let queue: DatabaseQueue
    private var last: Int?
    private let lock = NSLock()

    public init(path: String) throws {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(1)
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            throw StoreError.wrap(error, path: path)
        }
    }

    /// True when something was committed since the previous call (and on the first call).
    public func poll() throws -> Bool {
        let version = try queue.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        lock.lock()
        defer { lock.unlock() }
        defer { last = version }
        return last != version
    }
}
