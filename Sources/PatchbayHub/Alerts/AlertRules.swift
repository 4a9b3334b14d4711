import Foundation
import PatchbayStore
import PatchbayValues

/// One rule of `alerts.rules` in patchbay.yaml.
public struct AlertRule: Sendable, Equatable {
    public var name: String
    public var kind: AlertKind
    /// The connector (or batch job) it watches; nil watches every one the kind applies to.
    public var connector: String?
    /// `dead_letters`: the count; `failure_rate`: the multiple of the usual rate; `source_quiet`: the
    /// share of the usual volume below which a source is quiet; `invoices_overdue`: the amount in
    /// major units.
    public var threshold: Double
    /// `connector_failing`, `queue_age`, `batch_late`: how long.
    public var span: TimeInterval
    /// `invoices_overdue`: only this currency (amounts are never added across currencies).
    public var currency: String?
    /// `failure_rate`: the fewest attempts in the hour; `source_quiet`: the smallest usual volume an
    /// hour that makes quiet meaningful; `quota_low`: a count of calls left below which it fires
    /// (`below: 500`), instead of a share of the day's limit (`below: 10%`, `threshold`).
    public var minimum: Int
    /// Channels (sink connectors) its notifications go to.
    public var notify: [String]

    public init(name: String, kind: AlertKind, connector: String? = nil, threshold: Double? = nil,
                span: TimeInterval? = nil, currency: String? = nil, minimum: Int? = nil, notify: [String]) {
        self.name = name
        self.kind = kind
        self.connector = connector
        self.threshold = threshold ?? Self.defaultThreshold(kind)
        self.span = span ?? Self.defaultSpan(kind)
        self.currency = currency
        self.minimum = minimum ?? (kind == .sourceQuiet ? 10 : kind == .quotaLow ? 0 : 20)
        self.notify = notify
    }

    static func defaultThreshold(_ kind: AlertKind) -> Double {
        switch kind {
        case .failureRate: return 3
        case .deadLetters: return 0
        case .sourceQuiet: return 0.2
        case .invoicesOverdue: return 0
        case .quotaLow: return 0.1
        default: return 0
        }
    }

    static func defaultSpan(_ kind: AlertKind) -> TimeInterval {
        switch kind {
        case .connectorFailing: return 600
        case .queueAge: return 1800
        case .batchLate: return 26 * 3600
        default: return 0
        }
    }
}

/// `alerts:` in patchbay.yaml.
public struct AlertSettings: Sendable, Equatable {
    /// How often rules are evaluated.
    public var every: TimeInterval = 30
    /// How often a firing alert is sent again; nil never repeats.
    public var repeatEvery: TimeInterval? = 4 * 3600
    public var rules: [AlertRule] = []

    public init(every: TimeInterval = 30, repeatEvery: TimeInterval? = 4 * 3600, rules: [AlertRule] = []) {
        self.every = every
        self.repeatEvery = repeatEvery
        self.rules = rules
    }

    /// Every channel any rule names.
    public var channels: Set<String> { Set(rules.flatMap(\.notify)) }
}

/// What rules are evaluated over, read in one go (counters and small indexed reads).
public struct AlertInputs: Sendable {
    public var now: Date
    public var statuses: [ConnectorStatus]
    /// The last 60 minutes, per connector.
    public var lastHour: [ConnectorID: RollupCounts]
    /// The same hour of the week in each of the previous weeks that have counts, per connector.
    public var sameHourBefore: [[ConnectorID: RollupCounts]]
    public var oldestWaiting: [ConnectorID: Int64]
    public var batchRuns: [BatchJobRuns]
    /// Open amounts more than 90 days past due, in minor units, per currency.
    public var overdue90: [String: Int64]
    /// Money at risk per connector, per currency (minor units), where known.
    public var moneyAtRisk: [ConnectorID: [String: Int64]]
    /// Each source's usual volume for these 60 minutes as `status` computes it (`SourceActivityRule`:
    /// the median of past weeks), when the store offers it; a source missing from it has no usual
    /// yet. Nil: not offered, and the mean of `sameHourBefore` stands in.
    public var sourceUsual: [ConnectorID: Int]?
    /// Each connector's last quota reading (Xero's rate-limit headers), for `quota_low`.
    public var quotas: [ConnectorID: APIQuota]

    public init(now: Date, statuses: [ConnectorStatus], lastHour: [ConnectorID: RollupCounts],
                sameHourBefore: [[ConnectorID: RollupCounts]], oldestWaiting: [ConnectorID: Int64],
                batchRuns: [BatchJobRuns], overdue90: [String: Int64], moneyAtRisk: [ConnectorID: [String: Int64]] = [:],
                sourceUsual: [ConnectorID: Int]? = nil, quotas: [ConnectorID: APIQuota] = [:]) {
        self.quotas = quotas
        self.now = now
        self.statuses = statuses
        self.lastHour = lastHour
        self.sameHourBefore = sameHourBefore
        self.oldestWaiting = oldestWaiting
        self.batchRuns = batchRuns
        self.overdue90 = overdue90
        self.moneyAtRisk = moneyAtRisk
        self.sourceUsual = sourceUsual
    }

    /// The hour buckets `sameHourBefore` reads: the hour of `now - 30 min` in each of the `weeks` before.
    public static func baselineBuckets(now: Date, weeks: Int = 4) -> [Int64] {
        let hour = (now.millis - 1_800_000) / 3_600_000
        return (1...max(1, weeks)).map { hour - Int64($0) * 168 }
    }

    /// A connector's usual count of one kind for this hour of the week: the mean over the weeks
    /// since the connector existed (a new connector has no usual yet: nil).
    func usual(_ connector: Connector, _ count: (RollupCounts) -> Int) -> Double? {
        let buckets = Self.baselineBuckets(now: now, weeks: sameHourBefore.count)
        var sum = 0, weeks = 0
        for (index, counts) in sameHourBefore.enumerated() where index < buckets.count {
            // Weeks before the connector was created say nothing about it.
            guard (buckets[index] + 1) * 3_600_000 > connector.createdAt else { continue }
            sum += counts[connector.id].map(count) ?? 0
            weeks += 1
        }
        return weeks == 0 ? nil : Double(sum) / Double(weeks)
    }
}

/// Turns rules and inputs into findings: pure, so every kind is tested from plain data.
public enum AlertEvaluator {
    public static func evaluate(_ rules: [AlertRule], _ inputs: AlertInputs) -> [AlertFinding] {
        rules.flatMap { evaluate($0, inputs) }
    }

    static func evaluate(_ rule: AlertRule, _ input: AlertInputs) -> [AlertFinding] {
        let now = input.now.millis
        func watched(_ direction: ConnectorDirection?) -> [ConnectorStatus] {
            input.statuses.filter { status in
                let c = status.connector
                if let name = rule.connector { return c.name == name }
                if c.health == .orphaned || c.pattern == .batch || c.name == alertSourceName { return false }
                return direction == nil || c.direction == direction
            }
        }
        func finding(_ subject: String, _ summary: String, value: String?, threshold: String?) -> AlertFinding {
            AlertFinding(rule: rule.name, kind: rule.kind, subject: subject, summary: summary, value: value,
                         threshold: threshold)
        }
        func atRisk(_ connector: ConnectorID) -> String {
            guard let sums = input.moneyAtRisk[connector], !sums.isEmpty else { return "" }
            let parts = sums.keys.sorted().map { "\($0) \(Money.formatGrouped(minor: sums[$0]!, currency: $0))" }
            return "; at risk: " + parts.joined(separator: ", ")
        }
        switch rule.kind {
        case .deadLetters:
            if rule.connector == nil {
                let dead = input.statuses.reduce(0) { $0 + $1.count(.dead) }
                guard Double(dead) > rule.threshold else { return [] }
                return [finding("*", "\(dead) dead deliver\(dead == 1 ? "y" : "ies") (more than \(Int(rule.threshold)))",
                                value: "\(dead)", threshold: "\(Int(rule.threshold))")]
            }
            return watched(.sink).compactMap { status in
                let dead = status.count(.dead)
                guard Double(dead) > rule.threshold else { return nil }
                return finding(status.connector.name,
                               "\(status.connector.name) has \(dead) dead deliver\(dead == 1 ? "y" : "ies") (more than \(Int(rule.threshold)))"
                                   + atRisk(status.connector.id),
                               value: "\(dead)", threshold: "\(Int(rule.threshold))")
            }
        case .connectorFailing:
            return watched(.sink).compactMap { status in
                let c = status.connector
                guard let lastError = c.lastErrorAt, status.count(.retrying) + status.count(.dead) > 0 else { return nil }
                let lastOK = c.lastSuccessAt ?? c.createdAt
                guard lastError > lastOK, Double(now - lastOK) >= rule.span * 1000,
                      Double(now - lastError) < max(rule.span, 600) * 1000 else { return nil }
                let failing = Span.format(seconds: Double(now - lastOK) / 1000)
                let error = c.lastError.map { ": \($0)" } ?? ""
                return finding(c.name, "\(c.name) has had no success for \(failing)\(error)" + atRisk(c.id),
                               value: failing, threshold: Span.format(seconds: rule.span))
            }
        case .queueAge:
            return watched(.sink).compactMap { status in
                guard let oldest = input.oldestWaiting[status.connector.id],
                      Double(now - oldest) >= rule.span * 1000 else { return nil }
                let age = Span.format(seconds: Double(now - oldest) / 1000)
                let waiting = status.count(.pending) + status.count(.retrying)
                return finding(status.connector.name,
                               "\(status.connector.name): the oldest of \(waiting) waiting deliveries is \(age) old",
                               value: age, threshold: Span.format(seconds: rule.span))
            }
        case .failureRate:
            return watched(.sink).compactMap { status in
                let c = status.connector
                let hour = input.lastHour[c.id] ?? RollupCounts()
                let attempts = hour.delivered + hour.failed
                guard attempts >= rule.minimum, hour.failed > 0 else { return nil }
                let rate = Double(hour.failed) / Double(attempts)
                let usualFailed = input.usual(c) { $0.failed } ?? 0
                let usualAttempts = input.usual(c) { $0.delivered + $0.failed } ?? 0
                let usualRate = usualAttempts > 0 ? usualFailed / usualAttempts : 0
                // A 1% floor: a target that never failed is not alarming at its first failure.
                guard rate > rule.threshold * max(usualRate, 0.01) else { return nil }
                return finding(c.name, "\(c.name) failed \(percent(rate)) of \(attempts) attempts in the last hour; "
                               + "usually \(percent(usualRate)) at this hour of the week" + atRisk(c.id),
                               value: percent(rate), threshold: "\(format(rule.threshold))× \(percent(usualRate))")
            }
        case .sourceQuiet:
            return watched(.source).compactMap { status in
                let c = status.connector
                let usual: Double?
                if let shared = input.sourceUsual { usual = shared[c.id].map(Double.init) } else { usual = input.usual(c, { $0.received }) }
                guard let usual, usual >= Double(rule.minimum) else { return nil }
                let received = input.lastHour[c.id]?.received ?? 0
                guard Double(received) < rule.threshold * usual else { return nil }
                return finding(c.name, "\(c.name) received \(received) event\(received == 1 ? "" : "s") in the last hour; "
                               + "usually \(Int(usual.rounded())) at this hour of the week",
                               value: "\(received)", threshold: "\(percent(rule.threshold)) of \(Int(usual.rounded()))")
            }
        case .batchLate:
            let jobs = input.statuses.filter { status in
                if let name = rule.connector { return status.connector.name == name }
                return status.connector.pattern == .batch && status.connector.health != .orphaned
            }
            return jobs.compactMap { status in
                let c = status.connector
                let runs = input.batchRuns.first { $0.job == c.name }
                let since = runs?.lastSucceededAt ?? c.createdAt
                guard Double(now - since) >= rule.span * 1000 else { return nil }
                let late = Span.format(seconds: Double(now - since) / 1000)
                let last = runs?.lastStatus.map { ", last run \($0.rawValue)" } ?? ", never run"
                return finding(c.name, "\(c.name) has not succeeded for \(late)\(last)",
                               value: late, threshold: Span.format(seconds: rule.span))
            }
        case .invoicesOverdue:
            return input.overdue90.keys.sorted().compactMap { (currency: String) -> AlertFinding? in
                if let only = rule.currency, only != currency { return nil }
                let minor = input.overdue90[currency]!
                let limit = Int64((rule.threshold * pow(10, Double(Currency.exponent(of: currency)))).rounded())
                guard minor > limit else { return nil }
                let amount = "\(currency) \(Money.formatGrouped(minor: minor, currency: currency))"
                return finding(currency, "\(amount) of invoices more than 90 days past due "
                               + "(more than \(Money.formatGrouped(minor: limit, currency: currency)))",
                               value: amount, threshold: Money.formatGrouped(minor: limit, currency: currency))
            }
        case .connectorPaused:
            return watched(nil).compactMap { status in
                let c = status.connector
                guard c.paused, let by = c.pausedBy, by != .operator else { return nil }
                return finding(c.name, "\(c.name) is paused: \(c.pausedReason ?? by.rawValue)" + atRisk(c.id),
                               value: by.rawValue, threshold: nil)
            }
        case .quotaLow:
            // Sinks and pulls alike: whichever connectors read a quota.
            return input.statuses.compactMap { status in
                let c = status.connector
                if let name = rule.connector, c.name != name { return nil }
                guard c.health != .orphaned, let quota = input.quotas[c.id], let left = quota.dayRemaining,
                      // A day's quota is new a day later: an older reading says nothing of today.
                      now - quota.observedAt < 86_400_000 else { return nil }
                let floor: Int
                let said: String
                if rule.minimum > 0 {
                    floor = rule.minimum
                    said = "\(rule.minimum)"
                } else {
                    guard let limit = quota.dayLimit, limit > 0 else { return nil }
                    floor = Int((rule.threshold * Double(limit)).rounded(.up))
                    said = "\(percent(rule.threshold)) of \(limit)"
                }
                guard left < floor else { return nil }
                let of = quota.dayLimit.map { " of its \($0)" } ?? ""
                let age = Span.format(seconds: Double(now - quota.observedAt) / 1000)
                return finding(c.name, "\(c.name) has \(left)\(of) API calls left for the day (read \(age) ago); "
                               + "when none are left the provider refuses every call until the quota resets",
                               value: "\(left)", threshold: said)
            }
        }
    }

    static func percent(_ share: Double) -> String {
        let p = share * 100
        return p >= 10 || p == 0 ? "\(Int(p.rounded()))%" : String(format: "%.1f%%", p)
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))" : String(format: "%.1f", value)
    }
}

/// Spans as people say them in alerts: `45s`, `12m`, `3h20m`, `2d4h`.
enum Span {
    static func format(seconds: Double) -> String {
        let s = Int(max(0, seconds))
        switch s {
        case ..<60: return "\(s)s"
        case ..<3600: return "\(s / 60)m"
        case ..<86_400: return "\(s / 3600)h" + (s % 3600 / 60 > 0 ? "\(s % 3600 / 60)m" : "")
        default: return "\(s / 86_400)d" + (s % 86_400 / 3600 > 0 ? "\(s % 86_400 / 3600)h" : "")
        }
    }
}

/// A sink's circuit breaker (`breaker:` on a sink; `breaker: off` turns it off): after `after`
/// attempts in a row failed with retryable errors the connector is paused by the breaker, and one
/// waiting delivery is tried every `probeEvery`; the first that succeeds resumes the connector.
public struct BreakerPolicy: Sendable, Equatable {
    public var after: Int
    public var probeEvery: TimeInterval

    public init(after: Int = 20, probeEvery: TimeInterval = 30) {
        self.after = after
        self.probeEvery = probeEvery
    }

    public static let `default` = BreakerPolicy()
}
