import Foundation
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// Secrets never leave their place: a target that echoes a connector's credentials back (a 401 page
/// repeating the Authorization header, a body quoting a URL token) has them redacted before the
/// attempt, the delivery's last error or anything shown from them is stored.
@Suite("Echoed secrets are redacted before they are stored", .serialized)
struct RedactionTests {
    @Test("a 401 body repeating the Authorization header and the URL's token stores neither")
    func echoedCredentialsAreRedacted() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        target.script("/erp/orders") { request, _ in
            Reply(status: 401, body: #"{"message":"invalid credentials \#(request.headers["authorization"] ?? "") for hook_token=hook-token-value-42","seen":"\#(request.headers["x-erp-key"] ?? "")"}"#)
        }
        let hub = try await RunningHub(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              erp:
                module: http
                url: "\(target.url)/erp/orders?hook_token=${HOOK_TOKEN}"
                headers: {Authorization: "Bearer ${TOKEN}", X-ERP-Key: "${ERP_KEY}"}
                subscribe: [order_created]
            """, environment: ["HOOK_TOKEN": "hook-token-value-42", "ERP_KEY": "erp-key-value-77"])
        _ = try await hub.postEvent("order_created", body: #"{"order":"SF-1"}"#)
        try await hub.wait { try hub.deliveries(to: "erp").first?.state == .dead }
        let delivery = try #require(try hub.deliveries(to: "erp").first)
        #expect(delivery.state == .dead)
        // The target really did echo them.
        #expect(target.requests("/erp/orders").first?.headers["authorization"] == "Bearer test-token")
        let attempts = try hub.store.attempts(delivery: delivery.id)
        let stored = [delivery.lastError ?? ""] + attempts.flatMap { [$0.error ?? "", $0.responseExcerpt ?? ""] }
        for text in stored {
            #expect(!text.contains("test-token") && !text.contains("hook-token-value-42") && !text.contains("erp-key-value-77"),
                    "a secret was stored: \(text)")
        }
        #expect(delivery.lastError?.contains("invalid credentials [redacted]") == true, "\(delivery.lastError ?? "")")
        await hub.stop()
    }
}
