import Foundation
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// The `slack` channel in a running hub, against a real HTTP receiver on loopback: what Slack
/// receives, how Slack's answers are classified, and that the webhook URL (the credential) is in no
/// stored result.
@Suite("Slack channel in a running hub", .serialized)
struct SlackChannelTests {
    static let token = "T0SLACK0B0HOOK0XXXXXXXXXXXXXXXX"
    static let path = "/slack/\(token)"

    static let alert = """
        {"type":"alert","alert_id":12,"rule":"erp-failing","kind":"connector_failing","state":"firing","notification":"fired",
         "subject":"erp","summary":"erp has been failing for 12m: HTTP 503 Service Unavailable",
         "value":"12m","threshold":"10m","fired_at":"2026-12-03T09:00:00Z","resolved_at":null,
         "money_at_risk":[{"currency":"EUR","amount":"12480.00"},{"currency":"USD","amount":"300.00"}],
         "hint":"patchbay failed --connector erp"}
        """

    static func hub(_ target: ScriptedTarget) async throws -> RunningHub {
        try await RunningHub(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              ops-slack:
                module: slack
                url: "${SLACK_WEBHOOK_URL}"
                subscribe: [alert]
                retry: {max_attempts: 5, base_delay: 30s}
            """, environment: ["SLACK_WEBHOOK_URL": "\(target.url)\(path)"])
    }

    /// Every text the hub stored about the delivery: its last error and each attempt's texts.
    static func storedTexts(_ hub: RunningHub) throws -> [String] {
        try hub.deliveries(to: "ops-slack").flatMap { delivery in
            [delivery.lastError].compactMap { $0 }
                + (try hub.store.attempts(delivery: delivery.id)).flatMap { [$0.error, $0.responseExcerpt].compactMap { $0 } }
        }
    }

    @Test("Slack receives the alert as an incoming-webhook message and its 200 ok is a delivery")
    func slackReceivesTheMessage() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        target.script(Self.path) { _, _ in Reply(status: 200, body: "ok") }
        let hub = try await Self.hub(target)
        _ = try await hub.postEvent("alert", body: Self.alert)
        try await hub.wait { try hub.deliveries(to: "ops-slack").first?.state == .delivered }
        #expect(try hub.deliveries(to: "ops-slack").first?.state == .delivered)

        let received = try #require(target.requests(Self.path).first)
        #expect(received.headers["content-type"] == "application/json")
        let json = try #require(received.json)
        let text = try #require(json["text"] as? String)
        #expect(text.hasPrefix(":rotating_light: FIRING erp-failing — erp has been failing for 12m: HTTP 503 Service Unavailable"))
        #expect(text.contains("EUR 12480.00") && text.contains("USD 300.00"))
        #expect(text.contains("`patchbay failed --connector erp`"))
        #expect((json["blocks"] as? [Any])?.isEmpty == false)
        #expect(try Self.storedTexts(hub).allSatisfy { !$0.contains(Self.token) })
        await hub.stop()
    }

    @Test("404 no_service is dead at once with Slack's code explained; the webhook URL is in no stored text")
    func noServiceIsPermanent() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        target.script(Self.path) { _, _ in Reply(status: 404, body: "no_service") }
        let hub = try await Self.hub(target)
        _ = try await hub.postEvent("alert", body: Self.alert)
        try await hub.wait { try hub.deliveries(to: "ops-slack").first?.state == .dead }
        let delivery = try #require(try hub.deliveries(to: "ops-slack").first)
        #expect(delivery.state == .dead && delivery.attempts == 1)
        #expect(delivery.lastStatus == 404)
        #expect(delivery.lastError?.contains("no_service: the webhook was disabled or removed") == true, "\(delivery.lastError ?? "")")
        #expect(target.requests(Self.path).count == 1)
        #expect(try Self.storedTexts(hub).allSatisfy { !$0.contains(Self.token) })
        await hub.stop()
    }

    @Test("429 with Retry-After is retried after the delay Slack asked for")
    func rateLimitedIsRetriedAfterTheDelay() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        target.script(Self.path) { _, _ in Reply(status: 429, headers: ["Retry-After": "120"], body: "rate_limited") }
        let hub = try await Self.hub(target)
        let posted = Date()
        _ = try await hub.postEvent("alert", body: Self.alert)
        try await hub.wait { try hub.deliveries(to: "ops-slack").first?.state == .retrying }
        let delivery = try #require(try hub.deliveries(to: "ops-slack").first)
        #expect(delivery.state == .retrying && delivery.lastStatus == 429)
        #expect(delivery.lastError?.contains("retry after 120 s") == true, "\(delivery.lastError ?? "")")
        // Not the 30 s base delay: the 120 s Slack asked for (generous bounds, no timing race).
        let next = try #require(delivery.nextAttemptAt)
        let wait = Double(next) / 1000 - posted.timeIntervalSince1970
        #expect(wait > 100 && wait < 200, "next attempt in \(wait) s")
        await hub.stop()
    }

    @Test("a redirect from the webhook URL is never a delivery, and is not followed")
    func redirectIsNotDelivered() async throws {
        let target = try await ScriptedTarget()
        let elsewhere = try await ScriptedTarget()
        defer { target.stop(); elsewhere.stop() }
        target.script(Self.path) { _, _ in Reply(status: 302, headers: ["Location": "\(elsewhere.url)/collect/here"]) }
        let hub = try await Self.hub(target)
        _ = try await hub.postEvent("alert", body: Self.alert)
        try await hub.wait { try hub.deliveries(to: "ops-slack").first?.state == .retrying }
        let delivery = try #require(try hub.deliveries(to: "ops-slack").first)
        #expect(delivery.state == .retrying && delivery.lastStatus == 302)
        #expect(elsewhere.requests("/collect/here").isEmpty)
        await hub.stop()
    }

    @Test("whatever Slack's side echoes of the webhook URL is redacted before it is stored")
    func echoedURLIsRedacted() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let url = "\(target.url)\(Self.path)"
        target.script(Self.path) { _, _ in
            Reply(status: 500, body: "upstream failed posting to \(url) (token \(Self.token))")
        }
        let hub = try await Self.hub(target)
        _ = try await hub.postEvent("alert", body: Self.alert)
        try await hub.wait { try hub.deliveries(to: "ops-slack").first?.state == .retrying }
        let texts = try Self.storedTexts(hub)
        #expect(!texts.isEmpty)
        #expect(texts.allSatisfy { !$0.contains(Self.token) && !$0.contains(Self.path) }, "\(texts)")
        #expect(texts.contains { $0.contains("[redacted]") }, "\(texts)")
        await hub.stop()
    }
}
