import Foundation

/// What a store says changed, to whoever waits for work or redraws.
public enum StoreChange: Sendable, Equatable {
    /// These connectors have deliveries newly due (ingest, a recovered lease, an operator's retry).
    case due(Set<ConnectorID>)
    /// Anything else a reader shows (a write, throttled by the writer).
    case other
    /// The feed was lost and is back: changes made meanwhile were not reported, so whoever waits
    /// for work should look.
    case reconnected
}

/// A handle that stops a change feed.
public protocol ChangeSubscription: Sendable {
    func cancel()
}

/// Changes committed by any process on the database, as they commit. On PostgreSQL this is
/// `LISTEN/NOTIFY`: a hub node's workers wake when another node ingests, with no polling while idle.
/// (SQLite's readers watch `PRAGMA data_version` instead: `ChangeWatcher`.)
public protocol ChangeFeed: Sendable {
    func watchChanges(_ handler: @escaping @Sendable (StoreChange) -> Void) throws -> any ChangeSubscription
}

/// Batch jobs that must run on one node at a time. A job runs only while its process holds the
/// job's lock; the database releases it when that process dies, so another node takes the job over
/// and resumes its unfinished run at the committed cursor.
public protocol JobLocks: Sendable {
    /// Takes the job's lock if no other process holds it. - Returns: nil when another one does.
    func tryJobLock(_ job: String) throws -> (any JobLock)?
}

/// A job's lock, held until released (or until the process that holds it dies).
public protocol JobLock: Sendable {
    func release()
}
