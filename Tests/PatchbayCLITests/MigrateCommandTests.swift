import Foundation
import PatchbayHub
import PatchbayPostgres
import PatchbayStore
import TestSupport
import Testing

/// `patchbay migrate`: a SQLite database with real traffic, copied whole into a new PostgreSQL
/// database through the built binary, then read back on both sides.
///
/// Runs where `PATCHBAY_TEST_POSTGRES_URL` names a server whose user may create databases; in CI
/// (`CI` set) it must run, and a missing server fails it instead of skipping it.
@Suite("patchbay migrate: SQLite into PostgreSQL", .serialized)
struct MigrateCommandTests {
    static let serverURL = ProcessInfo.processInfo.environment["PATCHBAY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let runs = serverURL != nil || ProcessInfo.processInfo.environment["CI"] != nil

    /// 2026-11-18 12:00:00 UTC.
    static let now = Date(millis: 1_795_003_200_000)

    static func server() throws -> PostgresLocation {
        let url = try #require(serverURL, "PATCHBAY_TEST_POSTGRES_URL is not set: CI must start PostgreSQL (scripts/postgres-cluster.sh)")
        return try PostgresLocation(url: url)
    }

    /// A new database on the test server; `drop` removes it.
    static func makeDatabase(_ server: PostgresLocation) throws -> (location: PostgresLocation, drop: () -> Void) {
        let name = "pb_migrate_\(UInt64.random(in: 0...UInt64.max))"
        let location = try PostgresAdmin.createDatabase(name, on: server)
        return (location, { try? PostgresAdmin.dropDatabase(name, on: server) })
    }

    /// `location` as a URL carrying a password: the server's own when it has one (or $PGPASSWORD),
    /// else a made-up one (a server that trusts the user ignores it).
    static func url(_ location: PostgresLocation) -> (url: String, password: String) {
        let password = location.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "Pw\(UInt32.random(in: 100_000...UInt32.max))Secret"
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
        var url = "postgres://\(location.user):\(encoded)@\(location.host):\(location.port)/\(location.database)"
        if location.tls != .disable { url += "?sslmode=\(location.tls.rawValue)" }
        return (url, password)
    }

    static func expectNoPassword(_ result: BinaryRunner.Result, _ password: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
        for text in [result.stdout, result.stderr] {
            #expect(!text.contains(password), "the password was printed: \(text)", sourceLocation: sourceLocation)
            #expect(!text.contains(encoded), "the password was printed: \(text)", sourceLocation: sourceLocation)
        }
    }

    /// Two days of seeded traffic plus everything else a hub writes: failures grouped by error, an
    /// operator's retries, discards and a move to another connector, deliveries in flight, nightly
    /// invoice imports and a failed batch run, refused webhooks, a signed body, a paused and an
    /// orphaned connector.
    static func seed(_ store: Store) throws {
        try Seeder(options: .init(events: 1200, days: 2, seed: 7, now: now)).run(on: store)
        try InvoiceSeeder(seed: 7, now: now, invoices: 40, nights: 3).run(on: store)
        let shop = try #require(try store.connector(named: "shopify-orders"))
        let xero = try #require(try store.connector(named: "xero-invoices"))
        _ = try store.recordFailedBatchRun(job: "erp-stock-export", connector: nil, rowsRead: 12,
                                           error: "stock.csv:13: quantity 'lots' is not a number", now: now)
        try store.recordRejections([
            NewRejection(connectorId: shop.id, receivedAt: now.addingTimeInterval(-300), status: 401,
                         reason: "header X-Shopify-Hmac-Sha256: no signature matched", remote: "203.0.113.9",
                         path: "/webhooks/shop", bodyBytes: 1191, bodyExcerpt: "{\"id\":1}"),
            NewRejection(connectorId: nil, receivedAt: now.addingTimeInterval(-200), status: 404,
                         reason: "no source listens on /webhooks/nope", remote: nil, path: "/webhooks/nope",
                         bodyBytes: 0, bodyExcerpt: nil),
        ])
        _ = try store.ingest([NewEvent(
            topic: "order_created", sourceId: shop.id, idempotencyKey: "signed-1",
            payload: #"{"id": 77, "note": "keys  stay in order", "total": "12.50", "€": true}"#,
            receivedAt: now.addingTimeInterval(-100), correlationId: "order-77",
            targets: [DeliveryTarget(connectorId: xero.id, maxAttempts: 5)],
            replayGuard: ReplayGuard(digest: "sha256:abc123", window: 86_400))])
        try store.setPaused("erp-sync", paused: true, reason: "ERP maintenance until Monday")
        // An alert (one resolved, one firing), a breaker's pause and a run-now request travel too.
        let fired = try store.fireAlert(AlertFinding(rule: "xero-failing", kind: .connectorFailing, subject: "xero-invoices",
                                                     summary: "xero-invoices has had no success for 12m", value: "12m",
                                                     threshold: "10m"), now: now.addingTimeInterval(-600))
        try store.updateAlert(fired.id, summary: "xero-invoices has had no success for 13m", value: "13m", notified: true,
                              now: now.addingTimeInterval(-540))
        try store.resolveAlert(fired.id, summary: "resolved", now: now.addingTimeInterval(-60))
        _ = try store.fireAlert(AlertFinding(rule: "dead", kind: .deadLetters, subject: "*", summary: "9 dead"), now: now)
        _ = try store.tripBreaker(connector: xero.id, reason: "paused by the breaker: the last 20 attempts failed", now: now)
        try store.requestBatchRun(job: "erp-stock-export", now: now)
        // OAuth tokens (v9) with a refresh lease held: they travel with their version and lease.
        try store.seedRefreshToken(connector: xero.id, refreshToken: "refresh-seeded", now: now)
        _ = try store.acquireRefreshLease(connector: xero.id, owner: "node-a", until: now.addingTimeInterval(30), now: now)
        let everyone = Set(try store.connectors().map(\.name)).subtracting(["reporting-warehouse"])
        _ = try store.markOrphanedConnectors(configured: everyone, now: now)

        let dead = try store.failedDeliveries(FailureFilter(states: [.dead]), limit: 6)
        try #require(dead.count == 6, "the seed has dead deliveries")
        _ = try store.retry([dead[0].id, dead[1].id], reason: "fixed the mapping", now: now)
        _ = try store.discard([dead[2].id], reason: "duplicate order", now: now)
        _ = try store.retarget([dead[3].id], to: dead[3].connector == "erp-sync" ? "crm-sync" : "erp-sync",
                               reason: "moved", now: now)
        // An attempt with a note and a connector's API quota reading (v10) travel too.
        let noted = try #require(try store.claimDueDeliveries(connector: nil, limit: 1, lease: 120, owner: "node-b", now: now).first)
        #expect(try store.record([DeliveryOutcome(deliveryId: noted.deliveryId, leaseToken: noted.leaseToken, result: .delivered,
                                                  startedAt: now, durationMs: 80, statusCode: 200,
                                                  note: "OAuth token refreshed before sending")], now: now)
                == [.recorded(.delivered)])
        try store.recordQuota(APIQuota(connector: xero.id, dayRemaining: 4_812, dayLimit: 5_000, minuteRemaining: 57,
                                       appMinuteRemaining: 9_940, observedAt: now.millis))
        _ = try store.claimDueDeliveries(connector: nil, limit: 3, lease: 120, owner: "node-a", now: now)
    }

    /// Every row of `table` on both sides, value for value.
    static func expectSameRows(_ table: ExportTable, _ source: some ExportReading, _ target: some ExportReading)
        throws -> Int {
        var after: [ExportValue]?
        var compared = 0
        let keys = table.key.map { table.columnNames.firstIndex(of: $0)! }
        while true {
            let a = try source.exportRows(table: table, after: after, limit: 2000)
            let b = try target.exportRows(table: table, after: after, limit: 2000)
            #expect(a.count == b.count, "\(table)")
            for (x, y) in zip(a, b) where x != y {
                Issue.record("\(table): source \(x) target \(y)")
            }
            guard let last = a.last, a == b else { return compared + a.count }
            compared += a.count
            after = keys.map { last[$0] }
        }
    }

    @Test("copies every table with its ids, checks the copy, refuses a second copy; no password is printed",
          .enabled(if: runs))
    func copiesEverything() throws {
        let server = try Self.server()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("hub.sqlite")
        let source = try Store.open(at: path, mode: .create(homeCurrency: "EUR"))
        try Self.seed(source)

        let counts = try source.exportCounts()
        let states = Set(try source.exportRows(table: "deliveries", columns: ["id", "state"], afterId: nil, limit: 100_000)
            .map { $0[1] })
        #expect(states.count == 6, "deliveries in every state: \(states)")
        for table in ExportTable.all {
            #expect(counts[table.name, default: 0] > 0, "the seed writes \(table)")
        }
        #expect(try source.rollupDifferences(since: Date(millis: 0)) == [])

        let (location, drop) = try Self.makeDatabase(server)
        defer { drop() }
        let (url, password) = Self.url(location)
        let result = try BinaryRunner.run(["migrate", "--from", path, "--to", url])
        #expect(result.status == 0, "\(result.stderr)")
        Self.expectNoPassword(result, password)
        #expect(result.stdout.contains(location.description))
        for table in ExportTable.all {
            let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("  \(table.name) ") }
            #expect(line?.hasSuffix(" \(counts[table.name]!) rows") == true, "\(table): \(line ?? "no line")\n\(result.stdout)")
        }
        #expect(result.stdout.contains("Checked: row counts equal in all \(ExportTable.all.count) tables"), "\(result.stdout)")
        #expect(result.stdout.contains("rollupDifferences: none"), "\(result.stdout)")
        #expect(result.stdout.contains("Migrated "))

        let target = try PostgresStore.open(location, maxConnections: 2)
        defer { target.close() }
        #expect(try target.exportCounts() == counts)
        #expect(target.homeCurrency == "EUR")
        // Every row of every table, value for value (booleans as 0/1, json as its text).
        for table in ExportTable.all {
            #expect(try Self.expectSameRows(table, source, target) == counts[table.name]!, "\(table)")
        }
        // A few rows through each backend's own reads.
        #expect(try target.connectors() == source.connectors())
        let paused = try #require(try target.connector(named: "erp-sync"))
        #expect(paused.paused && paused.pausedReason == "ERP maintenance until Monday")
        let eventIds = try source.exportRows(table: "events", columns: ["id"], afterId: nil, limit: 100_000).map { row in
            if case .integer(let id) = row[0] { return id } else { return 0 }
        }
        let lastEvent = try #require(eventIds.last)
        for id in [eventIds[0], eventIds[eventIds.count / 2], lastEvent] {
            let copied = try #require(try target.eventDetail(id))
            #expect(copied == (try source.eventDetail(id)), "event \(id)")
        }
        // The signed event, last in: its payload byte for byte (json keeps spacing and key order).
        let signed = try #require(try target.eventDetail(lastEvent))
        #expect(signed.event.payload == #"{"id": 77, "note": "keys  stay in order", "total": "12.50", "€": true}"#)
        #expect(try target.errorGroups(limit: 1000).sorted { $0.id < $1.id }
                == source.errorGroups(limit: 1000).sorted { $0.id < $1.id })
        #expect(try target.batchRuns(limit: 100).sorted { $0.id < $1.id } == source.batchRuns(limit: 100).sorted { $0.id < $1.id })
        #expect(try target.rejections(limit: 100).sorted { $0.id < $1.id } == source.rejections(limit: 100).sorted { $0.id < $1.id })
        #expect(try target.quotas() == source.quotas())
        #expect(try source.quotas().count == 1)
        let noted = try source.exportRows(table: "attempts", columns: ["id", "delivery_id", "note"], afterId: nil, limit: 100_000)
            .filter { $0[2] != .null }
        #expect(noted.map { $0[2] } == [.text("OAuth token refreshed before sending")])
        if case .integer(let delivery)? = noted.first?[1] {
            let attempts = try target.attempts(delivery: delivery)
            #expect(attempts == (try source.attempts(delivery: delivery)))
            #expect(attempts.last?.note == "OAuth token refreshed before sending")
        }
        // The counters: row for row above; recounted from the rows here.
        #expect(try target.rollupDifferences(since: Date(millis: 0)) == [])
        #expect(try target.deliveryCountsByConnector() == source.deliveryCountsByConnector())

        // A second copy into the same, now full, database is refused and writes nothing.
        let again = try BinaryRunner.run(["migrate", "--from", path, "--to", url])
        #expect(again.status == 1)
        Self.expectNoPassword(again, password)
        #expect(again.stderr.contains("already holds Patchbay data"), "\(again.stderr)")
        #expect(again.stderr.contains("connectors") && again.stderr.contains("events"), "\(again.stderr)")
        #expect(again.stderr.contains("nothing was written"), "\(again.stderr)")
        #expect(try target.exportCounts() == counts)

        // Each identity sequence continues past the largest id copied.
        let maxConnector = try source.connectors().map(\.id).max()!
        let added = try target.saveConnector(ConnectorSpec(name: "new-after-migrate", module: "http", pattern: .hub,
                                                           system: "ERP", direction: .sink), now: Self.now)
        #expect(added.id == maxConnector + 1)
        let shop = try #require(try target.connector(named: "shopify-orders"))
        let stored = try target.ingest([NewEvent(topic: "order_created", sourceId: shop.id, idempotencyKey: "after-migrate",
                                                 payload: "{}", receivedAt: Self.now, targets: [])])
        #expect(stored.first?.eventId == lastEvent + 1)
    }

    @Test("a failed check rolls the whole copy back", .enabled(if: runs))
    func failedCheckRollsBack() throws {
        let server = try Self.server()
        let (source, dir) = try makeTestStore(homeCurrency: "EUR")
        defer { dir.remove() }
        try Seeder(options: .init(events: 200, days: 1, seed: 3, now: Self.now)).run(on: source)
        let (location, drop) = try Self.makeDatabase(server)
        defer { drop() }
        let target = try PostgresStore.open(location, mode: .create(homeCurrency: "EUR"), maxConnections: 2)
        defer { target.close() }

        let report = try target.importDatabase(from: Miscounting(store: source), rowsPerStatement: 50)
        #expect(!report.committed)
        #expect(report.problems.contains { $0.hasPrefix("events: ") }, "\(report.problems)")
        let counts = try target.exportCounts()
        for table in ExportTable.all where table.name != "settings" {
            #expect(counts[table.name] == 0, "\(table) after a rolled-back copy")
        }
        // The same source, counted honestly, copies (the failed attempt left nothing in the way).
        let copied = try target.importDatabase(from: source, rowsPerStatement: 50)
        #expect(copied.committed && copied.problems.isEmpty, "\(copied.problems)")
        #expect(try target.exportCounts() == source.exportCounts())
    }

    @Test("a password in --to never appears in what migrate prints, whatever fails", .enabled(if: runs))
    func passwordNeverPrinted() throws {
        let server = try Self.server()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("hub.sqlite")
        let source = try Store.open(at: path, mode: .create(homeCurrency: "EUR"))
        _ = try source.saveConnector(ConnectorSpec(name: "shop", module: "webhook", pattern: .pointToPoint,
                                                   system: "Shopify", direction: .source))
        let password = "Hunter2Migrate"
        let user = server.user
        for url in [
            "postgres://\(user):\(password)@\(server.host):\(server.port)/pb_migrate_missing_\(UInt32.random(in: 0...UInt32.max))",
            "postgres://\(user):\(password)@127.0.0.1:1/db",
            "postgres://\(user):\(password)@\(server.host):\(server.port)/db?fallback=1",
            "postgres://\(user):\(password)@/db",
        ] {
            let result = try BinaryRunner.run(["migrate", "--from", path, "--to", url])
            #expect(result.status != 0, "\(url)")
            #expect(!result.stderr.isEmpty)
            Self.expectNoPassword(result, password)
        }
        // A source that is not there: refused before anything is written, without the password.
        let (location, drop) = try Self.makeDatabase(server)
        defer { drop() }
        let (url, real) = Self.url(location)
        let result = try BinaryRunner.run(["migrate", "--from", dir.path("nope.sqlite"), "--to", url])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no such database"), "\(result.stderr)")
        Self.expectNoPassword(result, real)
    }
}

/// An export that says the source has one event more than it has: the copy's count check fails.
private struct Miscounting: DatabaseExporting {
    let store: Store
    var path: String { store.path }

    func withExportSnapshot<T>(_ body: (any ExportReading) throws -> T) throws -> T {
        try store.withExportSnapshot { reader in try body(Reader(reader: reader)) }
    }

    struct Reader: ExportReading {
        let reader: any ExportReading

        func exportRows(table: String, columns: [String], after: [ExportValue]?, limit: Int, maxBytes: Int) throws
            -> [[ExportValue]] {
            try reader.exportRows(table: table, columns: columns, after: after, limit: limit, maxBytes: maxBytes)
        }

        func exportCounts() throws -> [String: Int] {
            var counts = try reader.exportCounts()
            counts["events", default: 0] += 1
            return counts
        }

        func rollupDifferences(since: Date) throws -> [String] { try reader.rollupDifferences(since: since) }
    }
}
