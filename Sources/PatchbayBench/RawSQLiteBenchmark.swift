import Foundation
import GRDB
import PatchbayStore

/// The ceiling: plain INSERTs of an event-like row into a bare table (no index, no trigger, no
/// check), WAL and `synchronous = FULL` like the store, through GRDB directly.
struct RawSQLiteBenchmark {
    var directory: String

    static let modes: [(batch: Int, rows: Int, budget: Double)] = [(1, 5_000, 10), (1000, 100_000, 20)]

    func run(_ report: inout Report) throws {
        report.section("Raw SQLite ceiling: INSERT into a bare table, WAL, synchronous = FULL")
        let path = try BenchFiles.fresh("raw.sqlite", in: directory)
        defer { BenchFiles.remove(path) }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: """
                CREATE TABLE raw_events (
                  id INTEGER PRIMARY KEY, topic TEXT, source_id INTEGER, received_at INTEGER, occurred_at INTEGER,
                  correlation_id TEXT, idempotency_key TEXT, payload TEXT, payload_hash TEXT)
                """)
        }

        var factory = EventFactory(seed: 6)
        var table = TextTable(headers: ["rows per transaction", "rows", "time", "rows/s", "per commit"],
                              rightAligned: [0, 1, 2, 3, 4])
        for mode in Self.modes {
            let now = Date().millis
            let rows: [StatementArguments] = (0..<mode.rows).map { index in
                let order = factory.nextOrder()
                let payload = factory.payload(topic: "orders/create", order: order, millis: now + Int64(index))
                return ["orders/create", 1, now + Int64(index), now + Int64(index) - 800, "order-\(order)",
                        factory.webhookId(), payload, Store.payloadHash(payload)]
            }
            var done = 0
            var commits = 0
            let started = Monotonic.now()
            while done < rows.count && Monotonic.now() - started < mode.budget {
                let upper = min(rows.count, done + mode.batch)
                try queue.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        let insert = try db.cachedStatement(sql: """
                            INSERT INTO raw_events(topic, source_id, received_at, occurred_at, correlation_id,
                                                   idempotency_key, payload, payload_hash)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                            """)
                        for row in rows[done..<upper] { try insert.execute(arguments: row) }
                        return .commit
                    }
                }
                done = upper
                commits += 1
            }
            let rate = Rate(items: done, seconds: Monotonic.now() - started)
            table.add([Format.count(mode.batch), Format.count(done), Format.duration(rate.seconds),
                       Format.rate(rate.perSecond), Format.duration(rate.seconds / Double(max(1, commits)))])
            report.record("raw SQLite", mode.batch == 1 ? "INSERT, 1 per transaction" : "INSERT, \(mode.batch) per transaction",
                          Format.rate(rate.perSecond))
        }
        report.emit(table.render())
    }
}
