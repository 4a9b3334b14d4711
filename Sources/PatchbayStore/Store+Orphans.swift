import Foundation
import GRDB

extension Store {
    /// Connectors not named in `configured` that still hold unfinished deliveries (pending, in
    /// flight or retrying), by name. Reads the `delivery_counts` rollup: O(connectors).
    ///
    /// Works on a read-only store: `patchbay check` asks this before any hub runs.
    public func orphanedConnectors(configured: Set<String>) throws -> [OrphanedConnector] {
        try read { db in try Self.orphanedConnectors(configured: configured, db: db) }
    }

    /// Records which connectors the running configuration names: the others are marked orphaned
    /// (keeping the time they were first marked), those it names lose the mark. `patchbay run` calls
    /// this at start, after saving the configuration's connectors.
    ///
    /// - Returns: the orphaned connectors that still hold unfinished deliveries, by name.
    @discardableResult
    public func markOrphanedConnectors(configured: Set<String>, now: Date = Date()) throws -> [OrphanedConnector] {
        try write { db in
            let names = try Self.jsonNames(configured)
            try db.execute(sql: """
                UPDATE connectors SET orphaned_at = NULL
                WHERE orphaned_at IS NOT NULL AND name IN (SELECT value FROM json_each(?))
                """, arguments: [names])
            try db.execute(sql: """
                UPDATE connectors SET orphaned_at = ?
                WHERE orphaned_at IS NULL AND name NOT IN (SELECT value FROM json_each(?))
                """, arguments: [now.millis, names])
            return try Self.orphanedConnectors(configured: configured, db: db)
        }
    }

    static func orphanedConnectors(configured: Set<String>, db: Database) throws -> [OrphanedConnector] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT c.name, c.direction, dc.state, dc.n
            FROM connectors c JOIN delivery_counts dc ON dc.connector_id = c.id
            WHERE dc.n <> 0 AND dc.state IN ('pending', 'in_flight', 'retrying', 'dead')
              AND c.name NOT IN (SELECT value FROM json_each(?))
            ORDER BY c.name
            """, arguments: [try jsonNames(configured)])
        var orphans = OrphanedConnector.Tally()
        for row in rows {
            orphans.add(name: row[0], direction: row[1], state: row[2], count: row[3])
        }
        return orphans.unfinished
    }

    private static func jsonNames(_ names: Set<String>) throws -> String {
        String(decoding: try JSONEncoder().encode(names.sorted()), as: UTF8.self)
    }
}
