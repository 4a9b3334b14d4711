import Foundation
import PatchbayPostgres
import PatchbayStore
import Testing
import TestSupport

/// `patchbay replay` through the real binary, on a SQLite file and on PostgreSQL.
@Suite("patchbay replay", .serialized)
struct ReplayCommandTests {
    enum Kind: String, CaseIterable { case sqlite, postgres }

    static var kinds: [Kind] {
        let url = ProcessInfo.processInfo.environment["PATCHBAY_TEST_POSTGRES_URL"] ?? ""
        return !url.isEmpty || ProcessInfo.processInfo.environment["CI"] != nil ? Kind.allCases : [.sqlite]
    }

    /// `shop` → `erp` (3 order_created: 1 delivered, 1 dead, 1 pending; 1 refund_issued delivered),
    /// and `warehouse`, a sink that never had any. Returns the --db value and a cleanup.
    private func database(_ kind: Kind, _ directory: TemporaryDirectory) throws -> (db: String, cleanup: () -> Void) {
        let store: any EventIngest & DeliveryQueue & ConnectorCatalog
        let db: String
        var cleanup: () -> Void = {}
        switch kind {
        case .sqlite:
            db = directory.path("hub.sqlite")
            store = try Store.open(at: db, mode: .create(homeCurrency: "EUR"))
        case .postgres:
            let server = try PostgresLocation(url: ProcessInfo.processInfo.environment["PATCHBAY_TEST_POSTGRES_URL"] ?? "")
            let name = "pb_replay_cli_\(UInt32.random(in: 0...UInt32.max))"
            let location = try PostgresAdmin.createDatabase(name, on: server)
            let postgres = try PostgresStore.open(location, mode: .create(homeCurrency: "EUR"), maxConnections: 2)
            store = postgres
            db = location.description
            cleanup = {
                postgres.close()
                try? PostgresAdmin.dropDatabase(name, on: server)
            }
        }
        let shop = try store.saveConnector(ConnectorSpec(name: "shop", module: "webhook", pattern: .event, system: "Shop",
                                                         direction: .source)).id
        let erp = try store.saveConnector(ConnectorSpec(name: "erp", module: "http", pattern: .event, system: "ERP",
                                                        direction: .sink, maxAttempts: 1)).id
        _ = try store.saveConnector(ConnectorSpec(name: "warehouse", module: "http", pattern: .event, system: "WMS",
                                                  direction: .sink, maxAttempts: 5))
        let now = Date()
        let events = ["o1", "o2", "o3"].map { key in
            NewEvent(topic: "order_created", sourceId: shop, idempotencyKey: key, payload: #"{"order":"\#(key)"}"#,
                     receivedAt: now.addingTimeInterval(-3600), targets: [DeliveryTarget(connectorId: erp, maxAttempts: 1)])
        } + [NewEvent(topic: "refund_issued", sourceId: shop, idempotencyKey: "r1", payload: #"{"refund":"r1"}"#,
                      receivedAt: now.addingTimeInterval(-3600), targets: [DeliveryTarget(connectorId: erp, maxAttempts: 1)])]
        _ = try store.ingest(events)
        let claims = try store.claimDueDeliveries(connector: erp, limit: 2, lease: 60, owner: "t", now: now)
        _ = try store.record(claims.enumerated().map { index, claim in
            DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: index == 0 ? .delivered : .dead,
                            startedAt: now, durationMs: 5, statusCode: index == 0 ? 200 : 400, error: index == 0 ? nil : "HTTP 400",
                            errorSignature: index == 0 ? nil : "HTTP 400")
        }, now: now)
        return (db, cleanup)
    }

    @Test("--dry-run counts and changes nothing; the replay requeues the finished ones and backfills a new sink",
          arguments: kinds)
    func replayThroughTheBinary(kind: Kind) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (db, cleanup) = try database(kind, directory)
        defer { cleanup() }

        let dry = try BinaryRunner.run(["replay", "--db", db, "--to", "erp", "--topic", "order_created", "--since", "1d",
                                        "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout == "Would replay 2 to 'erp' (3 events matched: 2 sent again, 0 new, 1 already queued). "
                + "Nothing was changed; run without --dry-run to replay.\n")
        let again = try BinaryRunner.run(["replay", "--db", db, "--to", "erp", "--topic", "order_created", "--since", "1d",
                                          "--dry-run"])
        #expect(again.stdout == dry.stdout, "a dry run changed something")

        let done = try BinaryRunner.run(["replay", "--db", db, "--to", "erp", "--topic", "order_created", "--since", "1d",
                                         "--reason", "mapping fixed", "--json"])
        #expect(done.status == 0, "\(done.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(done.stdout.utf8)) as? [String: Any])
        #expect(json["dry_run"] as? Bool == false && json["matched"] as? Int == 3 && json["new"] as? Int == 0)
        #expect((json["requeued"] as? [Int])?.count == 2 && (json["skipped"] as? [Any])?.count == 1)

        let backfill = try BinaryRunner.run(["replay", "--db", db, "--to", "warehouse", "--since",
                                             ISO8601DateFormatter().string(from: Date().addingTimeInterval(-86400))])
        #expect(backfill.status == 0, "\(backfill.stderr)")
        #expect(backfill.stdout == "Replayed 4 to 'warehouse' (4 events matched: 0 sent again, 4 new, 0 already queued).\n")
    }

    @Test("a replay without a condition, to a source, or with a bad time is refused with why", arguments: kinds)
    func refusals(kind: Kind) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (db, cleanup) = try database(kind, directory)
        defer { cleanup() }
        let unbounded = try BinaryRunner.run(["replay", "--db", db, "--to", "erp"])
        #expect(unbounded.status == 64 && unbounded.stderr.contains("name what to replay"), "\(unbounded.stderr)")
        let source = try BinaryRunner.run(["replay", "--db", db, "--to", "shop", "--since", "1d"])
        #expect(source.status == 1 && source.stderr.contains("'shop' is a source"), "\(source.stderr)")
        let badTime = try BinaryRunner.run(["replay", "--db", db, "--to", "erp", "--since", "last monday"])
        #expect(badTime.status == 64 && badTime.stderr.contains("--since"), "\(badTime.stderr)")
    }
}
