import Foundation
import GRDB

extension Store {
    /// The columns `Connector` reads. Health reads `orphaned` for a connector the hub's
    /// configuration no longer names (`orphaned_at`, migration v5), whatever the runtime last stored.
    static let connectorColumns = """
        id, name, module, pattern, system, direction, paused, paused_reason, \
        CASE WHEN orphaned_at IS NULL THEN health ELSE 'orphaned' END AS health, \
        max_attempts, last_success_at, last_error_at, last_error, created_at, paused_by
        """

    /// Creates the connector, or updates its module, pattern, system, direction and attempt limit.
    ///
    /// Pause state and health are the runtime's and the operator's, so a re-declared connector keeps them.
    @discardableResult
    public func saveConnector(_ spec: ConnectorSpec, now: Date = Date()) throws -> Connector {
        try write { db in try Self.saveConnector(spec, db: db, now: now) }
    }

    static func saveConnector(_ spec: ConnectorSpec, db: Database, now: Date) throws -> Connector {
        let name = spec.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 100 else {
            throw StoreError.invalidInput("connector name must be 1 to 100 characters, got '\(spec.name)'")
        }
        try db.execute(sql: """
            INSERT INTO connectors(name, module, pattern, system, direction, max_attempts, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(name) DO UPDATE SET module = excluded.module, pattern = excluded.pattern,
              system = excluded.system, direction = excluded.direction, max_attempts = excluded.max_attempts
            """, arguments: [name, spec.module, spec.pattern, spec.system, spec.direction, spec.maxAttempts, now.millis])
        return try Connector.fetchOne(db, sql: "SELECT \(Self.connectorColumns) FROM connectors WHERE name = ?", arguments: [name])!
    }

    public func connectors() throws -> [Connector] {
        try read { db in try Connector.fetchAll(db, sql: "SELECT \(Self.connectorColumns) FROM connectors ORDER BY name") }
    }

    public func connector(named name: String) throws -> Connector? {
        try read { db in try Connector.fetchOne(db, sql: "SELECT \(Self.connectorColumns) FROM connectors WHERE name = ?", arguments: [name]) }
    }

    /// Pauses or resumes a connector: deliveries to a paused connector are not claimed.
    ///
    /// - Returns: false when the connector already was in that state.
    @discardableResult
    public func setPaused(_ name: String, paused: Bool, reason: String? = nil) throws -> Bool {
        try write { db in
            guard let connector = try Connector.fetchOne(
                db, sql: "SELECT \(Self.connectorColumns) FROM connectors WHERE name = ?", arguments: [name]) else {
                throw StoreError.unknownConnector(name)
            }
            // An operator's pause takes over the breaker's: no probe resumes it then.
            if connector.paused == paused, !(paused && connector.pausedBy == .breaker) { return false }
            try db.execute(
                sql: "UPDATE connectors SET paused = ?, paused_reason = ?, paused_by = ? WHERE id = ?",
                arguments: [paused, paused ? (reason ?? "paused by operator") : nil,
                            paused ? PauseCause.operator.rawValue : nil, connector.id])
            return true
        }
    }

    /// Per connector: its record and how many deliveries it has in each state.
    public func connectorStatuses() throws -> [ConnectorStatus] {
        try read { db in
            let connectors = try Connector.fetchAll(db, sql: "SELECT \(Self.connectorColumns) FROM connectors ORDER BY name")
            var counts: [ConnectorID: [DeliveryState: Int]] = [:]
            let rows = try Row.fetchAll(db, sql: "SELECT connector_id, state, n FROM delivery_counts WHERE n <> 0")
            for row in rows {
                guard let state = DeliveryState(rawValue: row["state"]) else { continue }
                counts[row["connector_id"], default: [:]][state] = row["n"]
            }
            return connectors.map { ConnectorStatus(connector: $0, counts: counts[$0.id] ?? [:]) }
        }
    }
}
