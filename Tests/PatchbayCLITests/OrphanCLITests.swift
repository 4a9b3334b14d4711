import Foundation
import PatchbayStore
import Testing
import TestSupport

/// `check`, `status`, `retry --to` and `discard --all --connector` on a database whose connector
/// `old-erp` was removed from the configuration, through the real binary.
@Suite("Orphaned connectors from the command line", .serialized)
struct OrphanCLITests {
    /// A database with `shop` (source), `old-erp` and `new-erp` (sinks): old-erp holds 2 pending,
    /// 3 retrying and 1 dead delivery; new-erp one delivered.
    private func strandedDatabase(_ directory: TemporaryDirectory) throws -> (path: String, oldIds: [DeliveryID]) {
        let path = directory.path("hub.sqlite")
        let store = try Store.open(at: path, mode: .create(homeCurrency: "EUR"))
        let shop = try store.saveConnector(ConnectorSpec(name: "shop", module: "webhook", pattern: .hub, system: "Shop", direction: .source)).id
        let old = try store.saveConnector(ConnectorSpec(name: "old-erp", module: "http", pattern: .hub, system: "ERP", direction: .sink)).id
        let new = try store.saveConnector(ConnectorSpec(name: "new-erp", module: "http", pattern: .hub, system: "ERP", direction: .sink)).id
        let now = Date()
        var ids: [DeliveryID] = []
        for n in 0..<6 {
            let result = try store.ingest(NewEvent(topic: "order_created", sourceId: shop, idempotencyKey: "k\(n)",
                                                   payload: #"{"n":\#(n)}"#, receivedAt: now,
                                                   targets: [DeliveryTarget(connectorId: old, maxAttempts: 5)]))
            guard case .accepted(_, let deliveries) = result else { throw StoreError.invalidInput("\(result)") }
            ids += deliveries
        }
        let claims = try store.claimDueDeliveries(connector: old, limit: 4, lease: 60, owner: "t", now: now)
        _ = try store.record(claims.enumerated().map { index, claim in
            DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken,
                            result: index == 0 ? .dead : .retry(at: now.addingTimeInterval(3600)), startedAt: now,
                            durationMs: 5, statusCode: 503, error: "HTTP 503", errorSignature: "HTTP 503")
        }, now: now)
        let mine = try store.ingest(NewEvent(topic: "order_created", sourceId: shop, idempotencyKey: "mine", payload: "{}",
                                             receivedAt: now, targets: [DeliveryTarget(connectorId: new, maxAttempts: 5)]))
        _ = mine
        return (path, ids)
    }

    private func writeConfig(_ directory: TemporaryDirectory, database: String?) throws -> String {
        let path = directory.path("hub.yaml")
        try """
            \(database.map { "database: \($0)" } ?? "")
            connectors:
              shop: {module: webhook, signature: none}
              new-erp: {module: http, url: "http://127.0.0.1:9/erp", subscribe: [order_created]}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("check warns about a connector with unfinished deliveries that the configuration lacks, and exits 0")
    func checkWarnsWithCounts() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (db, _) = try strandedDatabase(directory)
        let config = try writeConfig(directory, database: "hub.sqlite")
        let warning = "warning: connector 'old-erp' is not in this configuration but has 5 unfinished deliveries "
            + "(2 pending, 3 retrying; 1 dead); they will not be sent: retry them to another connector "
            + "(patchbay retry --all --connector old-erp --to NEW --db \(db)) "
            + "or discard them (patchbay discard --all --connector old-erp --db \(db))"

        // The file's `database:`, relative to the file.
        let fromFile = try BinaryRunner.run(["check", "--config", config], cwd: URL(fileURLWithPath: "/"))
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(fromFile.stdout.contains("OK"))
        #expect(fromFile.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("warning:") } == [warning])

        // --db, and $PATCHBAY_DB (the default for the commands: no --db in them).
        let noDatabase = try writeConfig(directory, database: nil)
        let flag = try BinaryRunner.run(["check", "--config", noDatabase, "--db", db])
        #expect(flag.status == 0 && flag.stdout.contains(warning))
        let env = try BinaryRunner.run(["check", "--config", noDatabase], environment: ["PATCHBAY_DB": db])
        #expect(env.status == 0)
        #expect(env.stdout.contains("--to NEW) or discard them (patchbay discard --all --connector old-erp)"), "\(env.stdout)")

        // No database there: nothing to compare, no warning. A configuration error still exits 1.
        let none = try BinaryRunner.run(["check", "--config", noDatabase, "--db", directory.path("missing.sqlite")])
        #expect(none.status == 0 && !none.stdout.contains("warning"))
        #expect(!FileManager.default.fileExists(atPath: directory.path("missing.sqlite")))
        try "connectors:\n  x: {module: nope}\n".write(toFile: directory.path("bad.yaml"), atomically: true, encoding: .utf8)
        #expect(try BinaryRunner.run(["check", "--config", directory.path("bad.yaml"), "--db", db]).status == 1)
    }

    @Test("status shows orphaned after run; retry --to moves once; discard --all --connector ends the rest")
    func statusRetryToAndDiscard() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (db, oldIds) = try strandedDatabase(directory)
        let config = try writeConfig(directory, database: "hub.sqlite")

        // `run` marks old-erp orphaned and logs the warning on stderr.
        let hub = try BinaryRunner.start(["run", "--config", config, "--listen", "127.0.0.1:0", "--db", db])
        var health: [String: String] = [:]
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let status = try BinaryRunner.run(["status", "--json", "--db", db])
            if status.status == 0, let rows = try? jsonArray(status.stdout) {
                health = Dictionary(uniqueKeysWithValues: rows.map { ($0["connector"] as! String, $0["health"] as! String) })
                if health["old-erp"] == "orphaned" { break }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        hub.process.terminate()
        let ran = hub.finish()
        #expect(health["old-erp"] == "orphaned")
        #expect(health["new-erp"] != "orphaned" && health["shop"] != "orphaned")
        #expect(ran.stderr.contains("connector 'old-erp' is not in this configuration but has 5 unfinished deliveries"),
                "\(ran.stderr)")
        let table = try BinaryRunner.run(["status", "--db", db])
        #expect(table.stdout.contains("old-erp is orphaned"))

        // Moving to a connector that is not a sink, or to nowhere, is refused.
        #expect(try BinaryRunner.run(["retry", "--all", "--connector", "old-erp", "--to", "shop", "--db", db]).status == 1)
        #expect(try BinaryRunner.run(["retry", "--all", "--to", "new-erp", "--db", db]).status == 64)

        // The failing ones by id, then the rest by connector; twice: requeued once.
        let byId = try BinaryRunner.run(["retry", "\(oldIds[0])", "\(oldIds[1])", "--to", "new-erp", "--json", "--db", db])
        #expect(byId.status == 0, "\(byId.stderr)")
        let all = try BinaryRunner.run(["retry", "--all", "--connector", "old-erp", "--to", "new-erp", "--db", db])
        #expect(all.status == 0 && all.stdout.contains("Moved to 'new-erp' and requeued 4 deliveries."), "\(all.stdout)")
        let twice = try BinaryRunner.run(["retry", "--all", "--connector", "old-erp", "--to", "new-erp", "--json", "--db", db])
        #expect(twice.status == 0, "\(twice.stderr)")
        let second = try JSONSerialization.jsonObject(with: Data(twice.stdout.utf8)) as? [String: Any]
        #expect((second?["requeued"] as? [Any])?.isEmpty == true, "\(twice.stdout)")
        let again = try BinaryRunner.run(["retry", "\(oldIds[0])", "--to", "new-erp", "--db", db])
        #expect(again.status == 1 && again.stdout.contains("it already goes to 'new-erp'"))

        let store = try Store.open(at: db, mode: .readOnly)
        let newId = try #require(try store.connector(named: "new-erp")).id
        let moved = try store.deliveries(connector: newId).filter { oldIds.contains($0.id) }
        #expect(moved.count == 6 && moved.allSatisfy { $0.state == .pending && $0.attempts == 0 })
        #expect(try store.rollupDifferences(since: Date(millis: 0)).isEmpty)
        for id in oldIds {
            let event = try #require(try store.eventId(ofDelivery: id))
            let history = try #require(try store.eventDetail(event))
            let transitions = history.deliveries.flatMap(\.transitions).filter { $0.actor == .operator_ }
            #expect(transitions.count == 1, "delivery \(id): \(transitions)")
            #expect(transitions.first?.reason == "moved from 'old-erp' to 'new-erp' and requeued by operator")
        }

        // Discard by connector: what new-erp now holds, pending, is discarded; a second time there is nothing.
        let discarded = try BinaryRunner.run(["discard", "--all", "--connector", "new-erp", "--reason", "test", "--db", db])
        #expect(discarded.status == 0 && discarded.stdout.contains("Discarded 7 deliveries."), "\(discarded.stdout)")
        #expect(try BinaryRunner.run(["discard", "--all", "--connector", "new-erp", "--db", db]).stdout.contains("Discarded 0"))
        #expect(try BinaryRunner.run(["discard", "--all", "--db", db]).status == 64)
        #expect(try store.rollupDifferences(since: Date(millis: 0)).isEmpty)
    }
}
