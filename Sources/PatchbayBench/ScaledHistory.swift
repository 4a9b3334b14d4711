import Foundation
import GRDB
import PatchbayStore

/// The large database for 2 million events or more (a whole multiple of a million): the replayed
/// million-event history, multiplied in SQL.
///
/// Replaying history through the API (`HistoryBuilder`) costs about 15 minutes per million events
/// here, so ten million would take two to three hours. This builder replays one million (or reuses
/// that database) and makes `factor` copies of it in a new file with `INSERT … SELECT`:
///
/// - Every row of `events`, `deliveries`, `attempts` and `transitions` becomes `factor` rows, row
///   `id` of the base becoming `id * factor + k` for copy `k` (foreign keys likewise), so ids still
///   grow with time as they do when the hub writes them, and the copies of one moment sit side by side.
/// - Every timestamp of copy `k` is moved `k * 5 s / factor` later, wrapping inside its own minute,
///   so each copy keeps every row in the same minute (and hour) bucket as the original; timestamps
///   at or after the end of the history are left alone, so nothing moves past "now" or across it.
/// - Each order gets a new number per copy (`n * factor + k`) in its correlation id and payload
///   (with the payload hash recomputed), and each idempotency key a `-k` suffix: order groups,
///   correlation lookups and a rare tracking number stay as rare as in the base.
/// - The rollups are the base's multiplied by `factor` (`throughput_minute`, `throughput_hour`,
///   `delivery_counts`, `error_groups` counts), which is exact because no row changes bucket; they
///   are then checked against recounts from the copied tables, since the dashboard trusts them.
/// - Tables are created from the base's own `CREATE` statements, filled with no secondary index and
///   no trigger, then the indexes and triggers are created; the store then opens the file, which runs
///   any migration newer than the base, and the schema is compared with a fresh store's.
///
/// What is representative: the sizes of every table, the shape of the seven days (busy working
/// hours, the CRM outage, the ERP down for the last 12 hours), the share of each state, failures
/// per minute and per connector, index depth and the cost of every scan. What is not: the traffic
/// is ten copies of the same million, so rates per minute are ten times the base's with the same
/// mix, each payload has nine near twins (only the order number differs; contact and stock payloads
/// are identical), error groups hold ten times the occurrences under the same ten signatures,
/// there are ten times as many discarded (1,000), in-flight (2,000) and pending deliveries, and the
/// invoices (10,000) are not multiplied, since aging depends on invoices, not on events.
struct ScaledHistory {
    /// Version 3: the first builder that multiplies. Bump when the copies change.
    static let version = 3
    /// Events in the replayed history that is multiplied.
    static let baseEvents = 1_000_000
    /// The copies of one timestamp are spread over this much time, inside its minute.
    static let spreadMillis = 5_000
    /// Outcome counts (delivered, failed, retried, dead) are recounted from transitions over the
    /// last day, the windows the minute rollup serves; the hour rollup is checked against the minutes.
    static let outcomeRecountMillis: Int64 = 86_400_000

    /// Tables whose rows are copied `factor` times; the rollups are multiplied; the rest is copied once.
    static let multiplied = ["events", "deliveries", "attempts", "transitions"]
    static let rollups = ["throughput_minute", "throughput_hour", "delivery_counts", "error_groups"]

    var events: Int
    var directory: String

    /// Nil when `events` is not a multiple of the base above it: that size is replayed instead.
    init?(events: Int, directory: String) {
        guard events > Self.baseEvents, events % Self.baseEvents == 0 else { return nil }
        self.events = events
        self.directory = directory
    }

    var factor: Int { events / Self.baseEvents }

    var path: String {
        (directory as NSString).appendingPathComponent("patchbay-bench-\(events)-v\(Self.version).sqlite")
    }

    var manifestPath: String { path + ".json" }

    func prepare(rebuild: Bool, report: Report) throws -> HistoryBuilder.Manifest {
        if !rebuild, BenchFiles.exists(path), let data = FileManager.default.contents(atPath: manifestPath),
           let manifest = try? JSONDecoder().decode(HistoryBuilder.Manifest.self, from: data),
           manifest.version == Self.version, manifest.events == events {
            report.emit("  reusing \(path) (\(Format.bytes(BenchFiles.size(path))), \(factor) copies of "
                + "\(Format.count(Self.baseEvents)) events made in " + Format.duration(manifest.buildSeconds)
                + "; --rebuild to make it again)")
            return manifest
        }
        let base = HistoryBuilder(events: Self.baseEvents, directory: directory)
        let baseManifest = try base.prepare(rebuild: false, report: report)
        let building = try BenchFiles.fresh("patchbay-bench-\(events)-v\(Self.version).building.sqlite", in: directory)
        BenchFiles.remove(path)
        try? FileManager.default.removeItem(atPath: manifestPath)
        report.emit("  making \(Format.count(events)) events into \(path): \(factor) copies of \(base.path)")
        let started = Monotonic.now()
        var steps: [String: Double] = [:]
        func step<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            report.progress(name + " …")
            let (value, seconds) = try Monotonic.time(body)
            steps[name] = seconds
            report.progress(name + ": " + Format.duration(seconds) + " (" + Format.duration(Monotonic.now() - started) + " in all)")
            return value
        }

        try multiply(base: base.path, into: building, end: baseManifest.endMillis, step: step)
        let checked = try step("recount the rollups") { try Self.verifyRollups(at: building, end: baseManifest.endMillis) }
        report.emit("  rollups against recounts: " + checked)
        // The store opens it as it opens any older file: migrations newer than the base run now.
        // A fresh store is what the schema must then be.
        let reference = try BenchFiles.fresh("patchbay-bench-schema-check.sqlite", in: directory)
        defer { BenchFiles.remove(reference) }
        _ = try Store.open(at: reference, mode: .create(homeCurrency: "EUR"))
        let done = try Self.migrations(at: building)
        let pending = try Self.migrations(at: reference).filter { !done.contains($0) }
        try step("open with the store (migrations to run: \(pending.isEmpty ? "none" : pending.joined(separator: ", ")))") {
            _ = try Store.open(at: building, mode: .existing, durability: .bulkLoad)
        }
        try step("compare the schema with a fresh store's") { try Self.compareSchema(of: building, with: reference) }
        try step("quick_check") {
            let result = try DatabaseQueue(path: building).read { db in
                try String.fetchAll(db, sql: "PRAGMA quick_check")
            }
            guard result == ["ok"] else {
                throw BenchError("quick_check of \(building): " + result.prefix(5).joined(separator: "; "))
            }
        }
        try DatabaseQueue(path: building).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        BenchFiles.remove(building + "-wal")
        BenchFiles.remove(building + "-shm")
        try FileManager.default.moveItem(atPath: building, toPath: path)
        let manifest = HistoryBuilder.Manifest(
            version: Self.version, events: events, endMillis: baseManifest.endMillis,
            buildSeconds: Monotonic.now() - started, bytes: BenchFiles.size(path),
            method: "\(factor) copies of the replayed \(Format.count(Self.baseEvents))-event history (v\(HistoryBuilder.version))",
            baseBuildSeconds: baseManifest.buildSeconds, steps: steps, rollupCheck: checked)
        try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: manifestPath))
        report.emit("  made in \(Format.duration(manifest.buildSeconds)) (the base took "
            + Format.duration(baseManifest.buildSeconds) + " to replay), \(Format.bytes(manifest.bytes))")
        return manifest
    }

    /// Creates the base's schema in a new file and fills it; indexes and triggers come after the rows.
    private func multiply(base: String, into path: String, end: Int64,
                          step: (String, () throws -> Void) throws -> Void) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        configuration.label = "bench-scaler"
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in
            // A file being made can be made again: no journal, no syncs.
            try db.execute(sql: "ATTACH DATABASE ? AS base", arguments: [base])
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA base.page_size") ?? 4096
            try db.execute(sql: """
                PRAGMA main.page_size = \(pageSize);
                PRAGMA main.journal_mode = OFF;
                PRAGMA main.synchronous = OFF;
                PRAGMA main.cache_size = -1048576;
                """)
            let applicationID = try Int32.fetchOne(db, sql: "PRAGMA base.application_id") ?? 0
            let userVersion = try Int.fetchOne(db, sql: "PRAGMA base.user_version") ?? 0
            let schema = try Row.fetchAll(db, sql: """
                SELECT type, name, sql FROM base.sqlite_master
                WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid
                """)
            func statements(_ type: String) -> [(name: String, sql: String)] {
                schema.filter { ($0["type"] as String?) == type }.map { row -> (name: String, sql: String) in
                    (row["name"], row["sql"])
                }
            }
            try step("create the tables") {
                for table in statements("table") { try db.execute(sql: table.sql) }
                try db.execute(sql: "PRAGMA main.application_id = \(applicationID); PRAGMA main.user_version = \(userVersion)")
            }

            db.add(function: DatabaseFunction("bench_payload_hash", argumentCount: 1, pure: true) { values in
                String.fromDatabaseValue(values[0]).map(Store.payloadHash)
            })
            try db.execute(sql: "CREATE TEMP TABLE copies(k INTEGER PRIMARY KEY, shift INTEGER NOT NULL)")
            for k in 0..<factor {
                try db.execute(sql: "INSERT INTO temp.copies VALUES (?, ?)", arguments: [k, k * Self.spreadMillis / factor])
            }
            for table in statements("table") where !Self.multiplied.contains(table.name) && !Self.rollups.contains(table.name) {
                try step("copy \(table.name)") {
                    try db.execute(sql: "INSERT INTO main.\"\(table.name)\" SELECT * FROM base.\"\(table.name)\"")
                }
            }
            for (table, sql) in copySQL(end: end) {
                try step("copy \(table) ×\(factor)") { try db.execute(sql: sql) }
            }
            try db.execute(sql: "DETACH DATABASE base")
            try step("create the indexes") {
                for index in statements("index") { try db.execute(sql: index.sql) }
            }
            try step("create the triggers") {
                for trigger in statements("trigger") { try db.execute(sql: trigger.sql) }
                for view in statements("view") { try db.execute(sql: view.sql) }
            }
            // The store switches it to WAL when it opens it.
            try db.execute(sql: "PRAGMA main.journal_mode = DELETE")
        }
        try queue.close()
    }

    /// The `INSERT … SELECT` of each multiplied table and rollup, in the order they run.
    private func copySQL(end: Int64) -> [(String, String)] {
        let f = factor
        /// A timestamp of copy `c`, moved within its own minute; at or after the end, unchanged.
        func moved(_ column: String) -> String {
            "CASE WHEN \(column) >= \(end) THEN \(column) ELSE \(column) - \(column) % 60000 + (\(column) % 60000 + c.shift) % 60000 END"
        }
        let isOrder = "e.correlation_id LIKE 'order-%'"
        let order = "substr(e.correlation_id, 7)"
        let payload = "replace(e.payload, \(order), \(order) * \(f) + c.k)"
        return [
            ("events", """
                INSERT INTO main.events(id, topic, source_id, received_at, occurred_at, correlation_id,
                                        idempotency_key, payload, payload_hash)
                SELECT e.id * \(f) + c.k, e.topic, e.source_id, \(moved("e.received_at")), \(moved("e.occurred_at")),
                       CASE WHEN \(isOrder) THEN 'order-' || (\(order) * \(f) + c.k) ELSE e.correlation_id END,
                       e.idempotency_key || '-' || c.k,
                       CASE WHEN \(isOrder) THEN \(payload) ELSE e.payload END,
                       CASE WHEN \(isOrder) THEN bench_payload_hash(\(payload)) ELSE e.payload_hash END
                FROM base.events e CROSS JOIN temp.copies c
                """),
            ("deliveries", """
                INSERT INTO main.deliveries(id, event_id, connector_id, state, attempts, max_attempts, next_attempt_at,
                                            lease_owner, lease_token, lease_expires_at, last_error, last_status,
                                            error_signature, created_at, updated_at)
                SELECT d.id * \(f) + c.k, d.event_id * \(f) + c.k, d.connector_id, d.state, d.attempts, d.max_attempts,
                       \(moved("d.next_attempt_at")), d.lease_owner, d.lease_token, \(moved("d.lease_expires_at")),
                       d.last_error, d.last_status, d.error_signature, \(moved("d.created_at")), \(moved("d.updated_at"))
                FROM base.deliveries d CROSS JOIN temp.copies c
                """),
            ("attempts", """
                INSERT INTO main.attempts(id, delivery_id, number, started_at, duration_ms, outcome, status_code,
                                          error, response_excerpt)
                SELECT a.id * \(f) + c.k, a.delivery_id * \(f) + c.k, a.number, \(moved("a.started_at")), a.duration_ms,
                       a.outcome, a.status_code, a.error, a.response_excerpt
                FROM base.attempts a CROSS JOIN temp.copies c
                """),
            ("transitions", """
                INSERT INTO main.transitions(id, delivery_id, at, from_state, to_state, actor, reason)
                SELECT t.id * \(f) + c.k, t.delivery_id * \(f) + c.k, \(moved("t.at")), t.from_state, t.to_state,
                       t.actor, t.reason
                FROM base.transitions t CROSS JOIN temp.copies c
                """),
            // Rejections are copied once, so their column is not multiplied.
            ("throughput_minute", """
                INSERT INTO main.throughput_minute(bucket, connector_id, received, delivered, failed, retried, dead, rejected)
                SELECT bucket, connector_id, received * \(f), delivered * \(f), failed * \(f), retried * \(f), dead * \(f), rejected
                FROM base.throughput_minute
                """),
            ("throughput_hour", """
                INSERT INTO main.throughput_hour(bucket, connector_id, received, delivered, failed, retried, dead, rejected)
                SELECT bucket, connector_id, received * \(f), delivered * \(f), failed * \(f), retried * \(f), dead * \(f), rejected
                FROM base.throughput_hour
                """),
            ("delivery_counts", """
                INSERT INTO main.delivery_counts(connector_id, state, n)
                SELECT connector_id, state, n * \(f) FROM base.delivery_counts
                """),
            ("error_groups", """
                INSERT INTO main.error_groups(id, connector_id, signature, sample_error, last_status, retrying, dead,
                                              occurrences, first_seen, last_seen)
                SELECT g.id, g.connector_id, g.signature, g.sample_error, g.last_status, g.retrying * \(f), g.dead * \(f),
                       g.occurrences * \(f),
                       (SELECT min(\(moved("g.first_seen"))) FROM temp.copies c),
                       (SELECT max(\(moved("g.last_seen"))) FROM temp.copies c)
                FROM base.error_groups g
                """),
        ]
    }

    /// Recounts every rollup the dashboard reads from the rows it counts (`Store.rollupDifferences`,
    /// per minute over the last day); throws on any difference. Returns what was checked, for the
    /// report and the manifest.
    static func verifyRollups(at path: String, end: Int64) throws -> String {
        let store = try Store.open(at: path, mode: .readOnly)
        let wrong = try store.rollupDifferences(since: Date(millis: end - outcomeRecountMillis))
        guard wrong.isEmpty else { throw BenchError("rollups of \(path) differ from recounts: " + wrong.joined(separator: "; ")) }
        let events = try DatabaseQueue(path: path, configuration: HistoryBuilder.readOnly).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
        }
        return "exact (every counter; per minute over the last 24 h; \(Format.count(events)) events)"
    }

    /// The store's migrations that the file has run.
    static func migrations(at path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
        }
    }

    /// Throws unless the file's schema (every table, index, trigger, as written) is `reference`'s.
    static func compareSchema(of path: String, with reference: String) throws {
        func schema(_ path: String) throws -> [String] {
            try DatabaseQueue(path: path).read { db in
                try String.fetchAll(db, sql: """
                    SELECT type || ' ' || name || ' ON ' || tbl_name || ': ' || coalesce(sql, '')
                    FROM sqlite_master ORDER BY type, name
                    """)
            }
        }
        let made = try schema(path), expected = try schema(reference)
        guard made == expected else {
            let missing = expected.filter { !made.contains($0) }, extra = made.filter { !expected.contains($0) }
            throw BenchError("the schema of \(path) is not a fresh store's; missing: "
                + missing.joined(separator: " | ") + "; extra: " + extra.joined(separator: " | "))
        }
    }
}
