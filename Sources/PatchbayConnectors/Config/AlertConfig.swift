import Foundation
import PatchbayHub
import PatchbayStore

extension HubConfig {
    /// The channel names `alerts:` names (its `notify:` and every rule's), read before the
    /// connectors so a sink that only receives alerts needs no `subscribe:`.
    static func alertChannelNames(_ reader: OptionReader) -> Set<String> {
        var names = Set(strings(reader.node("notify")))
        if case .mapping(let entries, _)? = reader.node("rules") {
            for entry in entries {
                if case .mapping(let keys, _) = entry.value, let notify = keys.first(where: { $0.key == "notify" }) {
                    names.formUnion(strings(notify.value))
                }
            }
        }
        return names
    }

    private static func strings(_ node: ConfigNode?) -> [String] {
        switch node {
        case .scalar(let text, _)?: return [text]
        case .sequence(let items, _)?: return items.compactMap { if case .scalar(let t, _) = $0 { return t } else { return nil } }
        default: return []
        }
    }

    /// `alerts:` with `every`, `repeat`, `notify` (the default channels) and `rules` (by name).
    static func readAlerts(_ reader: OptionReader, connectors: [ConnectorDefinition]) -> AlertSettings {
        var settings = AlertSettings()
        if let v = reader.duration("every", in: 1...3600) { settings.every = v }
        if reader.string("repeat")?.lowercased() == "off" {
            settings.repeatEvery = nil
        } else if let v = reader.duration("repeat", in: 60...(30 * 86400)) {
            settings.repeatEvery = v
        }
        let defaults = reader.strings("notify") ?? []
        let sinks = Set(connectors.filter { $0.role == .sink }.map(\.name))
        let all = Set(connectors.map(\.name))
        func checkChannels(_ names: [String], _ at: OptionReader, _ key: String) {
            for name in names where !sinks.contains(name) {
                at.problem(key, all.contains(name) ? "'\(name)' is not a sink; alerts go to sinks (slack, http, exec, smtp)"
                                                   : "'\(name)' is not a connector of this file")
            }
        }
        checkChannels(defaults, reader, "notify")
        guard let rules = reader.child("rules") else {
            reader.problem(nil, "missing required key 'rules'")
            reader.finish()
            return settings
        }
        for name in rules.keys {
            guard let r = rules.child(name) else { continue }
            guard let kind = r.choice("kind", as: AlertKind.self, required: true) else {
                r.ignoreRemainingKeys()
                r.finish()
                continue
            }
            var rule = AlertRule(name: name, kind: kind, notify: r.strings("notify") ?? defaults)
            if rule.notify.isEmpty { r.problem(nil, "no channel: set notify: [CONNECTOR] here or in alerts.notify") }
            checkChannels(r.has("notify") ? rule.notify : [], r, "notify")
            let key = kind == .batchLate ? "job" : "connector"
            if let target = r.string(key) {
                if let definition = connectors.first(where: { $0.name == target }) {
                    let fits: Bool
                    switch kind {
                    case .batchLate: fits = definition.role == .batch
                    case .sourceQuiet: fits = definition.role == .source
                    case .deadLetters, .connectorFailing, .queueAge, .failureRate: fits = definition.role == .sink
                    case .connectorPaused: fits = definition.role == .sink
                    case .invoicesOverdue: fits = false
                    case .quotaLow: fits = definition.built.saasConnection?.quota != nil
                    }
                    if !fits, kind == .quotaLow {
                        r.problem(key, "'\(target)' reads no API quota; quota_low watches connectors that do (the xero sink, xero-invoices-pull)")
                    } else if !fits {
                        r.problem(key, "'\(target)' is a \(definition.role) connector; \(kind.rawValue) watches "
                                  + (kind == .batchLate ? "batch jobs" : kind == .sourceQuiet ? "sources" : "sinks"))
                    }
                } else {
                    r.problem(key, "'\(target)' is not a connector of this file")
                }
                rule.connector = target
            }
            switch kind {
            case .deadLetters:
                if let v = r.int("above", in: 0...100_000_000) { rule.threshold = Double(v) }
            case .failureRate:
                if let text = r.string("above") {
                    let number = text.hasSuffix("x") || text.hasSuffix("×") ? String(text.dropLast()) : text
                    if let v = Double(number), v >= 1, v <= 1000 { rule.threshold = v } else {
                        r.problem("above", "expected a multiple of the usual rate like 3x, found '\(text)'")
                    }
                }
                if let v = r.int("min_attempts", in: 1...1_000_000) { rule.minimum = v }
            case .sourceQuiet:
                if let text = r.string("below") {
                    let number = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
                    if let v = number, v > 0, v <= 1 { rule.threshold = v } else {
                        r.problem("below", "expected a share of the usual volume like 20%, found '\(text)'")
                    }
                }
                if let v = r.int("min_usual", in: 1...1_000_000_000) { rule.minimum = v }
            case .connectorFailing, .queueAge, .batchLate:
                let spanKey = kind == .queueAge ? "older_than" : "for"
                if let v = r.duration(spanKey, in: 1...(366 * 86400)) { rule.span = v }
            case .invoicesOverdue:
                if let text = r.string("above") {
                    let parts = text.split(separator: " ").map(String.init)
                    if parts.count == 2, Currency.isValidCode(parts[0].uppercased()), let v = Double(parts[1].replacingOccurrences(of: ",", with: "")), v >= 0 {
                        rule.currency = parts[0].uppercased()
                        rule.threshold = v
                    } else if parts.count == 1, let v = Double(parts[0].replacingOccurrences(of: ",", with: "")), v >= 0 {
                        rule.threshold = v
                    } else {
                        r.problem("above", "expected an amount like 10000 or \"EUR 10000\", found '\(text)'")
                    }
                }
            case .connectorPaused:
                break
            case .quotaLow:
                if let text = r.string("below") {
                    if text.hasSuffix("%"), let v = Double(text.dropLast()), v > 0, v < 100 {
                        rule.threshold = v / 100
                    } else if let v = Int(text), v > 0, v <= 10_000_000 {
                        rule.minimum = v
                    } else {
                        r.problem("below", "expected a share of the day's limit like 10%, or a count of calls like 500, found '\(text)'")
                    }
                }
            }
            r.finish()
            settings.rules.append(rule)
        }
        rules.finish()
        reader.finish()
        return settings
    }

    /// `breaker:` on a sink: `off`, or `{after: 20, probe_every: 30s}`.
    static func readBreaker(_ reader: OptionReader) -> BreakerPolicy? {
        guard reader.has("breaker") else { return .default }
        if case .scalar(let text, _)? = reader.node("breaker") {
            if ["off", "false", "no"].contains(text.lowercased()) { return nil }
            reader.problem("breaker", "expected off or a mapping like {after: 20, probe_every: 30s}, found '\(text)'")
            return .default
        }
        guard let b = reader.child("breaker") else { return .default }
        var policy = BreakerPolicy.default
        if let v = b.int("after", in: 1...100_000) { policy.after = v }
        if let v = b.duration("probe_every", in: 1...86400) { policy.probeEvery = v }
        b.finish()
        return policy
    }
}
