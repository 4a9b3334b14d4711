import Foundation
import GRDB
import PatchbayStore

/// The ceilings: plain INSERTs of an event-like row into a bare table (no index, no trigger, no
/// check), WAL and `synchronous = FULL` like the store, through GRDB directly; and the store's own
/// schema filled by SQL alone, the most any code could get through its tables and indices.
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

    /// The store's schema (every index and CHECK), events and their two deliveries inserted by
    /// `INSERT … SELECT` from rows staged beforehand in a temporary table, 1,000 events per durable
    /// transaction, with the store's pragmas. No Swift runs per row and no counter is kept: what
    /// SQLite alone costs for these tables on this machine, the ceiling for `Store.ingest`. Like the
    /// ingest benchmark's last mode, the timed 100,000 go into a file that holds 125,000 already.
    func schemaCeiling(_ report: inout Report) throws {
        report.section("Ceiling on the store's schema: SQL alone, 1,000 events per transaction, 2 deliveries each")
        let path = try BenchFiles.fresh("schema-ceiling.sqlite", in: directory)
        defer { BenchFiles.remove(path) }
        let connectors: BenchConnectors
        do {
            let store = try Store.open(at: path, mode: .create(homeCurrency: "EUR"))
            connectors = try BenchConnectors.create(in: store, sinks: 2)
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 8192")
        }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        var factory = EventFactory(seed: 7)
        let (untimed, count, batch) = (125_000, 225_000, 1000)
        let events = connectors.events(count, factory: &factory)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TEMP TABLE staged (n INTEGER PRIMARY KEY, topic TEXT, source_id INTEGER, received_at INTEGER,
                  occurred_at INTEGER, correlation_id TEXT, idempotency_key TEXT, payload TEXT, payload_hash TEXT)
                """)
            let stage = try db.cachedStatement(sql: "INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            for (n, event) in events.enumerated() {
                try stage.execute(arguments: [n, event.topic, event.sourceId, event.receivedAt.millis,
                                              event.occurredAt?.millis, event.correlationId, event.idempotencyKey,
                                              event.payload, Store.payloadHash(event.payload)])
            }
        }
        var done = 0
        var started = Monotonic.now()
        while done < count && Monotonic.now() - started < 30 {
            if done == untimed { started = Monotonic.now() }
            try queue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    let first = (try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0) + 1
                    try db.execute(sql: """
                        INSERT INTO events(topic, source_id, received_at, occurred_at, correlation_id, idempotency_key,
                                           payload, payload_hash)
                        SELECT topic, source_id, received_at, occurred_at, correlation_id, idempotency_key, payload,
                               payload_hash
                        FROM staged WHERE n >= ? AND n < ? ORDER BY n
                        """, arguments: [done, done + batch])
                    try db.execute(sql: """
                        INSERT INTO deliveries(event_id, connector_id, state, max_attempts, next_attempt_at,
                                               created_at, updated_at)
                        SELECT e.id, c.id, 'pending', 20, e.received_at, e.received_at, e.received_at
                        FROM events e JOIN connectors c ON c.direction = 'sink'
                        WHERE e.id >= ? ORDER BY e.id, c.id
                        """, arguments: [first])
                    return .commit
                }
            }
            done += batch
        }
        let rate = Rate(items: done - untimed, seconds: Monotonic.now() - started)
        var table = TextTable(headers: ["events", "time", "events/s", "deliveries/s"], rightAligned: [0, 1, 2, 3])
        table.add([Format.count(done - untimed), Format.duration(rate.seconds), Format.rate(rate.perSecond),
                   Format.rate(rate.perSecond * 2)])
        report.emit(table.render())
        report.record("raw SQLite", "store's schema by SQL alone, 1000 per transaction", Format.rate(rate.perSecond))
    }
}
