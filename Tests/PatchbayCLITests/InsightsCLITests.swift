import Foundation
import Testing
import TestSupport

/// `patchbay map` and `patchbay advise` against the real binary on a seeded database.
@Suite struct InsightsCLITests {
    /// A database seeded with the demo company's week: all four patterns.
    static func seeded(_ dir: TemporaryDirectory) throws -> String {
        let db = dir.path("seeded.sqlite")
        let seed = try BinaryRunner.run(["seed", "--db", db, "--events", "1500", "--days", "8"])
        #expect(seed.status == 0, "\(seed.stderr)")
        return db
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("map prints a table of edges, --json every documented key, --dot a Graphviz digraph")
    func mapShapes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try Self.seeded(dir)

        let table = try BinaryRunner.run(["map", "--db", db])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("FROM"))
        #expect(table.stdout.contains("shopify-orders → xero-invoices"))
        #expect(table.stdout.contains("point_to_point"))

        let json = try BinaryRunner.run(["map", "--db", db, "--json", "--days", "7"])
        #expect(json.status == 0, "\(json.stderr)")
        let map = try Self.object(json.stdout)
        #expect(Set(map.keys) == ["generated_at", "window_days", "nodes", "edges"])
        let nodes = try #require(map["nodes"] as? [[String: Any]])
        #expect(nodes.contains { $0["id"] as? String == "patchbay" && $0["kind"] as? String == "hub" })
        #expect(nodes.contains { $0["id"] as? String == "Xero" && $0["kind"] as? String == "system" })
        let edges = try #require(map["edges"] as? [[String: Any]])
        let edgeKeys: Set<String> = ["id", "from", "to", "via", "source_connector", "sink_connector", "topics", "pattern",
                                     "direction", "events_per_day", "peak_hour_start", "peak_hour_events",
                                     "latency_p50_ms", "latency_p95_ms", "latency_samples",
                                     "failure_rate_basis_points", "health"]
        #expect(!edges.isEmpty)
        #expect(edges.allSatisfy { Set($0.keys) == edgeKeys })
        let spoke = try #require(edges.first { $0["id"] as? String == "crm-contacts->erp-sync" })
        #expect(spoke["via"] as? String == "patchbay")
        #expect((spoke["events_per_day"] as? Int ?? 0) > 0)

        let dot = try BinaryRunner.run(["map", "--db", db, "--dot"])
        #expect(dot.status == 0, "\(dot.stderr)")
        #expect(dot.stdout.hasPrefix("digraph patchbay {"))
        #expect(dot.stdout.contains("\"patchbay\" [shape=doubleoctagon"))
        #expect(dot.stdout.contains("\"Shopify\" -> \"Xero\""))

        let both = try BinaryRunner.run(["map", "--db", db, "--dot", "--json"])
        #expect(both.status != 0)
    }

    @Test("advise prints the installation's recommendation with its figures; --json has every key")
    func adviseShapes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try Self.seeded(dir)

        let text = try BinaryRunner.run(["advise", "--db", db])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("Installation  ["))
        #expect(text.stdout.contains("events/day"))
        #expect(text.stdout.contains("figures: systems="))

        let json = try BinaryRunner.run(["advise", "--db", db, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let advice = try Self.object(json.stdout)
        #expect(Set(advice.keys) == ["generated_at", "history_days", "installation", "integrations", "thresholds"])
        let installation = try #require(advice["installation"] as? [String: Any])
        let keys: Set<String> = ["subject", "edge_id", "current", "recommended", "verdict", "reason", "figures", "cost", "growth"]
        #expect(Set(installation.keys) == keys)
        let integrations = try #require(advice["integrations"] as? [[String: Any]])
        #expect(integrations.allSatisfy { Set($0.keys) == keys })
        let growth = try #require(installation["growth"] as? [String: Any])
        #expect(Set(growth.keys) == ["trend", "days", "events_per_day_now", "weekly_growth_basis_points",
                                     "next_threshold_per_day", "days_to_threshold", "summary"])
        let thresholds = try #require(advice["thresholds"] as? [String: Any])
        #expect(thresholds["event_driven_min_events_per_day"] as? Int == 50_000)
        #expect(thresholds["point_to_point_max_systems"] as? Int == 3)
    }

    @Test("advise --config takes the thresholds from advisor:, and refuses an unknown key with its path")
    func adviseConfig() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try Self.seeded(dir)
        let config = dir.path("patchbay.yaml")
        try """
            advisor:
              hub_max_systems: 20
              event_driven_min_events_per_day: 80_000
            connectors:
              shop: {module: webhook, signature: none}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let custom = try BinaryRunner.run(["advise", "--db", db, "--json", "--config", config])
        #expect(custom.status == 0, "\(custom.stderr)")
        let thresholds = try #require(try Self.object(custom.stdout)["thresholds"] as? [String: Any])
        #expect(thresholds["hub_max_systems"] as? Int == 20)
        #expect(thresholds["event_driven_min_events_per_day"] as? Int == 80_000)

        try """
            advisor:
              hub_max_sytems: 20
              fan_out_min_targets: one
            connectors:
              shop: {module: webhook, signature: none}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let bad = try BinaryRunner.run(["advise", "--db", db, "--config", config])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("advisor.hub_max_sytems"))
        #expect(bad.stderr.contains("advisor.fan_out_min_targets"))
    }
}
