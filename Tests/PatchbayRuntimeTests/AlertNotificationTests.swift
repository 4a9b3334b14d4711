import Foundation
import Logging
import PatchbayConnectors
@testable import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// An alert's notifications are events with keys of their own (`alert-<id>-<n>`): a pass that
/// crashed after storing a notification and before counting it sends the same key again, which
/// the ingest takes as the same event. Fired once, never repeated before `repeat`, resolved once.
@Suite("Alert notifications")
struct AlertNotificationTests {
    @Test("a crash between a notification and its count sends nothing twice; fired once, resolved once")
    func crashBetweenNoticeAndCount() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.open(at: directory.path("hub.sqlite"), mode: .create(homeCurrency: "EUR"))
        let config = try HubConfig.parse(yaml: """
            alerts:
              every: 1s
              notify: [oncall]
              rules:
                paused: {kind: connector_paused}
            connectors:
              erp: {module: http, url: "http://127.0.0.1:9/erp", subscribe: [order_created]}
              oncall: {module: http, url: "http://127.0.0.1:9/alerts"}
            """, file: "test.yaml", context: ModuleContext(environment: [:], baseDirectory: directory.url, transport: nil))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let runtime = try HubRuntime(config: config, store: store, logger: logger)
        let erp = try #require(try store.connector(named: "erp"))
        let oncall = try #require(try store.connector(named: "oncall"))
        #expect(try store.tripBreaker(connector: erp.id, reason: "paused by the breaker: the last 20 attempts failed", now: Date()))
        let rule = try #require(config.alerts.rules.first)

        // The pass that crashed: the alert stored, its first notice stored, its count never moved.
        let finding = AlertFinding(rule: "paused", kind: .connectorPaused, subject: "erp", summary: "erp is paused")
        let alert = try store.fireAlert(finding, now: Date())
        let inputs = try AlertService.readInputs(store, now: Date())
        try await AlertService.notify(runtime, rule: rule, alert: alert, notification: "fired", inputs: inputs, now: Date())
        #expect(try store.deliveries(connector: oncall.id).count == 1)

        // The next pass sends the same key again (taken as the same event) and counts it.
        try await AlertService.evaluate(runtime: runtime, now: Date())
        #expect(try store.deliveries(connector: oncall.id).count == 1)
        var firing = try store.firingAlerts()
        #expect(firing.count == 1 && firing[0].id == alert.id && firing[0].notifications == 1)
        // Still holding, before `repeat` (4 h by default): nothing more.
        try await AlertService.evaluate(runtime: runtime, now: Date().addingTimeInterval(60))
        #expect(try store.deliveries(connector: oncall.id).count == 1)
        // After `repeat`: one repeat notice.
        try await AlertService.evaluate(runtime: runtime, now: Date().addingTimeInterval(4 * 3600 + 60))
        #expect(try store.deliveries(connector: oncall.id).count == 2)
        firing = try store.firingAlerts()
        #expect(firing.first?.notifications == 2)

        // Resolved once.
        #expect(try store.closeBreaker(connector: erp.id, now: Date()))
        try await AlertService.evaluate(runtime: runtime, now: Date().addingTimeInterval(4 * 3600 + 120))
        try await AlertService.evaluate(runtime: runtime, now: Date().addingTimeInterval(4 * 3600 + 180))
        #expect(try store.deliveries(connector: oncall.id).count == 3)
        #expect(try store.firingAlerts().isEmpty)
        let stored = try #require(try store.recentAlerts(limit: 5).first)
        #expect(stored.state == .resolved && stored.notifications == 3 && stored.resolvedAt != nil)
        // The notices' payloads say what they are.
        let kinds = try store.deliveries(connector: oncall.id).compactMap { delivery -> String? in
            let detail = try store.eventDetail(delivery.eventId)
            let object = try JSONSerialization.jsonObject(with: Data((detail?.event.payload ?? "{}").utf8)) as? [String: Any]
            return object?["notification"] as? String
        }
        #expect(kinds.sorted() == ["fired", "repeat", "resolved"])
    }
}
