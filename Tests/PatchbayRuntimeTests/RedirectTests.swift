import Foundation
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// Promise 2: a delivery is recorded `delivered` only when its own target accepted it. A target that
/// answers with a redirect has not: the hub must not follow it (a POST would become a body-less GET
/// to another origin, carrying the connector's credentials), and must say where it pointed.
@Suite("Redirects are failures, never deliveries", .serialized)
struct RedirectTests {
    @Test("a 302 to another origin is retried with its Location named; the other origin receives nothing")
    func foundIsRetriedAndNotFollowed() async throws {
        let target = try await ScriptedTarget()
        let elsewhere = try await ScriptedTarget()
        defer { target.stop(); elsewhere.stop() }
        target.script("/xero/invoices") { _, _ in
            Reply(status: 302, headers: ["Location": "\(elsewhere.url)/collect/here"], body: "")
        }
        let hub = try await RunningHub(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              xero:
                module: http
                url: "\(target.url)/xero/invoices"
                headers: {Authorization: "Bearer ${TOKEN}", X-API-Key: "${TOKEN}"}
                subscribe: [order_created]
                retry: {max_attempts: 5, base_delay: 30s}
            """)
        let (status, _) = try await hub.postEvent("order_created", body: #"{"order":"SF-1"}"#)
        #expect(status == 200)
        try await hub.wait { try hub.deliveries(to: "xero").first?.state == .retrying }
        let delivery = try #require(try hub.deliveries(to: "xero").first)
        #expect(delivery.state == .retrying)
        #expect(delivery.lastStatus == 302)
        #expect(delivery.lastError?.contains("redirected to \(elsewhere.url)/collect/here") == true, "\(delivery.lastError ?? "")")
        #expect(target.requests("/xero/invoices").count == 1)
        // Nothing, and in particular no credential, went to the origin the redirect named.
        #expect(elsewhere.requests("/collect/here").isEmpty)
        await hub.stop()
    }

    @Test("a 301 or 308 is dead at once, naming where the target moved")
    func movedPermanentlyIsDead() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        target.script("/erp/orders") { _, _ in Reply(status: 301, headers: ["Location": "https://erp.example/v2/orders"]) }
        target.script("/crm/contacts") { _, _ in Reply(status: 308, headers: ["Location": "/v2/contacts"]) }
        let hub = try await RunningHub(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              erp: {module: http, url: "\(target.url)/erp/orders", subscribe: [order_created]}
              crm: {module: http, url: "\(target.url)/crm/contacts", subscribe: [order_created]}
            """)
        _ = try await hub.postEvent("order_created", body: #"{"order":"SF-2"}"#)
        try await hub.wait {
            try hub.deliveries(to: "erp").first?.state == .dead && hub.deliveries(to: "crm").first?.state == .dead
        }
        let erp = try #require(try hub.deliveries(to: "erp").first)
        let crm = try #require(try hub.deliveries(to: "crm").first)
        #expect(erp.state == .dead && erp.attempts == 1)
        #expect(erp.lastError?.contains("redirected to https://erp.example/v2/orders") == true, "\(erp.lastError ?? "")")
        #expect(crm.state == .dead && crm.lastStatus == 308)
        #expect(crm.lastError?.contains("redirected to /v2/contacts") == true, "\(crm.lastError ?? "")")
        await hub.stop()
    }
}
