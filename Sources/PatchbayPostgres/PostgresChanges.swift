import Foundation
import PatchbayModel
import PostgresNIO

/// The change feed on PostgreSQL: writes `NOTIFY` (delivered when they commit), and a listener
/// wakes whoever waits, on every node, with no polling while nothing happens.
///
/// One channel, `patchbay_changes`. A payload `due:1,4` names connectors with deliveries newly
/// due (ingest, recovered leases, an operator's retry); `write` is any other change the dashboard shows.
enum PostgresChanges {
    static let channel = "patchbay_changes"
    /// The first key of the advisory locks that guard each connector's shared limits.
    static let limitLockSpace: Int32 = 0x5042_4C4D  // "PBLM"

    static func notify(_ session: Session, due connectors: Set<ConnectorID>) throws {
        let payload = "due:" + connectors.sorted().map(String.init).joined(separator: ",")
        try session.run("SELECT pg_notify(\(channel), \(payload))")
    }

    static func notifyWrite(_ session: Session) throws {
        try session.run("SELECT pg_notify(\(channel), 'write')")
    }
}
