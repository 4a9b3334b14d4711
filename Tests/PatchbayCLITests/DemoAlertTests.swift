import Foundation
import Testing
import TestSupport

/// Issue 13's demo: the ERP's maintenance window opens the ERP sink's breaker, the alert reaches
/// the mock Slack the demo serves, and the headless summary lists it.
@Suite("demo: the ERP outage trips the breaker and alerts Slack")
struct DemoAlertTests {
    @Test("demo --headless: the breaker opens on the ERP outage, the alert is stored and sent to the mock Slack")
    func outageAlert() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("demo.sqlite")
        let result = await onOwnThread {
            Result { try BinaryRunner.run(["demo", "--db", db, "--events", "300", "--headless", "--duration", "45s"]) }
        }
        let run = try result.get()
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.components(separatedBy: "\n")
        let alert = lines.first { $0.contains("hub-paused-a-connector") && $0.contains("erp-sync") }
        #expect(alert != nil, "no breaker alert in the summary:\n\(run.stdout)")
        #expect(alert?.contains("paused by the breaker") == true, "\(alert ?? "")")
        let slack = try #require(lines.first { $0.hasPrefix("Mock Slack received ") }, "\(run.stdout)")
        let count = Int(slack.dropFirst("Mock Slack received ".count).prefix(while: \.isNumber)) ?? 0
        #expect(count >= 1, "\(slack)")
        let log = (try? String(contentsOfFile: db + ".log", encoding: .utf8)) ?? ""
        #expect(log.contains("breaker open") && log.contains("connector=erp-sync"), "the hub's log says nothing of the breaker")
        // The alert went out through the channel like any delivery: delivered to oncall-slack.
        let status = try BinaryRunner.run(["status", "--db", db, "--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])
        let slackRow = try #require(rows.first { $0["connector"] as? String == "oncall-slack" })
        let delivered = (slackRow["counts"] as? [String: Any])?["delivered"] as? Int ?? 0
        #expect(delivered >= 1, "\(slackRow)")

        // Issue 14's demo: Xero through OAuth. The sink and the pull got their tokens from the mock
        // Xero's token endpoint, the first send says so in its history, the pull loaded the
        // organisation's opening book, and Xero's quota reached both connectors.
        #expect(lines.contains { $0.hasPrefix("OAuth xero-invoices: ") && $0.contains("Xero quota ") }, "\(run.stdout)")
        #expect(lines.contains { $0.hasPrefix("OAuth xero-ar: ") }, "\(run.stdout)")
        let pulled = try #require(lines.first { $0.hasPrefix("Batch xero-ar: succeeded, ") }, "\(run.stdout)")
        let read = Int(pulled.dropFirst("Batch xero-ar: succeeded, ".count).prefix(while: \.isNumber)) ?? 0
        #expect(read >= 12, "\(pulled)")
        let xeroRow = try #require(rows.first { $0["connector"] as? String == "xero-invoices" })
        let quota = try #require(xeroRow["quota"] as? [String: Any], "\(xeroRow)")
        #expect((quota["day_limit"] as? Int) == 5000 && (quota["day_remaining"] as? Int ?? 5000) < 5000, "\(quota)")
        // The live run's events (the seeded history is older), oldest first: the first send refreshed.
        let events = try BinaryRunner.run(["events", "--db", db, "--connector", "xero-invoices", "--since", "3m", "--limit", "500", "--json"])
        let ids = (try JSONSerialization.jsonObject(with: Data(events.stdout.utf8)) as? [[String: Any]])?.compactMap { $0["id"] as? Int } ?? []
        #expect(!ids.isEmpty, "\(events.stdout.prefix(500))")
        var noted = false
        for id in ids.reversed().prefix(20) where !noted {
            let shown = try BinaryRunner.run(["show", "\(id)", "--db", db])
            noted = shown.stdout.contains("(OAuth access token refreshed for this send, good until ")
        }
        #expect(noted, "no attempt to xero-invoices says its token was refreshed for it")
    }
}
