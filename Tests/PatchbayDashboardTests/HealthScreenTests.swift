import Foundation
import PatchbayDashboard
import PatchbayStore
import TerminalUI
import Testing

/// Money at risk in the failed views, sources and batch jobs in the connectors view, and `x`.
@Suite("Dashboard: money at risk, sources and batch jobs")
struct HealthScreenTests {
    /// Selects the connectors view's row of `name` (rows in name order, unsorted).
    private func select(_ name: String, in harness: Harness) throws {
        harness.press(.character("2"))
        let index = try #require(harness.dashboard.state.connectorStatuses.firstIndex { $0.connector.name == name })
        harness.press(.character("g"))
        for _ in 0..<index { harness.press(.character("j")) }
    }

    @Test("the failed groups show each group's money at risk as the store sums it, one currency and +N for others")
    func failedGroupsShowMoney() throws {
        let harness = try Harness()
        let report = try harness.store.moneyAtRiskReport()
        let xeroGroup = try #require(harness.store.errorGroups(connector: nil, limit: 50)
            .first { $0.connector == "xero-invoices" })
        let risk = report.group(xeroGroup.id)
        #expect(risk.amounts.count >= 2, "the seeded xero failures carry two currencies")
        let top = try #require(risk.amounts.max { $0.deliveries < $1.deliveries })
        harness.press(.character("3"))
        let text = harness.screen().lines().joined(separator: "\n")
        #expect(text.contains("AT RISK"))
        #expect(text.contains("\(top.text) +\(risk.amounts.count - 1)"))
        // The overview's panel title carries the total the same way.
        harness.press(.character("1"))
        let overview = harness.screen(160, 40).lines().joined(separator: "\n")
        let totalTop = try #require(report.total.amounts.max { $0.deliveries < $1.deliveries })
        #expect(overview.contains("Failed deliveries by error · \(totalTop.text)"))
    }

    @Test("a source's row and detail line show its traffic; a batch job's its last run; at 80x24 too")
    func connectorsViewShowsSourcesAndJobs() throws {
        let harness = try Harness()
        try select("shopify-orders", in: harness)
        let health = try #require(harness.dashboard.state.connectorHealth.sources.values.first {
            harness.dashboard.state.connectorStatuses.first { $0.connector.name == "shopify-orders" }?.connector.id == $0.connectorId
        })
        #expect(health.receivedToday > 0)
        let small = harness.screen(80, 24).lines().joined(separator: "\n")
        #expect(small.contains("shopify-orders · source · unknown · last hour \(health.lastHour) (usual: no history yet)"))
        #expect(small.contains("today \(health.receivedToday) received, \(health.refusedToday) refused"))

        try select("erp-stock-export", in: harness)
        let text = harness.screen().lines().joined(separator: "\n")
        #expect(text.contains("erp-stock-export · batch job · never ran"))
        #expect(text.contains("x runs it now"))
    }

    @Test("with the hub's configuration (dash --config), a batch job's detail says when it runs next")
    func nextRunFromTheConfiguration() throws {
        let harness = try Harness()
        let now = harness.dashboard.state.now
        harness.dashboard.nextRun = { job, last, at in
            job == "erp-stock-export" && last == nil ? ("every 15m", at.addingTimeInterval(600)) : nil
        }
        try select("erp-stock-export", in: harness)
        #expect(harness.screen().lines().joined(separator: "\n").contains("next run in 10m (every 15m) · x runs it now"))
        harness.dashboard.nextRun = { _, _, _ in ("daily 02:30", now.addingTimeInterval(-1)) }
        harness.press(.character("j"))
        harness.press(.character("k"))
        #expect(harness.screen().lines().joined(separator: "\n").contains("next run due now (daily 02:30)"))
        harness.dashboard.nextRun = { _, _, _ in nil }
        #expect(harness.screen().lines().joined(separator: "\n").contains("no schedule in the configuration"))
    }

    @Test("x on a batch job asks, then records a run request; on a sink it refuses; read-only refuses")
    func runNowKey() throws {
        let harness = try Harness()
        try select("xero-invoices", in: harness)
        harness.press(.character("x"))
        #expect(harness.dashboard.state.confirmation == nil)
        #expect(harness.dashboard.state.toast?.message.contains("is not a batch job") == true)

        try select("erp-stock-export", in: harness)
        harness.press(.character("x"))
        let question = try #require(harness.dashboard.state.confirmation)
        #expect(question.message == "Run erp-stock-export now? The hub starts it within seconds.")
        #expect(try harness.store.batchRunRequest(job: "erp-stock-export") == nil, "nothing before y")
        harness.press(.character("y"))
        #expect(try harness.store.batchRunRequest(job: "erp-stock-export") != nil)
        #expect(harness.dashboard.state.toast?.message == "Asked for a run of erp-stock-export: the hub starts it within seconds")

        let readOnly = try Harness(readOnly: true)
        try select("erp-stock-export", in: readOnly)
        readOnly.press(.character("x"))
        #expect(readOnly.dashboard.state.confirmation == nil)
        #expect(readOnly.dashboard.state.toast?.isError == true)
    }

    @Test("? help lists x")
    func helpListsRunNow() throws {
        let harness = try Harness()
        harness.press(.character("2"), .character("?"))
        let text = harness.screen().lines().joined(separator: "\n")
        #expect(text.contains("run job now"))
        #expect(text.contains("ask the hub to run it now"))
    }
}
