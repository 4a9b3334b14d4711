import Foundation
import Logging
import PatchbayModel
import PostgresNIO

/// Creating and dropping whole databases on a server: for tests and benchmarks, which each want a
/// database of their own, and never for the hub itself (its database is made by whoever runs it).
public enum PostgresAdmin {
    /// Creates database `name` on the server of `location` (connecting to `location`'s database).
    /// - Returns: the location of the new database.
    public static func createDatabase(_ name: String, on location: PostgresLocation) throws -> PostgresLocation {
        try checkName(name)
        try run("CREATE DATABASE \"\(name)\"", on: location)
        var created = location
        created.database = name
        return created
    }

    /// Drops database `name` if it exists, closing its other connections first.
    public static func dropDatabase(_ name: String, on location: PostgresLocation) throws {
        try checkName(name)
        try run("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)", on: location)
    }

    private static func checkName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 63, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw StoreError.invalidInput("'\(name)' is not a database name patchbay creates (letters, digits, _)")
        }
    }

    private static func run(_ sql: String, on location: PostgresLocation) throws {
        var logger = Logger(label: "patchbay.postgres.admin")
        logger.logLevel = .critical
        let pool = ConnectionPool(location: location, maxConnections: 1, logger: logger)
        defer { pool.shutdown() }
        do {
            try pool.withConnection { connection in
                _ = try connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait()
            }
        } catch {
            throw PostgresStore.storeError(error, location: location)
        }
    }
}

extension PostgresStore {
    /// Ends every other session on this database (as a DBA's `pg_terminate_backend` or a server
    /// restart would): for tests of what survives a lost connection. - Returns: how many ended.
    @discardableResult
    public func terminateOtherSessions() throws -> Int {
        try write { session in
            try session.rows("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                """).first.map { Int(try $0.decode(Int64.self)) } ?? 0
        }
    }
}
