import Foundation
import Logging
import PatchbayConnectors
import PatchbayHub
import PatchbayStore
import ServiceLifecycle

/// Evaluates `alerts.rules` every `alerts.every` and sends what changed through the channels.
///
/// A notification is an event of the internal source `patchbay.alerts` on topic `alert`, delivered
/// to the rule's channels (sinks) by their workers with the usual retries, so an alert is as durable
/// as any message and visible in the event history. Each notification's idempotency key is
/// `alert-<id>-<n>` (its number within the alert), and the alert's count moves only after the event
/// is stored: a crash in between sends the same key again, which the ingest dedupes.
struct AlertService: Service, CustomStringConvertible {
    var description: String { "AlertService" }
    /// The internal source alerts are events of.
    static let sourceName = alertSourceName
    let runtime: HubRuntime

    func run() async throws {
        guard !runtime.config.alerts.rules.isEmpty else { return }
        // The first pass waits one period: workers and batch jobs that are due at start run first,
        // so a hub that was down does not page for what its own start is about to fix.
        try? await gracefulShutdownSleep(runtime.config.alerts.every)
        // Ends when the service group tells it to (its turn in the shutdown order), not before:
        // a service that returns while the group shuts down others is reported as failed.
        while !(Task.isShuttingDownGracefully || Task.isCancelled) {
            do {
                try await Self.evaluate(runtime: runtime, now: Date())
            } catch {
                runtime.logger.error("alert evaluation failed", metadata: ["error": "\(error)"])
            }
            try? await gracefulShutdownSleep(runtime.config.alerts.every)
        }
    }

    /// One pass: read, evaluate, and fire, repeat or resolve. Several nodes: the pass runs where the
    /// `patchbay.alerts` job lock is taken.
    static func evaluate(runtime: HubRuntime, now: Date) async throws {
        let store = runtime.store
        var lock: (any JobLock)?
        if let locks = store as? any JobLocks {
            guard let taken = try await Blocking.run({ try locks.tryJobLock(sourceName) }) else { return }
            lock = taken
        }
        defer { lock?.release() }
        let settings = runtime.config.alerts
        let kinds = Set(settings.rules.map(\.kind))
        let inputs = try await Blocking.run { try readInputs(store, now: now, kinds: kinds) }
        let findings = AlertEvaluator.evaluate(settings.rules, inputs)
        let firing = try await Blocking.run { try store.firingAlerts() }
        let rules = Dictionary(settings.rules.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var open: [String: AlertRecord] = [:]
        for alert in firing { open["\(alert.rule)\u{0}\(alert.subject)"] = alert }
        var held: Set<String> = []
        for finding in findings {
            let key = "\(finding.rule)\u{0}\(finding.subject)"
            held.insert(key)
            guard let rule = rules[finding.rule] else { continue }
            if let alert = open[key], alert.notifications > 0 {
                let repeatDue = settings.repeatEvery.map { Double(now.millis - (alert.lastNotifiedAt ?? alert.firedAt)) >= $0 * 1000 } ?? false
                if repeatDue {
                    var current = alert
                    current.summary = finding.summary
                    current.value = finding.value
                    try await notify(runtime, rule: rule, alert: current, notification: "repeat", inputs: inputs, now: now)
                    try await Blocking.run {
                        try store.updateAlert(alert.id, summary: finding.summary, value: finding.value, notified: true, now: now)
                    }
                } else if alert.summary != finding.summary || alert.value != finding.value {
                    try await Blocking.run {
                        try store.updateAlert(alert.id, summary: finding.summary, value: finding.value, notified: false, now: now)
                    }
                }
            } else {
                // New, or stored by a pass that crashed before its first notice was.
                let alert = try await Blocking.run { try store.fireAlert(finding, now: now) }
                runtime.logger.warning("alert firing", metadata: [
                    "rule": "\(alert.rule)", "subject": "\(alert.subject)", "summary": "\(finding.summary)",
                ])
                try await notify(runtime, rule: rule, alert: alert, notification: "fired", inputs: inputs, now: now)
                try await Blocking.run {
                    try store.updateAlert(alert.id, summary: finding.summary, value: finding.value, notified: true, now: now)
                }
            }
        }
        for alert in firing where !held.contains("\(alert.rule)\u{0}\(alert.subject)") {
            let summary = "resolved: \(alert.summary)"
            var resolved = alert
            resolved.state = .resolved
            resolved.summary = summary
            resolved.resolvedAt = now.millis
            // A rule taken out of the configuration resolves its alerts without a notice.
            if let rule = rules[alert.rule] {
                try await notify(runtime, rule: rule, alert: resolved, notification: "resolved", inputs: inputs, now: now)
            }
            try await Blocking.run { try store.resolveAlert(alert.id, summary: summary, now: now) }
            runtime.logger.notice("alert resolved", metadata: ["rule": "\(alert.rule)", "subject": "\(alert.subject)"])
        }
    }

    /// Reads what the configured rules need, nothing more: money at risk (a scan of the failing
    /// deliveries' payloads) only for rules whose words carry it, aging only for overdue invoices.
    static func readInputs(_ store: any HubStore, now: Date, kinds: Set<AlertKind> = Set(AlertKind.allCases)) throws
        -> AlertInputs
    {
        let buckets = AlertInputs.baselineBuckets(now: now)
        let hourly = kinds.contains(.failureRate) || kinds.contains(.sourceQuiet) ? try store.hourlyCounts(buckets: buckets) : [:]
        var overdue: [String: Int64] = [:]
        if kinds.contains(.invoicesOverdue) {
            for report in try store.aging(asOf: now.isoDay, by: .due) {
                overdue[report.currency] = report.buckets[.over90]?.amountMinor ?? 0
            }
        }
        var money: [ConnectorID: [String: Int64]] = [:]
        var usual: [ConnectorID: Int]?
        if let reading = store as? any HealthReading {
            if !kinds.isDisjoint(with: [.connectorFailing, .deadLetters, .failureRate, .connectorPaused]) {
                for (connector, risk) in try reading.moneyAtRiskReport().byConnector {
                    money[connector] = Dictionary(risk.amounts.map { ($0.currency, $0.minor) }, uniquingKeysWith: +)
                }
            }
            // "Usual" means what `status` and the dashboard call usual.
            if kinds.contains(.sourceQuiet) {
                usual = try reading.sourceHealth(window: 3600, now: now).compactMapValues(\.usual)
            }
        }
        return AlertInputs(
            now: now, statuses: try store.connectorStatuses(),
            lastHour: try store.minuteCounts(sinceMinute: now.millis / 60_000 - 59),
            sameHourBefore: buckets.map { hourly[$0] ?? [:] },
            oldestWaiting: kinds.contains(.queueAge) ? try store.oldestWaiting() : [:],
            batchRuns: kinds.contains(.batchLate) ? try store.batchJobRuns() : [],
            overdue90: overdue, moneyAtRisk: money, sourceUsual: usual,
            quotas: kinds.contains(.quotaLow)
                ? Dictionary(try store.quotas().map { ($0.connector, $0) }, uniquingKeysWith: { a, b in a.observedAt >= b.observedAt ? a : b })
                : [:])
    }

    /// Stores the notification as an event for the rule's channels and wakes their workers.
    static func notify(_ runtime: HubRuntime, rule: AlertRule, alert: AlertRecord, notification: String,
                       inputs: AlertInputs, now: Date) async throws {
        let targets = rule.notify.compactMap { name in runtime.config.connector(named: name).map {
            DeliveryTarget(connectorId: runtime.id(of: name), maxAttempts: $0.retry.maxAttempts)
        } }
        guard !targets.isEmpty, let source = runtime.alertSource else { return }
        let connector = inputs.statuses.first { $0.connector.name == alert.subject }?.connector
        let money = connector.flatMap { inputs.moneyAtRisk[$0.id] } ?? [:]
        let payload = AlertPayload(alert: alert, notification: notification, money: money)
        let event = NewEvent(topic: "alert", sourceId: source, idempotencyKey: "alert-\(alert.id)-\(alert.notifications + 1)",
                             payload: payload.json, receivedAt: now, correlationId: "alert-\(alert.id)", targets: targets)
        _ = try await runtime.ingest.submit(event)
        for target in targets { await runtime.wake(target.connectorId) }
    }
}

/// The JSON body every channel receives (topic `alert`).
struct AlertPayload {
    let alert: AlertRecord
    let notification: String
    let money: [String: Int64]

    var json: String {
        var object: [String: Any] = [
            "type": "alert", "alert_id": alert.id, "rule": alert.rule, "kind": alert.kind.rawValue,
            "state": alert.state.rawValue, "notification": notification, "subject": alert.subject,
            "summary": alert.summary, "fired_at": Self.iso(alert.firedAt),
            "resolved_at": alert.resolvedAt.map(Self.iso) ?? NSNull(),
            "value": alert.value ?? NSNull(), "threshold": alert.threshold ?? NSNull(),
            "money_at_risk": money.keys.sorted().map { ["currency": $0, "amount": Money.format(minor: money[$0]!, currency: $0)] },
        ]
        switch alert.kind {
        case .connectorFailing, .deadLetters, .failureRate, .connectorPaused:
            object["hint"] = "patchbay failed --connector \(alert.subject)"
        case .queueAge: object["hint"] = "patchbay status"
        case .sourceQuiet: object["hint"] = "patchbay events --source \(alert.subject)"
        case .batchLate: object["hint"] = "patchbay status"
        case .invoicesOverdue: object["hint"] = "patchbay aging --currency \(alert.subject)"
        case .quotaLow: object["hint"] = "patchbay status (API quotas); slow the connector's rate_limit or pause a pull until the quota resets"
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func iso(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(millis: millis))
    }
}
