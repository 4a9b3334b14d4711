import Logging
import PatchbayConnectors
import PatchbayStore

extension HubRuntime {
    /// Marks the database's connectors this configuration does not name as orphaned, and logs a
    /// warning for each that still holds unfinished deliveries: no worker of this hub will send them.
    ///
    /// Their expired leases are still recovered (lease recovery reads every connector), so nothing
    /// sits `in_flight` unseen; what is left waits for an operator's `retry --to` or `discard`.
    /// The mark assumes one configuration per database: a second hub with another configuration on
    /// the same file would mark this one's connectors in turn.
    static func markOrphans(config: HubConfig, store: some ConnectorCatalog & DatabaseLocation, logger: Logger) throws {
        let orphans = try store.markOrphanedConnectors(configured: Set(config.connectors.map(\.name) + [AlertService.sourceName]))
        for orphan in orphans {
            logger.warning("\(orphan.warning(database: store.path))", metadata: [
                "connector": "\(orphan.name)", "pending": "\(orphan.pending)", "in_flight": "\(orphan.inFlight)",
                "retrying": "\(orphan.retrying)", "dead": "\(orphan.dead)",
            ])
        }
    }
}
