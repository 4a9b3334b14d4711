import Foundation
import PatchbayStore
import TestSupport
import Testing

/// `status`'s API quotas table and `quota` JSON object, and `show`'s attempt notes, through the real binary.
@Suite("CLI: API quotas in status, attempt notes in show")
struct QuotaCLITests {
    /// Scalars that must never reach a terminal raw: C0 but tab and newline, DEL, C1.
    private func rawControls(in text: String) -> [String] {
        text.unicodeScalars.filter { s in
            (s.value < 0x20 && s != "\n" && s != "\t") || (0x7F...0x9F).contains(s.value)
        }.map { "U+" + String($0.value, radix: 16, uppercase: true) }
    }

    /// `shop` (source) → `xero`, `erp` (sinks) and `hubspot` (sink); returns the store and the ids.
    private struct Fixture {
        let db: String
        let store: Store
        let shop: ConnectorID
        let xero: ConnectorID
        let erp: ConnectorID
        let hubspot: ConnectorID
    }

    private func fixture(_ dir: TemporaryDirectory) throws -> Fixture {
        let db = dir.path("hub.sqlite")
        let store = try Store.open(at: db, mode: .create(homeCurrency: "EUR"))
        func connector(_ name: String, _ direction: ConnectorDirection) throws -> ConnectorID {
            try store.saveConnector(ConnectorSpec(name: name, module: direction == .source ? "webhook" : "http",
                                                  pattern: .event, system: name, direction: direction)).id
        }
        return Fixture(db: db, store: store, shop: try connector("shop", .source), xero: try connector("xero", .sink),
                       erp: try connector("erp", .sink), hubspot: try connector("hubspot", .sink))
    }

    /// The cells of a `TextTable` line (columns are two or more spaces apart).
    private func cells(_ line: String) -> [String] {
        line.replacingOccurrences(of: " {2,}", with: "\t", options: .regularExpression)
            .split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    @Test("status prints an API quotas table: left today 'N of LIMIT', this minute, the app's minute, how old the reading is")
    func statusQuotaTable() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let f = try fixture(dir)
        let now = Date()
        // Xero: a full reading three hours old; hubspot: only a minute count, just read.
        try f.store.recordQuota(APIQuota(connector: f.xero, dayRemaining: 4_812, dayLimit: 5_000, minuteRemaining: 57,
                                         appMinuteRemaining: 9_940, observedAt: now.addingTimeInterval(-(3 * 3600 + 30)).millis))
        try f.store.recordQuota(APIQuota(connector: f.hubspot, minuteRemaining: 12, observedAt: now.addingTimeInterval(-120).millis))

        let run = try BinaryRunner.run(["status", "--db", f.db])
        #expect(run.status == 0, "\(run.stderr)")
        let out = run.stdout
        let sections = out.components(separatedBy: "API quotas (from the providers' last answers)\n")
        try #require(sections.count == 2, "one quota table: \(out)")
        let table = sections[1].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(cells(table[0]) == ["CONNECTOR", "LEFT TODAY", "LEFT THIS MINUTE", "APP, THIS MINUTE", "READ"], "\(table[0])")
        let rows = table.dropFirst().prefix { !$0.isEmpty }.map(cells)
        // One row per connector with a reading, none for erp or the source.
        #expect(rows.map { $0.first ?? "" }.sorted() == ["hubspot", "xero"], "\(rows)")
        let xero = try #require(rows.first { $0.first == "xero" })
        #expect(xero == ["xero", "4,812 of 5,000", "57", "9,940", "3h ago"], "\(xero)")
        let hubspot = try #require(rows.first { $0.first == "hubspot" })
        #expect(hubspot == ["hubspot", "-", "12", "-", "2m ago"], "\(hubspot)")
        #expect(!out.contains("ago ago"), "the READ column says 'ago' once: \(out)")
    }

    @Test("status --json: a quota object per connector, null without a reading")
    func statusQuotaJSON() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let f = try fixture(dir)
        let observed = Date().addingTimeInterval(-600).millis
        try f.store.recordQuota(APIQuota(connector: f.xero, dayRemaining: 4_812, dayLimit: 5_000, minuteRemaining: 57,
                                         appMinuteRemaining: 9_940, observedAt: observed))
        // An older reading arriving late does not replace the newer one.
        try f.store.recordQuota(APIQuota(connector: f.xero, dayRemaining: 4_999, dayLimit: 5_000, minuteRemaining: 59,
                                         appMinuteRemaining: 9_999, observedAt: observed - 60_000))
        try f.store.recordQuota(APIQuota(connector: f.hubspot, minuteRemaining: 12, observedAt: observed))

        let run = try BinaryRunner.run(["status", "--json", "--db", f.db])
        #expect(run.status == 0, "\(run.stderr)")
        let connectors = try jsonArray(run.stdout)
        #expect(connectors.count == 4)
        func quota(_ name: String) throws -> Any? {
            let connector = try #require(connectors.first { $0["connector"] as? String == name }, "\(name) in status --json")
            #expect(connector.keys.contains("quota"), "\(name) has a quota key")
            return connector["quota"]
        }
        let xero = try #require(try quota("xero") as? [String: Any])
        #expect(xero["day_remaining"] as? Int == 4_812)
        #expect(xero["day_limit"] as? Int == 5_000)
        #expect(xero["minute_remaining"] as? Int == 57)
        #expect(xero["app_minute_remaining"] as? Int == 9_940)
        #expect(xero["observed_at"] as? String == Date(millis: observed).iso8601)
        #expect(Set(xero.keys) == ["day_remaining", "day_limit", "minute_remaining", "app_minute_remaining", "observed_at"])

        let hubspot = try #require(try quota("hubspot") as? [String: Any])
        #expect(hubspot["minute_remaining"] as? Int == 12)
        for key in ["day_remaining", "day_limit", "app_minute_remaining"] {
            #expect(hubspot[key] is NSNull, "hubspot's \(key) is null")
        }
        #expect(try quota("erp") is NSNull)
        #expect(try quota("shop") is NSNull)
    }

    @Test("a database without quota readings prints no quota table, and every quota is null")
    func noQuotas() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let f = try fixture(dir)
        let run = try BinaryRunner.run(["status", "--db", f.db])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("xero"), "the connectors are listed")
        #expect(!run.stdout.contains("API quotas"))
        #expect(!run.stdout.contains("LEFT TODAY"))
        #expect(!run.stdout.contains("LEFT THIS MINUTE"))

        let json = try BinaryRunner.run(["status", "--json", "--db", f.db])
        #expect(json.status == 0, "\(json.stderr)")
        let connectors = try jsonArray(json.stdout)
        #expect(connectors.count == 4)
        for connector in connectors {
            #expect(connector.keys.contains("quota"))
            #expect(connector["quota"] is NSNull, "\(connector["connector"] ?? "?")")
        }

        // The seeded demo database has no readings either.
        let seeded = dir.path("seeded.sqlite")
        #expect(try BinaryRunner.run(["seed", "--db", seeded, "--events", "200", "--days", "1"]).status == 0)
        let demo = try BinaryRunner.run(["status", "--db", seeded])
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(!demo.stdout.contains("API quotas"))
    }

    /// One event from shop to xero and erp, both delivered; xero's attempt carries `note`.
    private func notedEvent(_ f: Fixture, note: String) throws -> EventID {
        let now = Date()
        let result = try f.store.ingest(NewEvent(topic: "invoice_created", sourceId: f.shop, idempotencyKey: "inv-1",
                                                 payload: #"{"invoice":"INV-1"}"#, receivedAt: now.addingTimeInterval(-60),
                                                 targets: [DeliveryTarget(connectorId: f.xero, maxAttempts: 3),
                                                           DeliveryTarget(connectorId: f.erp, maxAttempts: 3)]))
        let claims = try f.store.claimDueDeliveries(limit: 10, lease: 60, owner: "w", now: now)
        #expect(claims.count == 2)
        _ = try f.store.record(claims.map { claim in
            let toXero = claim.connectorId == f.xero
            return DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: .delivered,
                                   startedAt: now, durationMs: toXero ? 412 : 7, statusCode: 200, note: toXero ? note : nil)
        }, now: now)
        return result.eventId
    }

    @Test("show prints an attempt's note in parentheses after it; --json has note in each attempt_log entry")
    func showPrintsTheNote() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let f = try fixture(dir)
        let note = "OAuth access token refreshed for this send, good until 2026-12-03T14:30:00Z"
        let id = try notedEvent(f, note: note)

        let run = try BinaryRunner.run(["show", "\(id)", "--db", f.db])
        #expect(run.status == 0, "\(run.stderr)")
        let attempts = run.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("  attempt ") }
        #expect(attempts.count == 2, "\(run.stdout)")
        let noted = try #require(attempts.first { $0.contains("412 ms") })
        #expect(noted.hasSuffix("412 ms  success 200  (\(note))"), "\(noted)")
        let plain = try #require(attempts.first { $0.contains("7 ms") })
        #expect(plain.hasSuffix("7 ms  success 200"), "no note, nothing after it: \(plain)")

        let json = try BinaryRunner.run(["show", "\(id)", "--db", f.db, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let deliveries = try #require(object["deliveries"] as? [[String: Any]])
        #expect(deliveries.count == 2)
        for delivery in deliveries {
            let log = try #require(delivery["attempt_log"] as? [[String: Any]])
            #expect(log.count == 1)
            let entry = try #require(log.first)
            #expect(entry.keys.contains("note"), "every attempt_log entry has note")
            if delivery["connector"] as? String == "xero" {
                #expect(entry["note"] as? String == note)
            } else {
                #expect(entry["note"] is NSNull, "erp's attempt has a null note")
            }
        }
    }

    @Test("a note holding an OSC title sequence and a CSI prints sanitised: no ESC, BEL or C1 byte on stdout")
    func hostileNoteIsInert() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let f = try fixture(dir)
        let id = try notedEvent(f, note: "refreshed \u{1B}]0;pwned\u{07} then \u{9B}2J\u{1B}[31msent")

        let run = try BinaryRunner.run(["show", "\(id)", "--db", f.db])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stdout.contains("\u{1B}"), "\(run.stdout.debugDescription)")
        #expect(rawControls(in: run.stdout + run.stderr).isEmpty, "\(run.stdout.debugDescription)")
        let noted = try #require(run.stdout.split(separator: "\n").first { $0.contains("412 ms") })
        #expect(noted.contains("(refreshed ^[]0;pwned^G then"), "the note shows, its controls made visible: \(noted.debugDescription)")

        let json = try BinaryRunner.run(["show", "\(id)", "--db", f.db, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(rawControls(in: json.stdout).isEmpty, "\(json.stdout.debugDescription)")
        // The JSON keeps the note as it was, escaped.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let xero = try #require((object["deliveries"] as? [[String: Any]])?.first { $0["connector"] as? String == "xero" })
        #expect((xero["attempt_log"] as? [[String: Any]])?.first?["note"] as? String
                == "refreshed \u{1B}]0;pwned\u{07} then \u{9B}2J\u{1B}[31msent")
    }
}
