import Foundation
import PatchbayHub
import PatchbayStore
import TestSupport
import Testing

@Suite("patchbay CLI, end to end through the built binary")
struct CLITests {
    @Test("init creates a database; a second init keeps it; status on a missing file fails without creating it")
    func initAndMissing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("p.sqlite")
        let created = try BinaryRunner.run(["init", "--db", db, "--home-currency", "eur"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("Created \(db)"))
        #expect(created.stdout.contains("home currency EUR"))
        let again = try BinaryRunner.run(["init", "--db", db])
        #expect(again.status == 0)
        #expect(again.stdout.contains("Opened"))

        let missing = dir.path("nope.sqlite")
        let status = try BinaryRunner.run(["status", "--db", missing])
        #expect(status.status == 1)
        #expect(status.stderr.contains("\(missing): no such database"))
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test("demo --headless seeds once, runs the live hub against its mocks, prints what flowed; a second run reuses the database")
    func demoHeadless() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("demo.sqlite")
        let first = try BinaryRunner.run(["demo", "--db", db, "--events", "300", "--headless", "--duration", "8s"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("Seeded \(db): 300 events"))
        #expect(first.stdout.contains("xero-invoices"))
        #expect(first.stdout.contains("aging as of"))
        // The live part: webhooks came in over HTTP and reached the mock systems; both batch jobs ran.
        let live = try #require(first.stdout.components(separatedBy: "\n").first { $0.hasPrefix("Live: ") })
        let received = Int(live.dropFirst("Live: ".count).prefix(while: \.isNumber)) ?? 0
        #expect(received > 0, "\(live)")
        for system in ["xero", "inventory", "accounting"] {
            let count = live.components(separatedBy: "\(system) ").dropFirst().first.flatMap { Int($0.prefix(while: \.isNumber)) } ?? 0
            #expect(count > 0, "\(system) in \(live)")
        }
        #expect(first.stdout.contains("Batch erp-stock-export: succeeded"), "\(first.stdout)")
        #expect(first.stdout.contains("Batch quickbooks-ar: succeeded"), "\(first.stdout)")
        #expect(FileManager.default.fileExists(atPath: dir.path("demo.sqlite.files/patchbay-demo.yaml")))
        let second = try BinaryRunner.run(["demo", "--db", db, "--headless", "--no-live"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("Using the existing demo database"))
    }

    @Test("rejected lists refused webhooks with their reasons; hostile text stays inert")
    func rejectedWebhooks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("hub.sqlite")
        let store = try Store.open(at: db, mode: .create(homeCurrency: "EUR"))
        let shop = try store.saveConnector(ConnectorSpec(name: "shop", module: "webhook", pattern: .pointToPoint,
                                                         system: "Shopify", direction: .source))
        try store.recordRejections([
            NewRejection(connectorId: shop.id, receivedAt: Date(), status: 401,
                         reason: "header X-Shopify-Hmac-Sha256: no signature matched (1 secret tried)",
                         remote: "203.0.113.9", path: "/webhooks/shop", bodyBytes: 1191, bodyExcerpt: "{\"id\":1}"),
            NewRejection(connectorId: shop.id, receivedAt: Date(), status: 400,
                         reason: "body is not valid JSON \u{1B}]0;pwned\u{07}", remote: nil, path: "/webhooks/shop",
                         bodyBytes: 5, bodyExcerpt: nil),
        ])
        let json = try BinaryRunner.run(["rejected", "--db", db, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let rows = try jsonArray(json.stdout)
        #expect(rows.count == 2)
        #expect(Set(rows.compactMap { $0["status"] as? Int }) == [400, 401])
        #expect(rows.allSatisfy { $0["connector"] as? String == "shop" && $0["path"] as? String == "/webhooks/shop" })
        let table = try BinaryRunner.run(["rejected", "--db", db])
        #expect(table.stdout.contains("no signature matched"))
        #expect(table.stdout.contains("203.0.113.9"))
        #expect(!table.stdout.contains("\u{1B}"))
        #expect(try BinaryRunner.run(["rejected", "--db", db, "--limit", "0"]).status == 64)
    }

    @Test("a file that is not a database is refused with its name, and left untouched")
    func notADatabase() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("notes.txt")
        let content = Data("these are my notes, not a database\n".utf8)
        try content.write(to: URL(fileURLWithPath: path))
        for command in [["init"], ["status"], ["failed"]] {
            let result = try BinaryRunner.run(command + ["--db", path])
            #expect(result.status == 1)
            #expect(result.stderr.contains("\(path): not a SQLite database"), "\(result.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
    }

    @Test("$PATCHBAY_DB names the database when --db is absent")
    func environmentDatabase() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("env.sqlite")
        #expect(try BinaryRunner.run(["init"], environment: ["PATCHBAY_DB": db]).status == 0)
        #expect(FileManager.default.fileExists(atPath: db))
        #expect(!FileManager.default.fileExists(atPath: dir.path("patchbay.sqlite")))
    }

    @Test("seed, then status, failed, retry, show and events print the documented JSON shapes")
    func seededWorkflow() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("seeded.sqlite")
        let seed = try BinaryRunner.run(["seed", "--db", db, "--events", "600", "--days", "2"])
        #expect(seed.status == 0, "\(seed.stderr)")
        #expect(seed.stdout.contains("600 events"))

        let status = try jsonArray(try BinaryRunner.run(["status", "--db", db, "--json"]).stdout)
        #expect(status.count == Seeder.connectors.count + 1)  // + the invoice import's source
        let xero = try #require(status.first { $0["connector"] as? String == "xero-invoices" })
        #expect(Set(xero.keys) == ["connector", "module", "pattern", "system", "direction", "paused", "paused_reason",
                                   "health", "counts", "last_success_at", "last_error_at", "last_error", "paused_by", "source", "batch", "quota"])
        #expect(xero["pattern"] as? String == "point_to_point")

        let failedRun = try BinaryRunner.run(["failed", "--db", db, "--json", "--state", "dead"])
        #expect(failedRun.status == 0, "\(failedRun.stderr)")
        let failed = try jsonArray(failedRun.stdout)
        let first = try #require(failed.first)
        for key in ["id", "event_id", "topic", "connector", "state", "attempts", "max_attempts", "next_attempt_at",
                    "last_status", "last_error", "error_signature", "updated_at"] {
            #expect(first.keys.contains(key), "failed --json lacks \(key)")
        }
        #expect(failed.allSatisfy { $0["state"] as? String == "dead" })
        let id = try #require(first["id"] as? Int)

        let retried = try BinaryRunner.run(["retry", "\(id)", "--db", db])
        #expect(retried.status == 0)
        #expect(retried.stdout.contains("Requeued 1 delivery."))
        let twice = try BinaryRunner.run(["retry", "\(id)", "--db", db])
        #expect(twice.status == 1)
        #expect(twice.stdout.contains("skipped \(id): it is pending"))

        let eventId = try #require(first["event_id"] as? Int)
        let show = try JSONSerialization.jsonObject(
            with: Data(try BinaryRunner.run(["show", "\(eventId)", "--db", db, "--json"]).stdout.utf8)) as? [String: Any]
        let deliveries = try #require(show?["deliveries"] as? [[String: Any]])
        let delivery = try #require(deliveries.first { $0["id"] as? Int == id })
        #expect(delivery["state"] as? String == "pending")
        let transitions = try #require(delivery["transitions"] as? [[String: Any]])
        #expect(transitions.last?["actor"] as? String == "operator")
        #expect(transitions.last?["to"] as? String == "pending")

        let events = try jsonArray(try BinaryRunner.run(["events", "--db", db, "--json", "--limit", "5",
                                                         "--topic", "order_created"]).stdout)
        #expect(events.count == 5)
        #expect(events.allSatisfy { $0["topic"] as? String == "order_created" })
        let ids = events.compactMap { $0["id"] as? Int }
        #expect(ids == ids.sorted(by: >))

        let unknown = try BinaryRunner.run(["failed", "--db", db, "--connector", "nope"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no connector named 'nope'"))
    }

    @Test("import of the QuickBooks fixture then aging --json gives the expected EUR buckets")
    func importAndAging() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("ar.sqlite")
        #expect(try BinaryRunner.run(["init", "--db", db, "--home-currency", "EUR"]).status == 0)
        let csv = Fixtures.url("quickbooks/ar-aging-detail.csv").path
        let imported = try BinaryRunner.run(["import", "invoices", csv, "--format", "quickbooks-csv", "--db", db])
        #expect(imported.status == 0, "\(imported.stderr)")
        let reimported = try BinaryRunner.run(["import", "invoices", csv, "--format", "quickbooks-csv", "--db", db, "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(reimported.stdout.utf8)) as? [String: Any]
        #expect(summary?["inserted"] as? Int == 0)

        let aging = try jsonArray(try BinaryRunner.run(["aging", "--db", db, "--as-of", "2026-11-30", "--json"]).stdout)
        #expect(aging.count == 1)
        let eur = try #require(aging.first)
        #expect(eur["currency"] as? String == "EUR")
        #expect(eur["by"] as? String == "due")
        let expected = try JSONSerialization.jsonObject(
            with: Fixtures.data("quickbooks/ar-aging-detail.expected.json")) as! [String: Any]
        let buckets = try #require(eur["buckets"] as? [String: [String: Any]])
        let totals = expected["totals"] as! [String: Double]
        let counts = expected["counts"] as! [String: Int]
        for (bucket, amount) in totals {
            #expect(buckets[bucket]?["amount"] as? String == String(format: "%.2f", amount), "bucket \(bucket)")
            #expect(buckets[bucket]?["count"] as? Int == counts[bucket], "bucket \(bucket)")
        }
        #expect(eur["total"] as? String == String(format: "%.2f", expected["total_open"] as! Double))
    }

    @Test("a malformed export is refused with its line number and nothing is imported")
    func malformedImport() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("bad.sqlite")
        #expect(try BinaryRunner.run(["init", "--db", db]).status == 0)
        var lines = try String(contentsOf: Fixtures.url("quickbooks/ar-aging-detail.csv"), encoding: .utf8)
            .replacingOccurrences(of: "\r\n", with: "\n")
            .components(separatedBy: "\n")
        lines[3] = lines[3].replacingOccurrences(of: "11/16/2026", with: "13/45/2026")
        #expect(lines[3].contains("13/45/2026"))
        let bad = dir.path("bad.csv")
        try lines.joined(separator: "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let result = try BinaryRunner.run(["import", "invoices", bad, "--format", "quickbooks-csv", "--db", db])
        #expect(result.status == 1)
        #expect(result.stderr.contains("bad.csv:4"), "\(result.stderr)")
        #expect(result.stderr.contains("Nothing was imported"))
        let aging = try jsonArray(try BinaryRunner.run(["aging", "--db", db, "--as-of", "2026-11-30", "--json"]).stdout)
        #expect(aging.isEmpty)
    }
}
