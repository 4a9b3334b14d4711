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
    }
}
