import Foundation
import PatchbayModel
import PostgresNIO

// SQLite's Store+Retention, pruneRejections and the rejections of Store+Runtime, and
// pruneSignedBodies of Store+Ingest, on PostgreSQL.

extension PostgresStore {
    // MARK: Refused requests

    /// Records refused requests (one transaction for the batch).
    ///
    /// A refusal kept in detail is a `rejections` row, which its insert trigger counts; one only
    /// counted (`keepDetail` false, over the detail rate) bumps the same counters without the row.
    /// A refusal with no connector is always kept: there is no counter to bump.
    public func recordRejections(_ rejections: [NewRejection]) throws {
        guard !rejections.isEmpty else { return }
        var kept: [NewRejection] = []
        var counted: [RollupDelta.Granularity: [BucketKey: Int64]] = [:]
        for r in rejections {
            if !r.keepDetail, let connector = r.connectorId {
                let at = r.receivedAt.millis
                for granularity in RollupDelta.Granularity.allCases {
                    let key = BucketKey(bucket: at / Self.bucketWidth(granularity), connector: connector)
                    counted[granularity, default: [:]][key, default: 0] += 1
                }
                continue
            }
            kept.append(r)
        }
        try write { session in
            // Counted only: the counter rows in key order (the order every writer locks them in).
            for granularity in RollupDelta.Granularity.allCases {
                guard let rows = counted[granularity], !rows.isEmpty else { continue }
                let sorted = rows.sorted { ($0.key.bucket, $0.key.connector) < ($1.key.bucket, $1.key.connector) }
                var binds = PostgresBindings(capacity: 3)
                binds.append(sorted.map(\.key.bucket))
                binds.append(sorted.map(\.key.connector))
                binds.append(sorted.map(\.value))
                try session.run(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(granularity.table) AS t(bucket, connector_id, rejected)
                    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])
                    ON CONFLICT (bucket, connector_id) DO UPDATE SET rejected = t.rejected + excluded.rejected
                    """, binds: binds))
            }
            // Kept: multi-row inserts in the batch's order (ids grow as on SQLite).
            for start in stride(from: 0, to: kept.count, by: Self.rejectionsPerStatement) {
                let chunk = kept[start..<min(start + Self.rejectionsPerStatement, kept.count)]
                var binds = PostgresBindings(capacity: chunk.count * 8)
                var tuples: [String] = []
                tuples.reserveCapacity(chunk.count)
                for r in chunk {
                    let first = binds.count + 1
                    tuples.append("(" + (first..<first + 8).map { "$\($0)" }.joined(separator: ", ") + ")")
                    binds.append(r.connectorId)
                    binds.append(r.receivedAt.millis)
                    binds.append(Int64(r.status))
                    binds.append(String(r.reason.prefix(1000)))
                    binds.append(r.remote.map { String($0.prefix(100)) })
                    binds.append(String(r.path.prefix(500)))
                    binds.append(Int64(r.bodyBytes))
                    binds.append(r.bodyExcerpt.map { String($0.prefix(500)) })
                }
                try session.run(PostgresQuery(unsafeSQL: """
                    INSERT INTO rejections(connector_id, received_at, status, reason, remote, path, body_bytes, body_excerpt)
                    VALUES \(tuples.joined(separator: ", "))
                    """, binds: binds))
            }
        }
    }

    /// Rows per INSERT of `recordRejections` (8 parameters each, well under PostgreSQL's 65,535).
    private static let rejectionsPerStatement = 1000

    private struct BucketKey: Hashable {
        var bucket: Int64
        var connector: ConnectorID
    }

    private static func bucketWidth(_ granularity: RollupDelta.Granularity) -> Int64 {
        switch granularity {
        case .minute: 60_000
        case .quarter: 900_000
        case .hour: 3_600_000
        }
    }

    /// The most recent refused requests, newest first.
    public func rejections(limit: Int) throws -> [RejectedRequest] {
        try read { session in
            var binds = PostgresBindings(capacity: 1)
            binds.append(Int64(max(0, limit)))
            return try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(RejectedRequest.pgColumns()) FROM rejections ORDER BY received_at DESC, id DESC LIMIT $1
                """, binds: binds)).map(RejectedRequest.init(pgRow:))
        }
    }

    /// Deletes refused requests received before `cutoff`, in batches; their counts stay in the rollups.
    @discardableResult
    public func pruneRejections(before cutoff: Date, batchSize: Int = PostgresStore.rowPruneBatch) throws -> Int {
        let size = Int64(max(1, batchSize))
        var total = 0
        while true {
            let deleted = try write { session in
                try session.run("""
                    DELETE FROM rejections WHERE id IN (
                      SELECT id FROM rejections WHERE received_at < \(cutoff.millis) ORDER BY received_at LIMIT \(size))
                    """)
            }
            total += deleted
            if deleted < size { return total }
        }
    }

    // MARK: Events

    /// Deletes events received before `cutoff` whose deliveries are all finished (delivered or
    /// discarded), with their deliveries, attempts and transitions. Throughput rollups stay.
    ///
    /// Works in batches of `batchSize` events, one short transaction each, keyset on
    /// (received_at, id) through `events_by_received`. Events with a retrying, dead, pending or
    /// in-flight delivery are kept: they still need someone.
    /// - Returns: how many events were deleted.
    @discardableResult
    public func prune(receivedBefore cutoff: Date, batchSize: Int = PostgresStore.eventPruneBatch) throws -> Int {
        var total = 0
        var after: (receivedAt: Int64, id: EventID) = (Int64.min, 0)
        let size = Int64(max(0, batchSize))
        while true {
            let (deleted, last) = try write { session -> (Int, (Int64, EventID)?) in
                let rows = try session.rows("""
                    SELECT received_at, id FROM events
                    WHERE received_at < \(cutoff.millis) AND (received_at, id) > (\(after.receivedAt), \(after.id))
                    ORDER BY received_at, id LIMIT \(size)
                    """).map { try $0.decode((Int64, Int64).self) }
                guard let lastRow = rows.last else { return (0, nil) }
                let ids = rows.map(\.1)
                // A finished delivery an operator requeues now (retry, retarget) must keep its event:
                // hold the finished ones, then look at every delivery again as it now stands.
                try session.run("""
                    SELECT 1 FROM deliveries WHERE event_id = ANY(\(ids)) AND state IN ('delivered', 'discarded')
                    ORDER BY id FOR UPDATE
                    """)
                let doomed = try session.rows("""
                    SELECT e.id FROM events e
                    WHERE e.id = ANY(\(ids)) AND NOT EXISTS (
                      SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.state NOT IN ('delivered', 'discarded'))
                    ORDER BY e.id
                    """).map { try $0.decode(Int64.self) }
                guard !doomed.isEmpty else { return (0, lastRow) }
                try session.run("""
                    DELETE FROM transitions WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ANY(\(doomed)))
                    """)
                try session.run("""
                    DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ANY(\(doomed)))
                    """)
                try session.run("DELETE FROM deliveries WHERE event_id = ANY(\(doomed))")
                let deleted = try session.run("DELETE FROM events WHERE id = ANY(\(doomed))")
                return (deleted, lastRow)
            }
            total += deleted
            guard let last else { return total }
            after = (last.0, last.1)
        }
    }

    // MARK: Rollups, signed bodies

    /// Deletes per-minute rollup rows older than `cutoff`. The hourly rollup keeps the long history.
    /// Batched like `prune`.
    @discardableResult
    public func pruneMinuteRollups(before cutoff: Date, batchSize: Int = PostgresStore.rowPruneBatch) throws -> Int {
        let bucket = cutoff.millis / 60_000
        let size = Int64(max(1, batchSize))
        var total = 0
        while true {
            let deleted = try write { session in
                try session.run("""
                    DELETE FROM throughput_minute WHERE (bucket, connector_id) IN (
                      SELECT bucket, connector_id FROM throughput_minute WHERE bucket < \(bucket) ORDER BY bucket
                      LIMIT \(size))
                    """)
            }
            total += deleted
            if deleted < size { return total }
        }
    }

    /// Forgets signed bodies received before `cutoff` (the longest replay window ago).
    @discardableResult
    public func pruneSignedBodies(before cutoff: Date) throws -> Int {
        try write { session in
            try session.run("DELETE FROM signed_bodies WHERE received_at < \(cutoff.millis)")
        }
    }
}

extension PostgresStore: Retention {}
