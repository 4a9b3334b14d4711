import Foundation
import PatchbayModel
import PostgresNIO

extension PostgresStore {
    /// The columns `decodeConnector` reads, in its order. Health reads `orphaned` for a connector the
    /// hub's configuration no longer names, whatever the runtime last stored (as on SQLite).
    static let connectorColumns = """
        id, name, module, pattern, system, direction, paused, paused_reason, \
        CASE WHEN orphaned_at IS NULL THEN health ELSE 'orphaned' END AS health, \
        max_attempts, last_success_at, last_error_at, last_error, created_at, paused_by
        """

    static func decodeConnector(_ row: PostgresRow) throws -> Connector {
        let (id, name, module, pattern, system, direction, paused, pausedReason, health, maxAttempts, lastSuccessAt,
             lastErrorAt, lastError, createdAt, pausedBy) =
            try row.decode((Int64, String, String, String, String, String, Bool, String?, String, Int?, Int64?, Int64?,
                            String?, Int64, String?).self)
        guard let pattern = IntegrationPattern(rawValue: pattern), let direction = ConnectorDirection(rawValue: direction),
              let health = ConnectorHealth(rawValue: health) else {
            throw StoreError.invalidInput("connector '\(name)' has an unknown pattern, direction or health")
        }
        return Connector(id: id, name: name, module: module, pattern: pattern, system: system, direction: direction,
                         paused: paused, pausedReason: pausedReason, health: health, maxAttempts: maxAttempts,
                         lastSuccessAt: lastSuccessAt, lastErrorAt: lastErrorAt, lastError: lastError, createdAt: createdAt,
                         pausedBy: pausedBy.flatMap(PauseCause.init(rawValue:)))
    }

    static func connector(where condition: String, _ value: String, session: Session) throws -> Connector? {
        var binds = PostgresBindings()
        binds.append(value)
        return try session.rows(PostgresQuery(unsafeSQL: "SELECT \(connectorColumns) FROM connectors WHERE \(condition) = $1",
                                              binds: binds)).first.map(decodeConnector)
    }

    /// Creates the connector, or updates its module, pattern, system, direction and attempt limit.
    /// Pause state and health are the runtime's and the operator's, so a re-declared connector keeps them.
    @discardableResult
    public func saveConnector(_ spec: ConnectorSpec, now: Date) throws -> Connector {
        let name = spec.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 100 else {
            throw StoreError.invalidInput("connector name must be 1 to 100 characters, got '\(spec.name)'")
        }
        return try write { session in
            try session.run("""
                INSERT INTO connectors(name, module, pattern, system, direction, max_attempts, created_at)
                VALUES (\(name), \(spec.module), \(spec.pattern.rawValue), \(spec.system), \(spec.direction.rawValue),
                        \(spec.maxAttempts), \(now.millis))
                ON CONFLICT (name) DO UPDATE SET module = excluded.module, pattern = excluded.pattern,
                  system = excluded.system, direction = excluded.direction, max_attempts = excluded.max_attempts
                """)
            return try Self.connector(where: "name", name, session: session)!
        }
    }

    public func connectors() throws -> [Connector] {
        try read { session in
            try session.rows(PostgresQuery(unsafeSQL: "SELECT \(Self.connectorColumns) FROM connectors ORDER BY name COLLATE \"C\""))
                .map(Self.decodeConnector)
        }
    }

    public func connector(named name: String) throws -> Connector? {
        try read { session in try Self.connector(where: "name", name, session: session) }
    }

    /// Per connector: its record and how many deliveries it has in each state.
    public func connectorStatuses() throws -> [ConnectorStatus] {
        try read { session in
            let connectors = try session.rows(PostgresQuery(
                unsafeSQL: "SELECT \(Self.connectorColumns) FROM connectors ORDER BY name COLLATE \"C\"")).map(Self.decodeConnector)
            var counts: [ConnectorID: [DeliveryState: Int]] = [:]
            for row in try session.rows("SELECT connector_id, state, n FROM delivery_counts WHERE n <> 0") {
                let (connector, state, n) = try row.decode((Int64, String, Int64).self)
                guard let state = DeliveryState(rawValue: state) else { continue }
                counts[connector, default: [:]][state] = Int(n)
            }
            return connectors.map { ConnectorStatus(connector: $0, counts: counts[$0.id] ?? [:]) }
        }
    }

    /// Deliveries per state across all connectors, from the `delivery_counts` rollup.
    public func deliveryCountsByConnector() throws -> [ConnectorID: [DeliveryState: Int]] {
        try read { session in
            var counts: [ConnectorID: [DeliveryState: Int]] = [:]
            for row in try session.rows("SELECT connector_id, state, n FROM delivery_counts") {
                let (connector, state, n) = try row.decode((Int64, String, Int64).self)
                guard let state = DeliveryState(rawValue: state) else { continue }
                counts[connector, default: [:]][state] = Int(n)
            }
            return counts
        }
    }

    /// Connectors not named in `configured` that still hold unfinished deliveries, by name.
    public func orphanedConnectors(configured: Set<String>) throws -> [OrphanedConnector] {
        try read { session in try Self.orphanedConnectors(configured: configured, session: session) }
    }

    /// Marks the connectors `configured` does not name orphaned (keeping when they were first
    /// marked); those it names lose the mark.
    @discardableResult
    public func markOrphanedConnectors(configured: Set<String>, now: Date) throws -> [OrphanedConnector] {
        let names = configured.sorted()
        return try write { session in
            try session.run("""
                UPDATE connectors SET orphaned_at = NULL WHERE orphaned_at IS NOT NULL AND name = ANY(\(names))
                """)
            try session.run("""
                UPDATE connectors SET orphaned_at = \(now.millis) WHERE orphaned_at IS NULL AND NOT (name = ANY(\(names)))
                """)
            return try Self.orphanedConnectors(configured: configured, session: session)
        }
    }

    static func orphanedConnectors(configured: Set<String>, session: Session) throws -> [OrphanedConnector] {
        let rows = try session.rows("""
            SELECT c.name, c.direction, dc.state, dc.n
            FROM connectors c JOIN delivery_counts dc ON dc.connector_id = c.id
            WHERE dc.n <> 0 AND dc.state IN ('pending', 'in_flight', 'retrying', 'dead')
              AND NOT (c.name = ANY(\(configured.sorted())))
            ORDER BY c.name COLLATE "C"
            """)
        var orphans = OrphanedConnector.Tally()
        for row in rows {
            let (name, direction, state, count) = try row.decode((String, String, String, Int64).self)
            orphans.add(name: name, direction: ConnectorDirection(rawValue: direction) ?? .sink, state: state,
                        count: Int(count))
        }
        return orphans.unfinished
    }
}

extension PostgresStore: ConnectorCatalog {}
