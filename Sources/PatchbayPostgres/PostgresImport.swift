import Foundation
import PatchbayModel
import PostgresNIO

// The writing side of `patchbay migrate`: a whole Patchbay database (SQLite's, through
// `DatabaseExporting`) copied into an empty PostgreSQL one, ids as they are, in one transaction,
// then checked in that same transaction, so the target ends up with all of it, checked, or none of it.

/// What a copy did and what its checks found.
public struct ImportReport: Sendable {
    public struct TableCopy: Sendable, Equatable {
        public var name: String
        /// Rows in the source's snapshot.
        public var sourceRows: Int
        /// Rows inserted (settings: inserted or updated, the target's own two keys included).
        public var copiedRows: Int
        /// Rows in the target afterwards.
        public var targetRows: Int
    }

    public var tables: [TableCopy] = []
    /// Rows compared value for value, per table (settings and every counter table).
    public var comparedRows: [String: Int] = [:]
    /// What the target's `rollupDifferences` found, recounting the whole history (empty: exact).
    public var rollupDifferences: [String] = []
    /// What the source's found: differences the source had already (counters keep what `prune`
    /// deleted) are copied as they are, and are no failure of the copy.
    public var sourceRollupDifferences: [String] = []
    /// The checks that failed. Empty: every check passed and the copy was committed.
    public var problems: [String] = []
    /// Whether the copy was committed (false: rolled back, the target holds none of it).
    public var committed = false

    public var totalRows: Int { tables.reduce(0) { $0 + $1.copiedRows } }
}

/// Where a copy is, for a progress line.
public enum ImportProgress: Sendable {
    case copying(table: String, rows: Int, of: Int)
    case copied(table: String, rows: Int)
    case checking
}

extension PostgresStore {
    /// The key of the advisory lock a copy holds for its transaction ("PBAYCOPY"): two copies into
    /// one database take turns, and the second finds the first's rows and refuses.
    static let importLock: Int64 = 0x5042_4159_434F_5059

    /// The most bind parameters one statement may carry (PostgreSQL's protocol counts them in 16 bits).
    static let maxBinds = 65_535

    /// Copies every table of `source` into this database, which must hold no Patchbay data yet.
    ///
    /// One transaction: the rows (ids kept, each identity sequence then set past the largest id),
    /// then the checks — row counts per table equal to the source's, settings and every counter
    /// equal row for row, and `rollupDifferences` over the whole history finding what the source's
    /// finds. A failed check rolls everything back; the report says what failed. The source is read
    /// from one snapshot in chunks of `rowsPerStatement` rows (fewer for wide tables, and fewer when
    /// rows are large), so memory stays bounded whatever the size of the database.
    ///
    /// - Throws: `StoreError.invalidInput` when this database already holds Patchbay data (nothing
    ///   is written), and any error of either database (the copy is rolled back).
    public func importDatabase(from source: some DatabaseExporting, rowsPerStatement: Int = 5000,
                               progress: (ImportProgress) -> Void = { _ in }) throws -> ImportReport {
        var failed: ImportReport?
        do {
            return try source.withExportSnapshot { reader in
                try write { session in
                    failed = nil
                    let report = try Self.copy(from: reader, into: session, path: path,
                                               rowsPerStatement: max(1, rowsPerStatement), progress: progress)
                    if !report.problems.isEmpty {
                        failed = report
                        throw ImportChecksFailed()
                    }
                    var committed = report
                    committed.committed = true
                    return committed
                }
            }
        } catch {
            if let failed { return failed }
            throw error
        }
    }

    private struct ImportChecksFailed: Error {}

    private static func copy(from reader: any ExportReading, into session: Session, path: String,
                             rowsPerStatement: Int, progress: (ImportProgress) -> Void) throws -> ImportReport {
        try session.run("SELECT pg_advisory_xact_lock(\(importLock))")
        try refuseUnlessEmpty(session, path: path)

        let sourceCounts = try reader.exportCounts()
        var report = ImportReport()
        // Rows first, each after the rows it references; then the counters, whose rows a trigger
        // may have written while the rows went in (a rejection counts itself); settings last, as
        // `invoices_version` moved with every statement that inserted invoices.
        let rowTables = ExportTable.all.filter { !$0.isCounter && $0.name != "settings" }
        let order = rowTables + ExportTable.all.filter(\.isCounter) + ExportTable.all.filter { $0.name == "settings" }
        var copied: [String: Int] = [:]
        for table in order {
            if table.isCounter {
                // The target was empty: whatever a counter table holds now, a trigger wrote during this copy.
                try session.run(PostgresQuery(unsafeSQL: "DELETE FROM \(quoted(table.name))"))
            }
            copied[table.name] = try copyTable(table, from: reader, expected: sourceCounts[table.name] ?? 0,
                                               into: session, rowsPerStatement: rowsPerStatement, progress: progress)
        }
        for table in ExportTable.all where table.hasIdentity {
            try session.run(PostgresQuery(unsafeSQL: """
                SELECT setval(pg_get_serial_sequence('\(table.name)', 'id'), coalesce(max(id), 0) + 1, false)
                FROM \(quoted(table.name))
                """))
        }

        progress(.checking)
        let exporter = PostgresExport(session: session)
        let targetCounts = try exporter.exportCounts()
        for table in ExportTable.all {
            let result = ImportReport.TableCopy(name: table.name, sourceRows: sourceCounts[table.name] ?? 0,
                                                copiedRows: copied[table.name] ?? 0,
                                                targetRows: targetCounts[table.name] ?? 0)
            report.tables.append(result)
            if result.sourceRows != result.targetRows {
                report.problems.append("\(table.name): \(result.sourceRows) rows in the source, \(result.targetRows) in the target")
            }
        }
        for table in ExportTable.all where table.isCounter || table.name == "settings" {
            let (compared, differences) = try compare(table, source: reader, target: exporter)
            report.comparedRows[table.name] = compared
            if let differences { report.problems.append(differences) }
        }
        let everything = Date(millis: 0)
        report.sourceRollupDifferences = try reader.rollupDifferences(since: everything)
        report.rollupDifferences = try exporter.rollupDifferences(since: everything)
        if report.rollupDifferences != report.sourceRollupDifferences {
            let found = report.rollupDifferences.isEmpty ? "none" : report.rollupDifferences.joined(separator: "; ")
            let before = report.sourceRollupDifferences.isEmpty ? "none" : report.sourceRollupDifferences.joined(separator: "; ")
            report.problems.append("counters against rows: the target finds \(found), the source \(before)")
        }
        return report
    }

    /// Refuses a target that holds any Patchbay data: a copy keeps its ids, and would collide with
    /// (or, worse, mix into) whatever is there.
    private static func refuseUnlessEmpty(_ session: Session, path: String) throws {
        var held: [String] = []
        var others: [String] = []
        // What a user would name first, by count; then any other table that is not empty.
        let first = ["connectors", "events", "invoices", "batch_runs"]
        let tables = first + ExportTable.all.map(\.name).filter { !first.contains($0) && $0 != "settings" }
        for name in tables {
            let count = try session.rows(PostgresQuery(unsafeSQL: """
                SELECT count(*) FROM (SELECT 1 FROM \(quoted(name)) LIMIT 1000000) AS probe
                """)).first?.decode(Int64.self) ?? 0
            guard count > 0 else { continue }
            if first.contains(name) {
                held.append("\(count >= 1_000_000 ? "1000000+" : String(count)) \(name.replacingOccurrences(of: "_", with: " "))")
            } else {
                others.append(name)
            }
        }
        if !others.isEmpty { held.append("rows in \(others.joined(separator: ", "))") }
        guard held.isEmpty else {
            throw StoreError.invalidInput("""
                \(path): the target already holds Patchbay data (\(held.joined(separator: ", "))); nothing was written. \
                migrate copies into an empty database only: point --to at a new database.
                """)
        }
    }

    /// Copies one table in chunks; returns how many rows went in.
    private static func copyTable(_ table: ExportTable, from reader: any ExportReading, expected: Int,
                                  into session: Session, rowsPerStatement: Int,
                                  progress: (ImportProgress) -> Void) throws -> Int {
        let chunk = max(1, min(rowsPerStatement, maxBinds / table.columns.count))
        let columns = table.columnNames
        let keyPositions = table.key.map { key in columns.firstIndex(of: key)! }
        let placeholders: [(Int) -> String] = table.columns.map { column in
            column.kind == .json ? { "$\($0)::json" } : { "$\($0)" }
        }
        var prefix = "INSERT INTO \(quoted(table.name)) (\(columns.map(quoted).joined(separator: ", "))) VALUES "
        var suffix = ""
        if table.name == "settings" {
            // The target's own `home_currency` and `invoices_version` take the source's values.
            prefix = "INSERT INTO settings (key, value) VALUES "
            suffix = " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        }
        var after: [ExportValue]?
        var total = 0
        while true {
            // 16 MiB of values per chunk at most: 5,000 events of 4 MiB payloads would not fit in memory.
            let rows = try reader.exportRows(table: table.name, columns: columns, after: after, limit: chunk,
                                             maxBytes: 16 << 20)
            guard let last = rows.last else { break }
            var binds = PostgresBindings(capacity: rows.count * columns.count)
            var sql = prefix
            sql.reserveCapacity(prefix.count + rows.count * columns.count * 8 + suffix.count)
            var number = 0
            for (rowIndex, row) in rows.enumerated() {
                sql += rowIndex == 0 ? "(" : ", ("
                for (index, value) in row.enumerated() {
                    number += 1
                    if index > 0 { sql += ", " }
                    sql += placeholders[index](number)
                    try bind(value, kind: table.columns[index].kind, into: &binds, table: table.name,
                             column: columns[index])
                }
                sql += ")"
            }
            sql += suffix
            do {
                try session.run(PostgresQuery(unsafeSQL: sql, binds: binds))
            } catch let error as PSQLError where !isTransient(error) {
                // Which rows PostgreSQL refused (a constraint SQLite does not have, a NUL in text).
                var reason = "\(storeError(error, location: session.location))"
                if case .database(_, let detail)? = storeError(error, location: session.location) as? StoreError {
                    reason = detail
                }
                let keys = [rows[0], last].map { row in keyPositions.map { "\(row[$0])" }.joined(separator: ", ") }
                throw StoreError.database(path: session.location.description, detail: """
                    copying \(table.name) (keys \(keys[0]) to \(keys[1])): \(reason)\(reason.hasSuffix(".") ? "" : ".") \
                    Nothing was written.
                    """)
            }
            total += rows.count
            after = keyPositions.map { last[$0] }
            progress(.copying(table: table.name, rows: total, of: expected))
        }
        progress(.copied(table: table.name, rows: total))
        return total
    }

    private static func bind(_ value: ExportValue, kind: ExportColumn.Kind, into binds: inout PostgresBindings,
                             table: String, column: String) throws {
        switch (value, kind) {
        case (.null, _):
            binds.appendNull()
        case (.integer(let integer), .boolean):
            guard integer == 0 || integer == 1 else {
                throw StoreError.invalidInput("\(table).\(column) holds \(integer); only 0 and 1 copy to a boolean")
            }
            binds.append(integer == 1)
        case (_, .boolean):
            throw StoreError.invalidInput("\(table).\(column) holds \(value); only 0 and 1 copy to a boolean")
        case (.integer(let integer), _):
            binds.append(integer)
        case (.real(let real), _):
            binds.append(real)
        case (.text(let text), _):
            binds.append(text)
        }
    }

    /// Compares `table` on both sides value for value, reading both in key order in chunks.
    /// - Returns: how many rows were compared, and what differs (nil when nothing does).
    private static func compare(_ table: ExportTable, source: any ExportReading,
                                target: any ExportReading) throws -> (Int, String?) {
        let columns = table.columnNames
        let keyPositions = table.key.map { key in columns.firstIndex(of: key)! }
        func key(_ row: [ExportValue]) -> [ExportValue] { keyPositions.map { row[$0] } }

        struct Side {
            let reader: any ExportReading
            let table: ExportTable
            var buffer: [[ExportValue]] = []
            var index = 0
            var after: [ExportValue]?
            var done = false

            /// The next row, reading the next chunk when the last one is used up.
            mutating func peek(key: ([ExportValue]) -> [ExportValue]) throws -> [ExportValue]? {
                if index == buffer.count {
                    if done { return nil }
                    buffer = try reader.exportRows(table: table, after: after, limit: 5000)
                    index = 0
                    if buffer.isEmpty {
                        done = true
                        return nil
                    }
                    after = key(buffer[buffer.count - 1])
                }
                return buffer[index]
            }
        }
        var left = Side(reader: source, table: table)
        var right = Side(reader: target, table: table)
        var compared = 0
        var differing = 0
        var example: String?
        func note(_ text: String) {
            differing += 1
            if example == nil { example = text }
        }
        while true {
            let a = try left.peek(key: key)
            let b = try right.peek(key: key)
            if a == nil && b == nil { break }
            compared += 1
            if let a, let b, key(a) == key(b) {
                if a != b {
                    let changed = columns.indices.filter { a[$0] != b[$0] }
                        .map { "\(columns[$0]) \(a[$0]) → \(b[$0])" }.joined(separator: ", ")
                    note("key \(key(a)): \(changed)")
                }
                left.index += 1
                right.index += 1
            } else if let a, b == nil || ExportValue.keyPrecedes(key(a), key(b!)) {
                note("key \(key(a)) only in the source")
                left.index += 1
            } else if let b {
                note("key \(key(b)) only in the target")
                right.index += 1
            }
        }
        guard let example else { return (compared, nil) }
        return (compared, "\(table.name): \(differing) of \(compared) rows differ (first: \(example))")
    }

    fileprivate static func quoted(_ identifier: String) -> String { "\"\(identifier)\"" }
}

// MARK: Reading, for the checks (and for comparing backends)

extension PostgresStore: ExportReading, DatabaseExporting {
    /// Up to `limit` rows of `table` after the key `after`, as SQLite's export gives them (booleans
    /// as 0/1, json as its text), in one read of their own.
    public func exportRows(table: String, columns: [String], after: [ExportValue]?, limit: Int,
                           maxBytes: Int) throws -> [[ExportValue]] {
        try read { session in
            try PostgresExport(session: session).exportRows(table: table, columns: columns, after: after,
                                                            limit: limit, maxBytes: maxBytes)
        }
    }

    public func exportCounts() throws -> [String: Int] {
        try read { session in try PostgresExport(session: session).exportCounts() }
    }

    public func withExportSnapshot<T>(_ body: (any ExportReading) throws -> T) throws -> T {
        try read { session in try body(PostgresExport(session: session)) }
    }
}

/// The reads of one session (inside whatever transaction it is in).
struct PostgresExport: ExportReading {
    let session: Session

    func exportRows(table name: String, columns: [String], after: [ExportValue]?, limit: Int,
                    maxBytes: Int) throws -> [[ExportValue]] {
        let table = try ExportTable.named(name)
        try table.checkRequest(columns: columns, after: after)
        guard limit > 0 else { return [] }
        let quoted = PostgresStore.quoted
        let selected = columns.map { name -> String in
            switch table.column(name)!.kind {
            case .boolean: return "\(quoted(name))::int"
            case .json: return "\(quoted(name))::text"
            case .integer, .text: return quoted(name)
            }
        }
        // Text keys in byte order, as SQLite's BINARY collation reads them.
        let keys = table.key.map { key in
            table.column(key)!.kind == .integer ? quoted(key) : "\(quoted(key)) COLLATE \"C\""
        }
        var binds = PostgresBindings(capacity: table.key.count + 1)
        var sql = "SELECT \(selected.joined(separator: ", ")) FROM \(quoted(table.name))"
        if let after {
            let values = after.indices.map { "$\($0 + 1)" }
            sql += keys.count == 1
                ? " WHERE \(keys[0]) > \(values[0])"
                : " WHERE (\(keys.joined(separator: ", "))) > (\(values.joined(separator: ", ")))"
            for value in after {
                switch value {
                case .null: binds.appendNull()
                case .integer(let integer): binds.append(integer)
                case .real(let real): binds.append(real)
                case .text(let text): binds.append(text)
                }
            }
        }
        sql += " ORDER BY \(keys.joined(separator: ", ")) LIMIT \(limit)"
        var rows: [[ExportValue]] = []
        var bytes = 0
        for row in try session.rows(PostgresQuery(unsafeSQL: sql, binds: binds)) {
            var values: [ExportValue] = []
            values.reserveCapacity(columns.count)
            for cell in row {
                let value = try Self.value(cell)
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
            counts[table.name] = Int(try session.rows(PostgresQuery(unsafeSQL: """
                SELECT count(*) FROM \(PostgresStore.quoted(table.name))
                """)).first?.decode(Int64.self) ?? 0)
        }
        return counts
    }

    func rollupDifferences(since: Date) throws -> [String] {
        try PostgresStore.rollupDifferences(since: since.millis, session: session)
    }

    private static func value(_ cell: PostgresCell) throws -> ExportValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .float4, .float8: return .real(try cell.decode(Double.self))
        default: return .text(try cell.decode(String.self))
        }
    }
}
