import Foundation

/// One column's value as a whole-database copy (`patchbay migrate`) carries it from one backend to
/// another: the four storage classes both backends share, with no storage types.
public enum ExportValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    /// About how much memory the value takes: what bounds a chunk of large rows (payloads).
    public var approximateBytes: Int {
        if case .text(let text) = self { return 16 + text.utf8.count }
        return 16
    }

    public var description: String {
        switch self {
        case .null: return "NULL"
        case .integer(let value): return String(value)
        case .real(let value): return String(value)
        case .text(let text):
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            return "'\(shown)'"
        }
    }

    /// The order both backends read keys in: integers by value, text by its UTF-8 bytes (SQLite's
    /// BINARY collation, PostgreSQL's "C"); NULL first.
    public static func keyPrecedes(_ a: [ExportValue], _ b: [ExportValue]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x.rank(before: y) }
        return a.count < b.count
    }

    private func rank(before other: ExportValue) -> Bool {
        switch (self, other) {
        case (.null, _): return true
        case (_, .null): return false
        case (.integer(let x), .integer(let y)): return x < y
        case (.integer(let x), .real(let y)): return Double(x) < y
        case (.real(let x), .integer(let y)): return x < Double(y)
        case (.real(let x), .real(let y)): return x < y
        case (.integer, .text), (.real, .text): return true
        case (.text, .integer), (.text, .real): return false
        case (.text(let x), .text(let y)): return x.utf8.lexicographicallyPrecedes(y.utf8)
        }
    }
}

/// A column of a table a copy carries, by what it holds in both backends.
public struct ExportColumn: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case integer
        case text
        /// 0/1 in SQLite, `boolean` in PostgreSQL; exported as `.integer(0 or 1)`.
        case boolean
        /// Text in SQLite, `json` in PostgreSQL (kept byte for byte); exported as `.text`.
        case json
    }

    public let name: String
    public let kind: Kind

    public init(_ name: String, _ kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// A table of the Patchbay schema, as both backends have it: the only tables an export reads,
/// named here once (callers never pass SQL, only these names).
public struct ExportTable: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let columns: [ExportColumn]
    /// The primary key, the order rows are read in (keyset: each chunk starts after the last key).
    public let key: [String]
    /// A counter the store keeps beside the rows it counts (compared row for row after a copy).
    public let isCounter: Bool

    public var description: String { name }
    public var columnNames: [String] { columns.map(\.name) }
    /// Whether the key is an `id` the database assigns (an identity column in PostgreSQL).
    public var hasIdentity: Bool { key == ["id"] }

    public func column(_ name: String) -> ExportColumn? { columns.first { $0.name == name } }

    init(_ name: String, key: [String] = ["id"], counter: Bool = false, _ columns: [ExportColumn]) {
        self.name = name
        self.key = key
        self.isCounter = counter
        self.columns = columns
    }

    /// Every table, in an order that inserts each row after the rows it references.
    public static let all: [ExportTable] = {
        func i(_ name: String) -> ExportColumn { ExportColumn(name, .integer) }
        func t(_ name: String) -> ExportColumn { ExportColumn(name, .text) }
        let throughput = ["minute", "quarter", "hour"].map { width in
            ExportTable("throughput_\(width)", key: ["bucket", "connector_id"], counter: true, [
                i("bucket"), i("connector_id"), i("received"), i("delivered"), i("failed"), i("retried"), i("dead"),
                i("rejected"),
            ])
        }
        return [
            ExportTable("settings", key: ["key"], [t("key"), t("value")]),
            ExportTable("connectors", [
                i("id"), t("name"), t("module"), t("pattern"), t("system"), t("direction"),
                ExportColumn("paused", .boolean), t("paused_reason"), t("health"), i("max_attempts"),
                i("last_success_at"), i("last_error_at"), t("last_error"), i("created_at"), i("orphaned_at"),
                t("paused_by"), i("run_requested_at"),
            ]),
            ExportTable("events", [
                i("id"), t("topic"), i("source_id"), i("received_at"), i("occurred_at"), t("correlation_id"),
                t("idempotency_key"), ExportColumn("payload", .json), t("payload_hash"),
            ]),
            ExportTable("deliveries", [
                i("id"), i("event_id"), i("connector_id"), t("state"), i("attempts"), i("max_attempts"),
                i("next_attempt_at"), t("lease_owner"), i("lease_token"), i("lease_expires_at"), t("last_error"),
                i("last_status"), t("error_signature"), i("created_at"), i("updated_at"), i("replays"),
            ]),
            ExportTable("attempts", [
                i("id"), i("delivery_id"), i("number"), i("started_at"), i("duration_ms"), t("outcome"),
                i("status_code"), t("error"), t("response_excerpt"), t("note"),
            ]),
            ExportTable("transitions", [
                i("id"), i("delivery_id"), i("at"), t("from_state"), t("to_state"), t("actor"), t("reason"),
                i("connector_id"),
            ]),
            ExportTable("delivery_counts", key: ["connector_id", "state"], counter: true, [
                i("connector_id"), t("state"), i("n"),
            ]),
            ExportTable("error_groups", counter: true, [
                i("id"), i("connector_id"), t("signature"), t("sample_error"), i("last_status"), i("retrying"),
                i("dead"), i("occurrences"), i("first_seen"), i("last_seen"),
            ]),
            ExportTable("batch_runs", [
                i("id"), t("job"), i("connector_id"), i("started_at"), i("finished_at"), t("status"), i("rows_read"),
                i("rows_loaded"), i("rows_rejected"), t("cursor"), t("error"), t("input"),
            ]),
            ExportTable("invoices", [
                i("id"), i("source_id"), t("external_id"), t("number"), t("kind"), t("customer"), t("currency"),
                t("issue_date"), t("due_date"), i("total_minor"), i("open_minor"), t("status"), i("synced_at"),
                i("seen_run_id"),
            ]),
            ExportTable("rejections", [
                i("id"), i("connector_id"), i("received_at"), i("status"), t("reason"), t("remote"), t("path"),
                i("body_bytes"), t("body_excerpt"),
            ]),
            ExportTable("signed_bodies", key: ["source_id", "digest"], [
                i("source_id"), t("digest"), i("event_id"), i("received_at"),
            ]),
            ExportTable("alerts", [
                i("id"), t("rule"), t("kind"), t("subject"), t("state"), t("summary"), t("value"), t("threshold"),
                i("fired_at"), i("last_notified_at"), i("notifications"), i("resolved_at"), i("updated_at"),
            ]),
            ExportTable("oauth_tokens", key: ["connector_id"], [
                i("connector_id"), t("access_token"), i("access_expires_at"), t("refresh_token"), t("scope"),
                t("token_type"), i("version"), t("refreshing_owner"), i("refreshing_until"), i("updated_at"),
                t("last_error"),
            ]),
            ExportTable("api_quotas", key: ["connector_id"], [
                i("connector_id"), i("day_remaining"), i("day_limit"), i("minute_remaining"), i("app_minute_remaining"),
                i("observed_at"),
            ]),
        ] + throughput
    }()

    /// The table called `name`, or an error: only the tables above may be exported.
    public static func named(_ name: String) throws -> ExportTable {
        guard let table = all.first(where: { $0.name == name }) else {
            throw StoreError.invalidInput("'\(name)' is not a table a Patchbay export reads "
                + "(\(all.map(\.name).joined(separator: ", ")))")
        }
        return table
    }

    /// Checks a request for rows of this table: known columns, the key among them, a key as long as
    /// the table's.
    public func checkRequest(columns requested: [String], after: [ExportValue]?) throws {
        for name in requested where column(name) == nil {
            throw StoreError.invalidInput("table \(self.name) has no column '\(name)' an export reads")
        }
        for name in key where !requested.contains(name) {
            throw StoreError.invalidInput("an export of \(self.name) must read its key column '\(name)'")
        }
        if let after, after.count != key.count {
            throw StoreError.invalidInput("the key of \(self.name) has \(key.count) columns, got \(after.count) values")
        }
    }
}

/// Reads a Patchbay database table by table, in key order, in bounded chunks.
public protocol ExportReading {
    /// Up to `limit` rows of `table` (its `columns`, in that order), in key order, starting after
    /// the row whose key is `after` (from the first row when nil). Stops early, after at least one
    /// row, once the rows read take about `maxBytes`. `table` must be one of `ExportTable.all`.
    func exportRows(table: String, columns: [String], after: [ExportValue]?, limit: Int, maxBytes: Int) throws
        -> [[ExportValue]]

    /// How many rows each table of `ExportTable.all` holds, by table name.
    func exportCounts() throws -> [String: Int]

    /// Recounts every counter from the rows it counts; names each that differs (empty: exact).
    func rollupDifferences(since: Date) throws -> [String]
}

extension ExportReading {
    /// Up to `limit` rows of an id-keyed table, ids after `afterId` (from the first when nil).
    public func exportRows(table: String, columns: [String], afterId: Int64?, limit: Int) throws -> [[ExportValue]] {
        try exportRows(table: table, columns: columns, after: afterId.map { [.integer($0)] }, limit: limit,
                       maxBytes: Int.max)
    }

    /// Up to `limit` rows of `table`, every column, after the key `after`.
    public func exportRows(table: ExportTable, after: [ExportValue]?, limit: Int,
                           maxBytes: Int = Int.max) throws -> [[ExportValue]] {
        try exportRows(table: table.name, columns: table.columnNames, after: after, limit: limit, maxBytes: maxBytes)
    }
}

/// A database that can be copied whole: hands out one consistent snapshot to read every table from.
public protocol DatabaseExporting {
    /// What messages call the database (a path, or a URL without its password).
    var path: String { get }

    /// Runs `body` with a reader that sees one snapshot of the database for as long as `body` runs.
    func withExportSnapshot<T>(_ body: (any ExportReading) throws -> T) throws -> T
}
