import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PatchbayModel
import PostgresNIO
import Synchronization

/// A Patchbay database on PostgreSQL: the store's roles over a database several hub nodes share.
///
/// The roles are synchronous (the runtime calls them from its blocking pool, the CLI from its
/// command), so each call checks out a connection of this store's own pool and waits for
/// postgres-nio's futures on that thread; nothing here blocks an event loop or the cooperative pool's
/// scheduling of other tasks. Every write is one transaction (`BEGIN … COMMIT`, read committed),
/// retried whole when PostgreSQL reports a serialization failure or a deadlock.
public final class PostgresStore: Sendable {
    /// How to open a database.
    public enum OpenMode: Sendable, Equatable {
        /// A database that already holds Patchbay's schema, migrated if it is older.
        case existing
        /// Creates the schema in an empty database (`patchbay init`), or migrates an existing one.
        case create(homeCurrency: String)
        /// Reads only: never migrates, and refuses to write.
        case readOnly
    }

    public let location: PostgresLocation
    public let isReadOnly: Bool
    public let homeCurrency: String
    let pool: ConnectionPool
    let logger: Logger
    /// When this store last announced a write (ms), for `announceWrite`'s throttle.
    let lastWriteNotice = Atomic<Int64>(0)

    /// What `status`, errors and warnings call this database: its URL without a password.
    public var path: String { location.description }

    /// How many connections one store opens at most (the runtime's blocking pool has 32 threads).
    public static let defaultMaxConnections = 16

    public static func open(_ location: PostgresLocation, mode: OpenMode = .existing,
                            maxConnections: Int = PostgresStore.defaultMaxConnections) throws -> PostgresStore {
        var logger = Logger(label: "patchbay.postgres")
        logger.logLevel = .critical
        let pool = ConnectionPool(location: location, maxConnections: maxConnections, logger: logger)
        do {
            let currency: String = try pool.withConnection { connection in
                let session = Session(connection: connection, logger: logger, location: location)
                switch mode {
                case .create(let homeCurrency):
                    try PostgresSchema.migrate(session)
                    try session.run("""
                        INSERT INTO settings(key, value) VALUES ('home_currency', \(homeCurrency.uppercased()))
                        ON CONFLICT (key) DO NOTHING
                        """)
                case .existing:
                    guard try PostgresSchema.isInitialized(session) else {
                        throw StoreError.uninitialized(path: location.description)
                    }
                    try PostgresSchema.migrate(session)
                case .readOnly:
                    guard try PostgresSchema.isInitialized(session) else {
                        throw StoreError.uninitialized(path: location.description)
                    }
                    if try PostgresSchema.pending(session) > 0 { throw StoreError.olderSchema(path: location.description) }
                }
                return try session.rows("SELECT value FROM settings WHERE key = 'home_currency'")
                    .first?.decode(String.self) ?? "USD"
            }
            return PostgresStore(location: location, pool: pool, readOnly: mode == .readOnly, homeCurrency: currency,
                                 logger: logger)
        } catch {
            pool.shutdown()
            throw Self.storeError(error, location: location)
        }
    }

    private init(location: PostgresLocation, pool: ConnectionPool, readOnly: Bool, homeCurrency: String,
                 logger: Logger) {
        self.location = location
        self.pool = pool
        self.isReadOnly = readOnly
        self.homeCurrency = homeCurrency
        self.logger = logger
    }

    deinit { pool.shutdown() }

    /// What decides whether a commit survives a crash, as this store's sessions see it:
    /// `synchronous_commit` and `fsync` (both must be `on` for acknowledged webhooks to be durable).
    public func durabilitySettings() throws -> [String: String] {
        try read { session in
            let row = try session.rows("SELECT current_setting('synchronous_commit'), current_setting('fsync')").first!
            let (commit, fsync) = try row.decode((String, String).self)
            return ["synchronous_commit": commit, "fsync": fsync]
        }
    }

    /// The names of the migrations this database has run, oldest first.
    public func appliedMigrations() throws -> [String] {
        try read { session in
            try session.rows("SELECT name FROM patchbay_migrations ORDER BY version").map { try $0.decode(String.self) }
        }
    }

    /// Closes every connection. Calls after this fail.
    public func close() { pool.shutdown() }

    /// Runs `body` in one transaction, retried whole (up to five times) on a serialization failure
    /// or a deadlock, which PostgreSQL resolves by aborting one of the transactions.
    func write<T>(_ body: (Session) throws -> T) throws -> T {
        if isReadOnly { throw StoreError.readOnly(path: path) }
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try pool.withConnection { connection in
                    let session = Session(connection: connection, logger: logger, location: location)
                    do {
                        try session.run("BEGIN")
                    } catch {
                        throw StaleConnection(underlying: error)
                    }
                    do {
                        let result = try body(session)
                        try announceWrite(session)
                        try session.run("COMMIT")
                        return result
                    } catch {
                        if !connection.isClosed { _ = try? session.run("ROLLBACK") }
                        throw error
                    }
                }
            } catch let error as PSQLError where attempt < 5 && Self.isTransient(error) {
                continue
            } catch let stale as StaleConnection {
                // A pooled connection the server had already ended (a restart, a terminated
                // backend): nothing was sent but BEGIN, so trying once more on a new one is safe.
                // Its idle siblings most likely died with it.
                pool.discardIdle()
                if attempt < 2 { continue }
                throw Self.storeError(stale.underlying, location: location)
            } catch {
                throw Self.storeError(error, location: location)
            }
        }
    }

    /// Runs reads on one connection, in one read-only transaction (one snapshot for all of them).
    func read<T>(_ body: (Session) throws -> T) throws -> T {
        do {
            return try readOnce(body)
        } catch is StaleConnection {
            // As in `write`: a connection found dead at BEGIN is replaced once.
            pool.discardIdle()
            do {
                return try readOnce(body)
            } catch let again as StaleConnection {
                throw Self.storeError(again.underlying, location: location)
            }
        }
    }

    private func readOnce<T>(_ body: (Session) throws -> T) throws -> T {
        do {
            return try pool.withConnection { connection in
                let session = Session(connection: connection, logger: logger, location: location)
                do {
                    try session.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                } catch {
                    throw StaleConnection(underlying: error)
                }
                do {
                    let result = try body(session)
                    try session.run("COMMIT")
                    return result
                } catch {
                    if !connection.isClosed { _ = try? session.run("ROLLBACK") }
                    throw error
                }
            }
        } catch let stale as StaleConnection {
            throw stale
        } catch {
            throw Self.storeError(error, location: location)
        }
    }

    /// Tells readers that redraw on change (the dashboard) that something was written: a `write`
    /// NOTIFY, at most one per 200 ms from this store. PostgreSQL serializes the commits of
    /// transactions that notify, so the hub's hot path must not notify on every write; a reader
    /// looks again shortly after each notice, which covers what the throttle left out.
    func announceWrite(_ session: Session) throws {
        let now = Date().millis
        let last = lastWriteNotice.load(ordering: .relaxed)
        guard now - last >= 200,
              lastWriteNotice.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        try PostgresChanges.notifyWrite(session)
    }

    static func isTransient(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    /// A postgres-nio error as a `StoreError` that says what PostgreSQL said (postgres-nio's own
    /// description hides it), with the database named by its URL without a password.
    static func storeError(_ error: any Error, location: PostgresLocation) -> any Error {
        if error is StoreError { return error }
        if let error = error as? PSQLError {
            if let info = error.serverInfo {
                var text = info[.message] ?? "error"
                if let state = info[.sqlState] { text += " (SQLSTATE \(state))" }
                if let detail = info[.detail] { text += ": \(detail)" }
                return StoreError.database(path: location.description, detail: text)
            }
            if error.code == .connectionError || error.code == .serverClosedConnection || error.code == .clientClosedConnection {
                let cause = error.underlying.map { " (\($0))" } ?? ""
                return StoreError.database(path: location.description, detail: "cannot reach the server\(cause)")
            }
            return StoreError.database(path: location.description, detail: "\(error.code)")
        }
        if let error = error as? PostgresDecodingError {
            return StoreError.database(path: location.description,
                                       detail: "cannot read column '\(error.columnName)': \(error.code)")
        }
        return StoreError.database(path: location.description, detail: "\(error)")
    }
}

/// A connection that failed at its first statement (BEGIN): the server had ended it while it sat in
/// the pool. Nothing of the call was sent, so the call may be tried again on a new connection.
struct StaleConnection: Error {
    var underlying: any Error
}

/// One connection inside a call: queries wait for their results on the calling thread.
struct Session {
    let connection: PostgresConnection
    let logger: Logger
    let location: PostgresLocation

    /// Runs a statement and returns every row.
    func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
        try connection.query(query, logger: logger).wait().rows
    }

    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func run(_ query: PostgresQuery) throws -> Int {
        try connection.query(query, logger: logger).wait().metadata.rows ?? 0
    }

    /// Runs statements with no parameters, one after the other.
    func script(_ statements: [String]) throws {
        for sql in statements { try run(PostgresQuery(unsafeSQL: sql)) }
    }
}

/// A few connections, opened on demand and reused; callers beyond the limit wait for one.
final class ConnectionPool: Sendable {
    private let location: PostgresLocation
    private let logger: Logger
    private let idle = Mutex<[PostgresConnection]>([])
    private let slots: DispatchSemaphore
    private let closed = Atomic<Bool>(false)
    private let nextID = Atomic<Int>(1)

    init(location: PostgresLocation, maxConnections: Int, logger: Logger) {
        self.location = location
        self.logger = logger
        self.slots = DispatchSemaphore(value: max(1, maxConnections))
    }

    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        slots.wait()
        defer { slots.signal() }
        var connection = idle.withLock { $0.popLast() }
        if connection?.isClosed ?? true { connection = try detachConnection() }
        let held = connection!
        do {
            let result = try body(held)
            release(held)
            return result
        } catch {
            // A connection whose transaction could not be rolled back is closed, not reused.
            if held.isClosed { } else { release(held) }
            throw error
        }
    }

    private func release(_ connection: PostgresConnection) {
        if closed.load(ordering: .acquiring) {
            _ = try? connection.close().wait()
        } else {
            idle.withLock { $0.append(connection) }
        }
    }

    /// A new connection: the pool's next, or one the caller owns and closes (a job lock's).
    func detachConnection() throws -> PostgresConnection {
        if closed.load(ordering: .acquiring) {
            throw StoreError.database(path: location.description, detail: "the store was closed")
        }
        return try Self.connect(location, logger: logger, id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
    }

    /// Opens one connection to `location`, outside any pool (a listener's own).
    static func connect(_ location: PostgresLocation, logger: Logger, id: Int = 0) throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        switch location.tls {
        case .disable:
            tls = .disable
        case .require:
            tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        // A node stopped in the middle of a transaction (SIGSTOP, a swap storm) must not hold its
        // rows and locks for ever: the server ends such a session after 15 s, and its transaction
        // rolls back. No transaction of the store waits on anything but the database itself.
        // A webhook is answered 2xx only after its commit: that commit must be flushed, whatever a
        // role or database default says (`synchronous_commit = off` would acknowledge what a
        // server crash can still lose).
        configuration.options.additionalStartupParameters = [
            ("application_name", "patchbay"),
            ("idle_in_transaction_session_timeout", "15000"),
            ("synchronous_commit", "on"),
        ]
        return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(),
                                              configuration: configuration, id: id, logger: logger).wait()
    }

    /// Closes the idle connections; the next calls open new ones.
    func discardIdle() {
        let connections = idle.withLock { connections in
            defer { connections.removeAll() }
            return connections
        }
        for connection in connections { _ = try? connection.close().wait() }
    }

    func shutdown() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let connections = idle.withLock { connections in
            defer { connections.removeAll() }
            return connections
        }
        for connection in connections { _ = try? connection.close().wait() }
    }
}
