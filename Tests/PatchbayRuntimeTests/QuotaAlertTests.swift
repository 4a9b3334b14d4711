import Foundation
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// `quota_low` in a running hub: Xero's quota headers reach the connector's reading, and the rule
/// tells the channel before the day's calls run out.
@Suite("quota_low in a running hub", .serialized)
struct QuotaAlertTests {
    @Test("a xero sink whose target answers X-DayLimit-Remaining: 120 fires quota_low to the channel, with the figures")
    func lowQuotaAlerts() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        target.script("/api.xro/Invoices") { _, _ in
            Reply(status: 200, headers: ["X-DayLimit-Remaining": "120", "X-MinLimit-Remaining": "55",
                                         "Content-Type": "application/json"],
                  body: #"{"Status":"OK","Invoices":[{"InvoiceNumber":"INV-1","Status":"AUTHORISED"}]}"#)
        }
        target.script("/alerts") { _, _ in Reply.ok }
        let hub = try await RunningHub(yaml: """
            alerts:
              every: 1s
              rules:
                xero-quota: {kind: quota_low, connector: xero, below: 10%, notify: [oncall]}
            connectors:
              oncall: {module: http, url: "\(target.url)/alerts"}
              shop: {module: webhook, signature: shopify, secret: "${SHOPIFY_SECRET}", transform: shopify-order}
              xero:
                module: xero
                url: \(target.url)/api.xro/Invoices
                from: [shop]
                headers: {Authorization: "Bearer ${TOKEN}"}
            """)
        #expect(try await OAuthHubTests.postOrder(hub, 1) == 200)
        try await hub.wait(timeout: 30) { !target.requests("/alerts").isEmpty }
        let sent = try #require(target.requests("/alerts").first?.json, "no alert reached the channel")
        let text = String(decoding: try JSONSerialization.data(withJSONObject: sent), as: UTF8.self)
        #expect(text.contains("quota_low") && text.contains("xero has 120 of its 5000 API calls left for the day"), "\(text)")
        let xero = try #require(try hub.store.connector(named: "xero")).id
        #expect(try hub.store.quotas().first { $0.connector == xero }?.dayRemaining == 120)
        let firing = try hub.store.firingAlerts()
        #expect(firing.map(\.rule) == ["xero-quota"] && firing.first?.subject == "xero" && firing.first?.value == "120")
        await hub.stop()
    }
}
