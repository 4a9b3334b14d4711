import Crypto
import Foundation
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// A captured signed webhook cannot be turned into new events by editing the headers its signature
/// does not cover; refused requests cannot grow the database without bound.
@Suite("Replays and floods", .serialized)
struct ReplayAndFloodTests {
    @Test("a GitHub-signed body replayed with a new delivery id or another topic is a duplicate, routed nowhere")
    func replayedGitHubBodyIsADuplicate() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let hub = try await RunningHub(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              orders: {module: http, url: "\(target.url)/orders/in", subscribe: [order_created]}
              erasure: {module: http, url: "\(target.url)/crm/erase", subscribe: [customer_deleted]}
            """)
        let body = #"{"order":"SF-1001","customer":"c-77","total":"12.50"}"#
        let (first, firstBody) = try await hub.postEvent("order_created", body: body, id: "delivery-1")
        #expect(first == 200 && firstBody.contains("accepted"), "\(firstBody)")
        // The attacker keeps the body and its valid signature, and edits the unsigned headers.
        let (newId, newIdBody) = try await hub.postEvent("order_created", body: body, id: "delivery-2")
        let (newTopic, newTopicBody) = try await hub.postEvent("customer_deleted", body: body, id: "delivery-3")
        #expect(newId == 200 && newIdBody.contains("duplicate"), "\(newIdBody)")
        #expect(newTopic == 200 && newTopicBody.contains("duplicate"), "\(newTopicBody)")
        // A different body is a new event as always.
        let (other, otherBody) = try await hub.postEvent("order_created", body: #"{"order":"SF-1002"}"#, id: "delivery-4")
        #expect(other == 200 && otherBody.contains("accepted"), "\(otherBody)")
        try await hub.wait { try hub.deliveries(to: "orders").filter { $0.state == .delivered }.count == 2 }
        #expect(try hub.deliveries(to: "orders").count == 2)
        #expect(try hub.deliveries(to: "erasure").isEmpty)
        #expect(target.requests("/crm/erase").isEmpty)
        await hub.stop()
    }

    @Test("the Shopify fixture replayed under a new X-Shopify-Webhook-Id stores nothing new")
    func replayedShopifyWebhookIsADuplicate() async throws {
        let hub = try await RunningHub(yaml: """
            connectors:
              shop: {module: webhook, signature: shopify, secret: "${SHOPIFY_SECRET}", transform: shopify-order}
            """)
        let (status, body) = try await hub.postShopifyFixture(webhookId: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
        #expect(status == 200 && body.contains("accepted"), "\(body)")
        let (again, againBody) = try await hub.postShopifyFixture(webhookId: "00000000-0000-4000-8000-000000000001")
        #expect(again == 200 && againBody.contains("duplicate"), "\(againBody)")
        #expect(try hub.store.events(EventFilter(), limit: 10).events.count == 1)
        await hub.stop()
    }

    @Test("replay_window: 0 turns the check off for a source that needs identical bodies as separate events")
    func replayWindowZeroAllowsIdenticalBodies() async throws {
        let hub = try await RunningHub(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}", replay_window: 0s}
            """)
        let body = #"{"order":"SF-1"}"#
        _ = try await hub.postEvent("order_created", body: body, id: "a")
        let (_, second) = try await hub.postEvent("order_paid", body: body, id: "b")
        #expect(second.contains("accepted"), "\(second)")
        await hub.stop()
    }

    @Test("a flood of refused requests is counted in full but stored only up to the detail rate")
    func refusalFloodIsCountedNotStored() async throws {
        let hub = try await RunningHub(yaml: """
            retention: {rejected_detail: 10/min}
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
            """)
        let started = Date()
        for n in 0..<300 {
            let (status, _) = try await hub.post("/webhooks/events", body: Array(#"{"n":\#(n)}"#.utf8), headers: [
                ("X-GitHub-Event", "order_created"), ("X-GitHub-Delivery", "d-\(n)"), ("X-Hub-Signature-256", "sha256=00"),
            ])
            #expect(status == 401)
        }
        try await hub.wait { try hub.store.rejectedCount(since: started.addingTimeInterval(-60)) == 300 }
        #expect(try hub.store.rejectedCount(since: started.addingTimeInterval(-60)) == 300)
        let stored = try hub.store.rejections(limit: 1000).count
        #expect(stored >= 10 && stored <= 12, "\(stored) rows stored for 300 refusals")
        await hub.stop()
    }

    @Test("refused requests older than retention.keep_rejected are pruned; their counts stay")
    func oldRejectionsArePruned() async throws {
        let hub = try await RunningHub(yaml: """
            delivery: {lease: 4s}
            retention: {keep_rejected: 2d, every: 1s}
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
            """)
        let id = try #require(try hub.store.connector(named: "events")).id
        let old = Date().addingTimeInterval(-3 * 86400)
        let recent = Date().addingTimeInterval(-86400)
        try hub.store.recordRejections([
            NewRejection(connectorId: id, receivedAt: old, status: 401, reason: "old", remote: nil, path: "/webhooks/events",
                         bodyBytes: 2, bodyExcerpt: "{}"),
            NewRejection(connectorId: id, receivedAt: recent, status: 401, reason: "recent", remote: nil,
                         path: "/webhooks/events", bodyBytes: 2, bodyExcerpt: "{}"),
        ])
        let counted = try hub.store.rejectedCount(since: old.addingTimeInterval(-3600))
        try await hub.wait { try hub.store.rejections(limit: 10).count == 1 }
        #expect(try hub.store.rejections(limit: 10).map(\.reason) == ["recent"])
        #expect(try hub.store.rejectedCount(since: old.addingTimeInterval(-3600)) == counted)
        await hub.stop()
    }
}
