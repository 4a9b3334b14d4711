import Foundation

/// An alert event's payload as the channels read it (`slack`, `smtp`).
///
/// The alert engine publishes `{"type":"alert","rule":…,"state":"firing",…}` on topic `alert`.
/// Every field is optional here: a channel must still say something useful when a field is missing,
/// has another type, or the payload is not an alert at all (`Notice.event`, the generic fallback),
/// because a delivery that cannot be mapped would be dead-lettered and the operator would hear
/// nothing.
public struct AlertNotice: Sendable, Equatable {
    /// `fired`, `repeat` or `resolved`: what this notification is.
    public enum Kind: String, Sendable {
        case fired, `repeat`, resolved
    }

    public var kind: Kind
    public var alertId: String?
    public var rule: String
    /// What the rule watches: `connector_failing`, `queue_aging`, …
    public var ruleKind: String?
    public var subject: String?
    public var summary: String
    public var value: String?
    public var threshold: String?
    public var firedAt: String?
    public var resolvedAt: String?
    /// Per currency, in the payload's order; amounts exactly as written, never summed across currencies.
    public var moneyAtRisk: [(currency: String, amount: String)]
    /// A command that shows more (`patchbay failed --connector erp`).
    public var hint: String?

    public init(kind: Kind, alertId: String? = nil, rule: String, ruleKind: String? = nil, subject: String? = nil,
                summary: String, value: String? = nil, threshold: String? = nil, firedAt: String? = nil,
                resolvedAt: String? = nil, moneyAtRisk: [(currency: String, amount: String)] = [], hint: String? = nil) {
        self.kind = kind
        self.alertId = alertId
        self.rule = rule
        self.ruleKind = ruleKind
        self.subject = subject
        self.summary = summary
        self.value = value
        self.threshold = threshold
        self.firedAt = firedAt
        self.resolvedAt = resolvedAt
        self.moneyAtRisk = moneyAtRisk
        self.hint = hint
    }

    public static func == (lhs: AlertNotice, rhs: AlertNotice) -> Bool {
        lhs.kind == rhs.kind && lhs.alertId == rhs.alertId && lhs.rule == rhs.rule && lhs.ruleKind == rhs.ruleKind
            && lhs.subject == rhs.subject && lhs.summary == rhs.summary && lhs.value == rhs.value
            && lhs.threshold == rhs.threshold && lhs.firedAt == rhs.firedAt && lhs.resolvedAt == rhs.resolvedAt
            && lhs.moneyAtRisk.map { "\($0.currency) \($0.amount)" } == rhs.moneyAtRisk.map { "\($0.currency) \($0.amount)" }
            && lhs.hint == rhs.hint
    }

    /// The status word of a headline: `FIRING` or `RESOLVED`.
    public var stateWord: String { kind == .resolved ? "RESOLVED" : "FIRING" }

    /// `FIRING erp-failing`, `FIRING erp-failing (still firing)`, `RESOLVED erp-failing`.
    public var headline: String {
        "\(stateWord) \(rule)" + (kind == .repeat ? " (still firing)" : "")
    }

    /// `EUR 12480.00`, one per currency.
    public var moneyLines: [String] { moneyAtRisk.map { "\($0.currency) \($0.amount)" } }
}

/// What a channel sends for one delivery: an alert, or any other event (the generic fallback).
public enum Notice: Sendable, Equatable {
    case alert(AlertNotice)
    /// Not an alert payload: the topic and the payload as received (possibly not JSON).
    case event(topic: String, payload: String)

    /// Reads a delivery's payload. Never fails: what is not an alert is an `.event`.
    public static func read(topic: String, payload: String) -> Notice {
        guard let json = try? JSONValue.parse(payload), case .object = json,
              json["type"]?.stringValue == "alert" || topic == "alert",
              json["rule"]?.stringValue != nil || json["summary"]?.stringValue != nil
        else { return .event(topic: topic, payload: payload) }

        func text(_ key: String) -> String? {
            switch json[key] {
            case .string(let s)?: return s.isEmpty ? nil : s
            case .number(let token)?: return token
            case .bool(let b)?: return b ? "true" : "false"
            default: return nil
            }
        }
        let state = text("state")?.lowercased()
        let kind: AlertNotice.Kind
        switch text("notification")?.lowercased() {
        case "repeat"?: kind = .repeat
        case "resolved"?: kind = .resolved
        case "fired"?: kind = .fired
        default: kind = state == "resolved" ? .resolved : .fired
        }
        var money: [(currency: String, amount: String)] = []
        for item in json["money_at_risk"]?.arrayValue ?? [] {
            guard let currency = item["currency"]?.stringValue, !currency.isEmpty else { continue }
            let amount = item["amount"]?.stringValue ?? item["amount"]?.numberToken
            guard let amount, !amount.isEmpty else { continue }
            money.append((currency, amount))
        }
        return .alert(AlertNotice(
            kind: kind, alertId: text("alert_id"), rule: text("rule") ?? "alert", ruleKind: text("kind"),
            subject: text("subject"), summary: text("summary") ?? "(no summary)", value: text("value"),
            threshold: text("threshold"), firedAt: text("fired_at"), resolvedAt: text("resolved_at"),
            moneyAtRisk: money, hint: text("hint")))
    }
}

extension AlertNotice {
    /// The details as `label: value` pairs, in reading order, leaving out what the payload lacks.
    public var details: [(label: String, value: String)] {
        var rows: [(String, String)] = []
        if let subject { rows.append(("Subject", subject)) }
        if let ruleKind { rows.append(("Rule kind", ruleKind)) }
        if let value {
            rows.append(("Value", threshold.map { "\(value) (threshold \($0))" } ?? value))
        } else if let threshold {
            rows.append(("Threshold", threshold))
        }
        if let firedAt { rows.append(("Fired at", firedAt)) }
        if let resolvedAt { rows.append(("Resolved at", resolvedAt)) }
        return rows
    }
}
