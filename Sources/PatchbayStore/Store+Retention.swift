import Foundation
import GRDB

extension Store {
    /// Deletes events received before `cutoff` whose deliveries are all finished (delivered or
    /// discarded), with their deliveries, attempts and transitions. Throughput rollups stay.
    ///
    /// Works in batches of `batchSize` events, one short transaction each, so the hub and the
    /// dashboard are never locked out for long. Events with a retrying, dead, pending or in-flight
    /// delivery are kept: they still need someone.
    /// - Returns: how many events were deleted.
    @discardableResult
    public func prune(receivedBefore cutoff: Date, batchSize: Int = Store.eventPruneBatch) throws -> Int {
        var total = 0
        // Keyset on (received_at, id) through the received_at index: each batch reads only old events.
        var after: (receivedAt: Int64, id: EventID) = (Int64.min, 0)
        while true {
            let (deleted, last) = try write { db -> (Int, (Int64, EventID)?) in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT received_at, id FROM events INDEXED BY events_by_received
                    WHERE received_at < ? AND (received_at, id) > (?, ?)
                    ORDER BY received_at, id LIMIT ?
                    """, arguments: [cutoff.millis, after.receivedAt, after.id, batchSize])
                guard let lastRow = rows.last else { return (0, nil) }
                let ids: [EventID] = rows.map { $0[1] }
                var deleted = 0
                let unfinished = try db.cachedStatement(sql: """
                    SELECT 1 FROM deliveries WHERE event_id = ? AND state NOT IN ('delivered', 'discarded') LIMIT 1
                    """)
                for id in ids where try Row.fetchOne(unfinished, arguments: [id]) == nil {
                    try db.cachedStatement(sql: """
                        DELETE FROM transitions WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ?)
                        """).execute(arguments: [id])
                    try db.cachedStatement(sql: """
                        DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ?)
                        """).execute(arguments: [id])
                    try db.cachedStatement(sql: "DELETE FROM deliveries WHERE event_id = ?").execute(arguments: [id])
                    try db.cachedStatement(sql: "DELETE FROM events WHERE id = ?").execute(arguments: [id])
                    deleted += 1
                }
                return (deleted, (lastRow[0], lastRow[1]))
            }
            total += deleted
            guard let last else { return total }
            after = (last.0, last.1)
        }
    }
}

extension Store {
    /// Deletes per-minute rollup rows older than `cutoff`. The dashboard reads minute buckets for
    /// windows up to a day; the hourly rollup keeps the long history. Batched like `prune`.
    @discardableResult
    public func pruneMinuteRollups(before cutoff: Date, batchSize: Int = Store.rowPruneBatch) throws -> Int {
        let bucket = cutoff.millis / 60_000
        var total = 0
        while true {
            let deleted = try write { db -> Int in
                try db.execute(sql: """
                    DELETE FROM throughput_minute WHERE (bucket, connector_id) IN (
                      SELECT bucket, connector_id FROM throughput_minute WHERE bucket < ? ORDER BY bucket LIMIT ?)
                    """, arguments: [bucket, batchSize])
                return db.changesCount
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }
}
