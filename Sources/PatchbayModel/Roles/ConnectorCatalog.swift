import Foundation

/// The connectors a database knows: saved from a configuration, looked up by name, and marked
/// orphaned when the configuration no longer names them.
public protocol ConnectorCatalog: Sendable {
    @discardableResult
    func saveConnector(_ spec: ConnectorSpec, now: Date) throws -> Connector
    func connectors() throws -> [Connector]
    func connector(named name: String) throws -> Connector?
    /// Connectors not named in `configured` that still hold unfinished deliveries (a read).
    func orphanedConnectors(configured: Set<String>) throws -> [OrphanedConnector]
    /// Marks the connectors not named in `configured` orphaned (and clears the mark on those named).
    @discardableResult
    func markOrphanedConnectors(configured: Set<String>, now: Date) throws -> [OrphanedConnector]
}

extension ConnectorCatalog {
    @discardableResult
    public func saveConnector(_ spec: ConnectorSpec) throws -> Connector {
        try saveConnector(spec, now: Date())
    }

    @discardableResult
    public func markOrphanedConnectors(configured: Set<String>) throws -> [OrphanedConnector] {
        try markOrphanedConnectors(configured: configured, now: Date())
    }
}
