import Foundation
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// Auto-pause and alerts, end to end in one hub: an outage trips the breaker, an alert reaches the
/// channel, nothing waiting burns attempts, a probe resumes the connector when the target is back,
/// and the alert's resolution is sent.
@Suite("Breaker and alerts", .serialized)
struct BreakerAlertTests {
    @Test("an outage trips the breaker and fires an alert; a probe resumes the sink and the alert resolves; nothing is lost")
    func outageTripsAndRecovers() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let up = Flag()
        target.script("/erp/orders") { _, _ in up.isRaised ? .ok : Reply(status: 503, body: "down") }
        let hub = try await RunningHub(yaml: """
            retry: {max_attempts: 5, base_delay: 50ms, max_delay: 100ms}
            alerts:
              every: 1s
              repeat: off
              notify: [oncall]
              rules:
                erp-paused: {kind: connector_paused}
                erp-dead: {kind: dead_letters, connector: erp, above: 0}
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              erp: {module: http, url: "\(target.url)/erp/orders", subscribe: [order_created], breaker: {after: 4, probe_every: 1s}}
              oncall: {module: http, url: "\(target.url)/alerts/oncall"}
            """)
        for n in 0..<6 {
            let (status, body) = try await hub.postEvent("order_created", body: #"{"order":"SO-\#(n)","currency":"EUR","total":"10.00"}"#)
            #expect(status == 200, "\(body)")
        }
        try await hub.wait { try hub.store.connector(named: "erp")?.pausedBy == .breaker }
        let paused = try #require(try hub.store.connector(named: "erp"))
        #expect(paused.paused && paused.pausedReason?.contains("the last 4 attempts failed") == true, "\(paused)")
        try await hub.wait { target.requests("/alerts/oncall").contains { $0.json?["notification"] as? String == "fired" } }
        let fired = try #require(target.requests("/alerts/oncall").first?.json)
        #expect(fired["rule"] as? String == "erp-paused" && fired["subject"] as? String == "erp" && fired["state"] as? String == "firing")
        #expect((fired["summary"] as? String)?.contains("paused by the breaker") == true, "\(fired)")
        // While the breaker is open only probes go out, one a second, and no delivery dies.
        let sentWhenTripped = target.requests("/erp/orders").count
        try await Task.sleep(for: .milliseconds(2500))
        let probes = target.requests("/erp/orders").count - sentWhenTripped
        #expect(probes >= 1 && probes <= 4, "\(probes) requests in 2.5 s with the breaker open")
        #expect(try hub.deliveries(to: "erp").allSatisfy { $0.state != .dead })

        _ = up.raise()
        try await hub.wait { try hub.deliveries(to: "erp").allSatisfy { $0.state == .delivered } }
        #expect(try hub.deliveries(to: "erp").count == 6)
        #expect(try hub.store.connector(named: "erp")?.paused == false)
        try await hub.wait { target.requests("/alerts/oncall").contains { $0.json?["notification"] as? String == "resolved" } }
        let alerts = try hub.store.recentAlerts(limit: 10)
        #expect(alerts.count == 1, "\(alerts)")
        #expect(alerts.first?.state == .resolved && alerts.first?.notifications == 2 && alerts.first?.resolvedAt != nil)
        // Each notification once, by its key, to the channel (no duplicate fired notices).
        let notices = target.requests("/alerts/oncall").compactMap { $0.json?["notification"] as? String }
        #expect(notices == ["fired", "resolved"], "\(notices)")
        await hub.stop()
    }

    @Test("a sink with breaker: off keeps retrying to the end and is never paused")
    func breakerOff() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        target.script("/erp/orders") { _, _ in Reply(status: 503, body: "down") }
        let hub = try await RunningHub(yaml: """
            retry: {max_attempts: 6, base_delay: 20ms, max_delay: 40ms}
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              erp: {module: http, url: "\(target.url)/erp/orders", subscribe: [order_created], breaker: off}
            """)
        for n in 0..<2 { _ = try await hub.postEvent("order_created", body: #"{"order":"SO-\#(n)"}"#) }
        try await hub.wait { try hub.deliveries(to: "erp").allSatisfy { $0.state == .dead } }
        #expect(try hub.store.connector(named: "erp")?.paused == false)
        #expect(target.requests("/erp/orders").count == 12)
        await hub.stop()
    }
}

