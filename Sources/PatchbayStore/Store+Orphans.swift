import Foundation
import GRDB

/// A connector in the database that a hub configuration does not name, with the deliveries it holds.
///
/// No worker sends an orphaned connector's deliveries: until an operator moves them to another
/// connector (`patchbay retry --to`) or discards them, they wait forever.
public struct OrphanedConnector: Sendable, Equatable {
    public var name: String
    public var direction: ConnectorDirection
    public var pending: Int
    public var inFlight: Int
    public var retrying: Int
    public var dead: Int

    public init(name: String, direction: ConnectorDirection, pending: Int = 0, inFlight: Int = 0, retrying: Int = 0,
                dead: Int = 0) {
        self.name = name
        self.direction = direction
        self.pending = pending
        self.inFlight = inFlight
        self.retrying = retrying
        self.dead = dead
    }

    /// Deliveries still waiting for a worker: pending, in flight and retrying.
    public var unfinished: Int { pending + inFlight + retrying }

    /// `3 pending, 9 retrying; 4 dead`: the counts that are not zero.
    public var countsText: String {
        let waiting = [(pending, "pending"), (inFlight, "in flight"), (retrying, "retrying")]
            .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        return dead > 0 ? "\(waiting); \(dead) dead" : waiting
    }

    /// The warning `check` prints and `run` logs, with the two commands that resolve it.
    ///
    /// - Parameter database: the database path to name in the commands (`--db`), if not the default.
    public func warning(database: String? = nil) -> String {
        let db = database.map { " --db \(shellQuoted($0))" } ?? ""
        let name = shellQuoted(self.name)
        return "connector '\(self.name)' is not in this configuration but has \(unfinished) unfinished "
            + "deliver\(unfinished == 1 ? "y" : "ies") (\(countsText)); they will not be sent: "
            + "retry them to another connector (patchbay retry --all --connector \(name) --to NEW\(db)) "
            + "or discard them (patchbay discard --all --connector \(name)\(db))"
    }

    private func shellQuoted(_ text: String) -> String {
        text.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) } ? text : "'\(text.replacingOccurrences(of: "'", with: "'\\''"))'"
    }
}

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
        var orphans: [OrphanedConnector] = []
        for row in rows {
            let name: String = row[0]
            if orphans.last?.name != name { orphans.append(OrphanedConnector(name: name, direction: row[1])) }
            let n: Int = row[3]
            switch DeliveryState(rawValue: row[2]) {
            case .pending: orphans[orphans.count - 1].pending = n
            case .inFlight: orphans[orphans.count - 1].inFlight = n
            case .retrying: orphans[orphans.count - 1].retrying = n
            case .dead: orphans[orphans.count - 1].dead = n
            default: break
            }
        }
        return orphans.filter { $0.unfinished > 0 }
    }

    private static func jsonNames(_ names: Set<String>) throws -> String {
        String(decoding: try JSONEncoder().encode(names.sorted()), as: UTF8.self)
    }
}
