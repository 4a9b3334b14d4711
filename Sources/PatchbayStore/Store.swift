import Foundation
import GRDB
import Synchronization

/// The one value that owns a Patchbay database.
///
/// A `Store` opens the file in WAL mode with a busy timeout, migrates it, and exposes writes named by
/// intent (each one `BEGIN IMMEDIATE` transaction) and bounded reads. The hub, the dashboard and
/// the CLI are separate processes that each open their own `Store` on the same file.
public final class Store: Sendable {
    /// How to open a database file.
    public enum OpenMode: Sendable, Equatable {
        /// Open an existing Patchbay database, migrating it if its schema is older.
        case existing
        /// Create the file if it is missing, then migrate (`patchbay init`).
        case create(homeCurrency: String)
        /// Open an existing, fully migrated database without ever writing to it.
        case readOnly
    }

    public let path: String
    public let isReadOnly: Bool
    let writer: DatabasePool
    /// The last aging report `agingCached` computed, with what it was computed for.
    let agingCache = Mutex<AgingCacheEntry?>(nil)

    /// The database's home currency (set at `init`), used when an import names no currency.
    public let homeCurrency: String

    /// How long a writer waits for the lock before a write is retried (and, after
    /// `busyRetries` tries, reported as busy).
    static let busyTimeout: TimeInterval = 5
    static let busyRetries = 6

    /// How hard commits push to disk.
    public enum Durability: Sendable, Equatable {
        /// `synchronous = FULL`: a committed write survives power loss. The default, and what the hub uses.
        case full
        /// `synchronous = OFF`: for bulk loads that can be redone (`patchbay seed`, benchmarks' set-up).
        case bulkLoad
    }

    public static func open(at path: String, mode: OpenMode = .existing, durability: Durability = .full) throws -> Store {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = fileManager.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue { throw StoreError.notADatabase(path: path, detail: "it is a directory") }
        if !exists {
            guard case .create = mode else { throw StoreError.missing(path: path) }
            try WriteAccess.createOwnerOnlyFile(at: path)
        } else {
            try checkHeader(path: path)
            // SQLite opens a file it may not write read-only without a word, and says "readonly"
            // at the first write: refuse now, with whose file or directory is in the way.
            if mode != .readOnly, let problem = WriteAccess.problem(at: path) {
                throw StoreError.notWritable(path: path, detail: problem)
            }
            try inspectBeforeOpening(path: path, mode: mode)
        }

        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.readonly = mode == .readOnly
        config.label = "patchbay"
        config.prepareDatabase { db in
            // Statement journals (every statement that fires a trigger or has ON CONFLICT opens one)
            // and the sorters of GROUP BY and DISTINCT stay in memory instead of temporary files.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            if !db.configuration.readonly {
                // Durable commits: a webhook that was answered 2xx survives power loss.
                try db.execute(sql: durability == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF")
            }
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)
            if mode != .readOnly {
                // GRDB switches its writer to synchronous=NORMAL when it enables WAL, after
                // prepareDatabase ran: set the durability again on the one writer connection.
                // (Found by DurabilityTests: the hub's 200s were not power-loss durable.)
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: durability == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF")
                    // After a reader held the WAL open and it grew, truncate it back at the next
                    // checkpoint instead of keeping the high-water mark on disk (found by ContentionTests).
                    try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
                    // Checkpoint every 32 MiB of WAL instead of SQLite's 4 MiB. A batch of 1,000 events
                    // dirties more than 1,000 pages (the idempotency key index takes keys in random
                    // order), so the default copied every commit back into the file at once; the same
                    // index pages, rewritten by the next batches, are now copied once per checkpoint.
                    // Ingest by 1,000: 12,400 → 14,100 events/s (docs/BENCHMARKS.md, session 4).
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = 8192")
                }
            }
        } catch {
            throw StoreError.wrapCheckingAccess(error, path: path, writing: mode != .readOnly)
        }

        let migrator = Schema.migrator
        do {
            let (appID, hasTables, superseded, complete) = try pool.read { db in
                let appID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let hasTables = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0
                let superseded = try migrator.hasBeenSuperseded(db)
                let complete = try migrator.hasCompletedMigrations(db)
                return (appID, hasTables > 0, superseded, complete)
            }
            // Another app's file first: its own GRDB migrations must not read as a newer Patchbay.
            if hasTables && appID != Schema.applicationID {
                throw StoreError.notPatchbay(path: path)
            }
            if superseded { throw StoreError.newerSchema(path: path) }
            switch mode {
            case .readOnly:
                if !hasTables { throw StoreError.uninitialized(path: path) }
                if !complete { throw StoreError.olderSchema(path: path) }
            case .existing:
                if !hasTables { throw StoreError.uninitialized(path: path) }
                if !complete { try migrator.migrate(pool) }
            case .create(let homeCurrency):
                try migrator.migrate(pool)
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        try db.execute(sql: "PRAGMA application_id = \(Schema.applicationID)")
                        try db.execute(
                            sql: "INSERT INTO settings(key, value) VALUES ('home_currency', ?) ON CONFLICT(key) DO NOTHING",
                            arguments: [homeCurrency.uppercased()])
                        return .commit
                    }
                }
            }
            let currency = try pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = 'home_currency'")
            }
            return Store(path: path, writer: pool, readOnly: mode == .readOnly, homeCurrency: currency ?? "USD")
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.wrapCheckingAccess(error, path: path, writing: mode != .readOnly)
        }
    }

    private init(path: String, writer: DatabasePool, readOnly: Bool, homeCurrency: String) {
        self.path = path
        self.writer = writer
        self.isReadOnly = readOnly
        self.homeCurrency = homeCurrency
    }

    /// Looks at an existing file through a read-only connection before the pool opens it: opening a
    /// pool switches the file to WAL mode and would write to a file that is not ours.
    private static func inspectBeforeOpening(path: String, mode: OpenMode) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        if size == 0 {
            if case .create = mode { return }
            throw StoreError.uninitialized(path: path)
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(busyTimeout)
        do {
            let probe = try DatabaseQueue(path: path, configuration: config)
            defer { try? probe.close() }
            let migrator = Schema.migrator
            let (appID, tables, superseded) = try probe.read { db in
                (try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
                 try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0,
                 try migrator.hasBeenSuperseded(db))
            }
            if tables > 0 && appID != Schema.applicationID { throw StoreError.notPatchbay(path: path) }
            if superseded { throw StoreError.newerSchema(path: path) }
            if tables == 0, case .create = mode { return }
            if tables == 0 { throw StoreError.uninitialized(path: path) }
        } catch let error as StoreError {
            throw error
        } catch {
            // Even a reader needs the -wal and -shm of a WAL database, or a directory to create them in.
            throw StoreError.wrapCheckingAccess(error, path: path, writing: false)
        }
    }

    /// Refuses a file that is not SQLite before SQLite gets a chance to treat it as empty.
    private static func checkHeader(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError.unreadable(path: path, detail: "permission denied")
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        if header.isEmpty { return }  // an empty file is an empty database
        if header != Data("SQLite format 3\u{0}".utf8) {
            throw StoreError.notADatabase(path: path, detail: "the file does not start with the SQLite header")
        }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction, retrying while another process holds the lock.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        if isReadOnly { throw StoreError.readOnly(path: path) }
        var tries = 0
        while true {
            do {
                return try writer.writeWithoutTransaction { db in
                    var result: T?
                    try db.inTransaction(.immediate) {
                        result = try body(db)
                        return .commit
                    }
                    return result!
                }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                tries += 1
                if tries >= Self.busyRetries { throw StoreError.busy(path: path) }
            } catch let error as StoreError {
                throw error
            } catch let error as DatabaseError {
                throw StoreError.wrapCheckingAccess(error, path: path)
            }
        }
    }

    /// Runs `body` on a read-only snapshot.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try writer.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.wrapCheckingAccess(error, path: path, writing: !isReadOnly)
        }
    }

    /// Full integrity check. Costs a read of the whole file: for `init` and `check`, not for every open.
    public func integrityProblems() throws -> [String] {
        try read { db in
            let rows = try String.fetchAll(db, sql: "PRAGMA quick_check")
            return rows == ["ok"] ? [] : rows
        }
    }

    /// Names of the applied migrations, oldest first.
    public func appliedMigrations() throws -> [String] {
        try read { db in try Schema.migrator.appliedMigrations(db) }
    }
}
