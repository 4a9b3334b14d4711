import Foundation
import GRDB

// The reading side of `patchbay migrate`: every table of a SQLite database, in key order, in
// bounded chunks, as backend-neutral values. Only the tables of `ExportTable.all` are read; callers
// name tables and columns, never SQL.

extension Store: ExportReading, DatabaseExporting {
    /// Up to `limit` rows of `table` after the key `after`, in one read of their own (see
    /// `withExportSnapshot` for many reads of one snapshot).
    public func exportRows(table: String, columns: [String], after: [ExportValue]?, limit: Int,
                           maxBytes: Int) throws -> [[ExportValue]] {
        try read { db in
            try SQLiteExport(db: db, path: path).exportRows(table: table, columns: columns, after: after, limit: limit,
                                                            maxBytes: maxBytes)
        }
    }

    public func exportCounts() throws -> [String: Int] {
        try read { db in try SQLiteExport(db: db, path: path).exportCounts() }
    }

    /// Runs `body` in one read transaction: every read through its reader sees the same snapshot,
    /// whatever the hub writes meanwhile (in WAL mode a reader never blocks the writer).
    public func withExportSnapshot<T>(_ body: (any ExportReading) throws -> T) throws -> T {
        try read { db in try body(SQLiteExport(db: db, path: path)) }
    }
}

/// The reads of one snapshot (one `Database` inside a read transaction).
struct SQLiteExport: ExportReading {
    let db: Database
    let path: String

    func exportRows(table name: String, columns: [String], after: [ExportValue]?, limit: Int,
                    maxBytes: Int) throws -> [[ExportValue]] {
        let table = try ExportTable.named(name)
        try table.checkRequest(columns: columns, after: after)
        guard limit > 0 else { return [] }
        var sql = "SELECT \(columns.map(quoted).joined(separator: ", ")) FROM \(quoted(table.name))"
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let after {
            let keys = table.key.map(quoted)
            if keys.count == 1 {
                sql += " WHERE \(keys[0]) > ?"
            } else {
                sql += " WHERE (\(keys.joined(separator: ", "))) > (\(keys.map { _ in "?" }.joined(separator: ", ")))"
            }
            arguments = after.map(\.databaseValue)
        }
        sql += " ORDER BY \(table.key.map(quoted).joined(separator: ", ")) LIMIT ?"
        arguments.append(limit)

        var rows: [[ExportValue]] = []
        var bytes = 0
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
        while let row = try cursor.next() {
            var values: [ExportValue] = []
            values.reserveCapacity(columns.count)
            for index in columns.indices {
                let value = try Self.value(row[index] as DatabaseValue, table: table.name, column: columns[index])
                bytes += value.approximateBytes
                values.append(value)
            }
            rows.append(values)
            if bytes >= maxBytes { break }
        }
        return rows
    }

    func exportCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in ExportTable.all {
            counts[table.name] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(quoted(table.name))") ?? 0
        }
        return counts
    }

    func rollupDifferences(since: Date) throws -> [String] {
        try Store.rollupDifferences(since: since.millis, db: db)
    }

    private func quoted(_ identifier: String) -> String { "\"\(identifier)\"" }

    /// SQLite's value as an export carries it. A blob (no Patchbay column holds one) travels as its
    /// UTF-8 text when it is text, else the copy stops and says where.
    private static func value(_ value: DatabaseValue, table: String, column: String) throws -> ExportValue {
        switch value.storage {
        case .null: return .null
        case .int64(let integer): return .integer(integer)
        case .double(let real): return .real(real)
        case .string(let text): return .text(text)
        case .blob(let data):
            guard let text = String(data: data, encoding: .utf8) else {
                throw StoreError.invalidInput("\(table).\(column) holds binary data (\(data.count) bytes) no Patchbay column holds")
            }
            return .text(text)
        }
    }
}

extension ExportValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .integer(let value): return value.databaseValue
        case .real(let value): return value.databaseValue
        case .text(let value): return value.databaseValue
        }
    }
}
