import Foundation
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// The hub over real HTTP on loopback: webhooks in, deliveries out to scripted targets.
@Suite("Hub end to end", .serialized)
struct HubEndToEndTests {
    @Test("a signed Shopify webhook reaches Xero as the invoice the fixture shows")
    func shopifyToXero() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let hub = try await RunningHub(yaml: """
            connectors:
              shop:
                module: webhook
                signature: shopify
                secret: ${SHOPIFY_SECRET}
                transform: shopify-order
              xero:
                module: xero
                url: \(target.url)/xero/invoices
                headers: {Authorization: "Bearer ${TOKEN}"}
                from: [shop]
            """)
        let (status, body) = try await hub.postShopifyFixture()
        #expect(status == 200, "\(body)")
        try await hub.wait { try hub.deliveries(to: "xero").first?.state == .delivered }
        let sent = try #require(target.requests("/xero/invoices").first)
        let expected = try JSONSerialization.jsonObject(with: Fixtures.data("xero/invoice-create-request.json")) as! NSDictionary
        #expect(NSDictionary(dictionary: sent.json ?? [:]) == expected)
        #expect(sent.headers["authorization"] == "Bearer test-token")
        #expect(sent.headers["idempotency-key"] == "patchbay-delivery-\(try hub.deliveries(to: "xero")[0].id)")
        let event = try #require(try hub.store.eventDetail(try hub.deliveries(to: "xero")[0].eventId))
        #expect(event.event.topic == "order_created")
        #expect(event.event.idempotencyKey == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
        await hub.stop()
    }

    @Test("order_created fans out to three subscribers; a hanging one holds nobody back")
    func fanOutIsolation() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let release = Gate()
        target.script("/shipping/labels") { _, _ in
            await release.wait()
            return Reply(status: 500, body: #"{"error":"printer jammed"}"#)
        }
        let hub = try await RunningHub(yaml: """
            delivery: {lease: 30s}
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              inventory: {module: http, url: "\(target.url)/inventory/reserve", subscribe: [order_created]}
              shipping: {module: http, url: "\(target.url)/shipping/labels", subscribe: [order_created], timeout: 20s}
              accounting: {module: http, url: "\(target.url)/accounting/invoices", subscribe: [order_created]}
            """)
        for n in 0..<5 {
            let (status, _) = try await hub.postEvent("order_created", body: #"{"order":"SF-\#(n)"}"#)
            #expect(status == 200)
        }
        // While every shipping request hangs, the other two subscribers finish all five events.
        try await hub.wait {
            try hub.deliveries(to: "inventory").filter { $0.state == .delivered }.count == 5
                && hub.deliveries(to: "accounting").filter { $0.state == .delivered }.count == 5
        }
        #expect(try hub.deliveries(to: "inventory").allSatisfy { $0.state == .delivered && $0.attempts == 1 })
        #expect(try hub.deliveries(to: "accounting").allSatisfy { $0.state == .delivered && $0.attempts == 1 })
        #expect(try hub.deliveries(to: "shipping").allSatisfy { $0.state == .inFlight || $0.state == .pending })
        await release.open()
        try await hub.wait { try hub.deliveries(to: "shipping").allSatisfy { $0.state == .retrying } }
        #expect(try hub.deliveries(to: "shipping").allSatisfy { $0.state == .retrying && $0.lastStatus == 500 })
        await hub.stop()
    }

    @Test("500s retry with growing delays until the delivery is dead")
    func serverErrorsUntilDead() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        target.script("/erp/orders") { _, _ in Reply(status: 500, body: "upstream exploded") }
        let hub = try await RunningHub(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              erp:
                module: http
                url: "\(target.url)/erp/orders"
                subscribe: [order_created]
                retry: {max_attempts: 4, base_delay: 200ms, multiplier: 2, jitter: 0}
            """)
        _ = try await hub.postEvent("order_created", body: #"{"order":1}"#)
        try await hub.wait { try hub.deliveries(to: "erp").first?.state == .dead }
        let delivery = try #require(try hub.deliveries(to: "erp").first)
        #expect(delivery.state == .dead)
        #expect(delivery.attempts == 4)
        #expect(delivery.lastError?.contains("gave up after 4 attempts") == true)
        let starts = target.requests("/erp/orders").map(\.at)
        #expect(starts.count == 4)
        // Backoff: each gap at least the nominal delay (200, 400, 800 ms with no jitter).
        for (i, nominal) in [0.2, 0.4, 0.8].enumerated() {
            #expect(starts[i + 1].timeIntervalSince(starts[i]) >= nominal * 0.95, "gap \(i + 1)")
        }
        await hub.stop()
    }

    @Test("429 waits for Retry-After before the next attempt")
    func rateLimitedWaits() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let headers = try String(contentsOf: Fixtures.url("xero/rate-limit-429.headers"), encoding: .utf8)
        #expect(headers.contains("Retry-After: 27"))
        target.script("/xero/invoices") { _, n in
            n == 1 ? Reply(status: 429, headers: ["Retry-After": "2", "X-Rate-Limit-Problem": "minute"]) : .ok
        }
        let hub = try await RunningHub(yaml: """
            connectors:
              shop: {module: webhook, signature: shopify, secret: "${SHOPIFY_SECRET}", transform: shopify-order}
              xero: {module: xero, url: "\(target.url)/xero/invoices", from: [shop]}
            """)
        _ = try await hub.postShopifyFixture()
        try await hub.wait(timeout: 30) { try hub.deliveries(to: "xero").first?.state == .delivered }
        let requests = target.requests("/xero/invoices")
        #expect(requests.count == 2)
        if requests.count == 2 {
            #expect(requests[1].at.timeIntervalSince(requests[0].at) >= 2)
        }
        let attempts = try hub.store.attempts(delivery: try hub.deliveries(to: "xero")[0].id)
        #expect(attempts.first?.statusCode == 429)
        #expect(attempts.first?.error?.contains("Xero minute limit reached") == true)
        await hub.stop()
    }

    @Test("400 from Xero is dead at once, with the validation messages readable")
    func validationErrorIsDead() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let body = try String(contentsOf: Fixtures.url("xero/validation-error-400.json"), encoding: .utf8)
        target.script("/xero/invoices") { _, _ in Reply(status: 400, body: body) }
        let hub = try await RunningHub(yaml: """
            connectors:
              shop: {module: webhook, signature: shopify, secret: "${SHOPIFY_SECRET}", transform: shopify-order}
              xero: {module: xero, url: "\(target.url)/xero/invoices", from: [shop]}
            """)
        _ = try await hub.postShopifyFixture()
        try await hub.wait { try hub.deliveries(to: "xero").first?.state == .dead }
        let delivery = try #require(try hub.deliveries(to: "xero").first)
        #expect(delivery.state == .dead)
        #expect(delivery.attempts == 1)
        #expect(delivery.lastStatus == 400)
        #expect(delivery.lastError?.contains("Account code '2000' is not a valid code for this document.") == true)
        #expect(delivery.lastError?.contains("The TaxType code 'OUTPUT9' does not exist") == true)
        await hub.stop()
    }

    @Test("a bad signature gets 401, is counted and kept with its reason; nothing is stored")
    func badSignature() async throws {
        let hub = try await RunningHub(yaml: """
            connectors:
              shop: {module: webhook, signature: shopify, secret: "${SHOPIFY_SECRET}", transform: shopify-order}
              sink: {module: file, directory: out, from: [shop]}
            """)
        let (status, body) = try await hub.postShopifyFixture(signature: "p67CQLYQ/5HWNq7lKFG8bbJgVCBAH0Sebujz4rBLrYA=")
        #expect(status == 401)
        #expect(body.contains("X-Shopify-Hmac-Sha256") || body.contains("signature"))
        let (malformed, _) = try await hub.post("/webhooks/shop", body: Array("{not json".utf8), headers: [])
        #expect(malformed == 401)  // unsigned: the signature is checked before the body is read as JSON
        #expect(try hub.store.eventCount(source: try hub.store.connector(named: "shop")!.id) == 0)
        let rejections = try hub.store.rejections(limit: 10)
        #expect(rejections.count == 2)
        #expect(rejections.allSatisfy { $0.status == 401 && $0.path == "/webhooks/shop" })
        #expect(try hub.store.rejectedCount(since: Date().addingTimeInterval(-60)) == 2)
        let (_, metrics) = try await hub.get("/metrics")
        #expect(metrics.contains(#"patchbay_webhooks_rejected_total{connector="shop",status="401"} 2"#))
        await hub.stop()
    }

    @Test("50 copies of one webhook sent at once make one event and one delivery")
    func concurrentDuplicates() async throws {
        let hub = try await RunningHub(yaml: """
            connectors:
              shop: {module: webhook, signature: shopify, secret: "${SHOPIFY_SECRET}", transform: shopify-order}
              sink: {module: file, directory: out, from: [shop]}
            """)
        let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for _ in 0..<50 { group.addTask { try await hub.postShopifyFixture() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.count == 50)
        #expect(statuses.allSatisfy { $0.0 == 200 })
        #expect(statuses.filter { $0.1.contains("\"accepted\"") }.count == 1)
        #expect(try hub.store.eventCount(source: try hub.store.connector(named: "shop")!.id) == 1)
        #expect(try hub.deliveries(to: "sink").count == 1)
        await hub.stop()
    }

    @Test("over the size limit is 413 and counted; malformed JSON with a good signature is 400")
    func sizeAndShape() async throws {
        let hub = try await RunningHub(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}", max_body: 1KiB}
              sink: {module: file, directory: out, from: [events]}
            """)
        let (big, _) = try await hub.postEvent("order_created", body: "{\"pad\":\"" + String(repeating: "x", count: 4000) + "\"}")
        #expect(big == 413)
        let (bad, reason) = try await hub.postEvent("order_created", body: "{\"order\": ")
        #expect(bad == 400)
        #expect(reason.lowercased().contains("json"))
        #expect(try hub.store.rejections(limit: 10).map(\.status).sorted() == [400, 413])
        let (health, _) = try await hub.get("/healthz")
        #expect(health == 200)
        await hub.stop()
    }
}

/// Opens once; everyone waiting goes through.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func open() {
        isOpen = true
        waiters.forEach { $0.resume() }
        waiters = []
    }
}
