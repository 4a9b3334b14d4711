import PatchbayValues

/// An exact sum of money in one currency: never added to another currency's.
public struct CurrencyAmount: Sendable, Equatable, Codable {
    /// ISO 4217: `"EUR"`.
    public var currency: String
    /// Minor units of `currency` (cents, yen, fils).
    public var minor: Int64
    /// The failing deliveries whose amounts make the sum.
    public var deliveries: Int

    public init(currency: String, minor: Int64, deliveries: Int) {
        self.currency = currency
        self.minor = minor
        self.deliveries = deliveries
    }

    /// For people: `EUR 12,480.00`.
    public var text: String { "\(currency) \(Money.formatGrouped(minor: minor, currency: currency))" }
    /// For JSON and CSV: `12480.00`.
    public var plain: String { Money.format(minor: minor, currency: currency) }
}

/// The money carried by failing deliveries (retrying or dead), per currency, and how many of them
/// carry no amount one can read.
public struct MoneyAtRisk: Sendable, Equatable {
    /// One sum per currency, by currency code.
    public var amounts: [CurrencyAmount]
    /// Failing deliveries whose payload has no top-level `currency` and `total` (a decimal string),
    /// or whose amount does not read as money of that currency (or whose sum would not fit).
    public var withoutAmount: Int

    public init(amounts: [CurrencyAmount] = [], withoutAmount: Int = 0) {
        self.amounts = amounts
        self.withoutAmount = withoutAmount
    }

    public static let none = MoneyAtRisk()

    /// Every failing delivery counted here, with or without an amount.
    public var deliveries: Int { amounts.reduce(0) { $0 + $1.deliveries } + withoutAmount }

    /// The sum in one currency, if any delivery carries that currency.
    public func amount(in currency: String) -> CurrencyAmount? { amounts.first { $0.currency == currency } }

    /// `EUR 12,480.00 · USD 310.50 · 3 without an amount`; `-` when nothing is failing.
    public var summary: String {
        var parts = amounts.map(\.text)
        if withoutAmount > 0 { parts.append("\(withoutAmount) without an amount") }
        return parts.isEmpty ? "-" : parts.joined(separator: " · ")
    }

    /// The sums only, `EUR 12,480.00 · USD 310.50`, or `-`: for narrow columns.
    public var amountsText: String { amounts.isEmpty ? "-" : amounts.map(\.text).joined(separator: " · ") }

    /// For an alert: `EUR 12,480.00 and USD 310.50 of orders not in Xero (3 more without an amount)`;
    /// nil when no failing delivery carries an amount.
    public func sentence(what: String = "orders", notIn system: String) -> String? {
        guard !amounts.isEmpty else { return nil }
        let texts = amounts.map(\.text)
        let joined = texts.count == 1 ? texts[0] : texts.dropLast().joined(separator: ", ") + " and " + texts.last!
        let more = withoutAmount > 0 ? " (\(withoutAmount) more without an amount)" : ""
        return "\(joined) of \(what) not in \(system)\(more)"
    }
}

/// Money at risk over every failing delivery: in total, per connector, per error group.
public struct MoneyAtRiskReport: Sendable, Equatable {
    public var total: MoneyAtRisk
    public var byConnector: [ConnectorID: MoneyAtRisk]
    /// By `ErrorGroup.id`. A failing delivery with no error signature is in no group.
    public var byGroup: [Int64: MoneyAtRisk]

    public init(total: MoneyAtRisk = .none, byConnector: [ConnectorID: MoneyAtRisk] = [:],
                byGroup: [Int64: MoneyAtRisk] = [:]) {
        self.total = total
        self.byConnector = byConnector
        self.byGroup = byGroup
    }

    public static let empty = MoneyAtRiskReport()

    public func connector(_ id: ConnectorID) -> MoneyAtRisk { byConnector[id] ?? .none }
    public func group(_ id: Int64) -> MoneyAtRisk { byGroup[id] ?? .none }
}

/// How every backend turns its rows into money at risk, so that both apply the same rules.
///
/// A backend runs one aggregate query over the failing deliveries joined to their events and
/// error groups, grouped by (connector, error group, the payload's top-level `currency` and
/// `total` when each is a JSON string), with a count; it adds each row here. The amount is read
/// with `Money.parseMinor` in the currency's own minor units and multiplied by the count, exactly
/// in integers. Sums are kept per currency and never added across currencies.
public struct MoneyAtRiskTally: Sendable {
    private struct Sums {
        var amounts: [String: (minor: Int64, deliveries: Int)] = [:]
        var withoutAmount = 0
        /// Adds `count` deliveries of `minor` each (nil: without an amount). False on overflow (nothing added).
        mutating func add(currency: String, minor: Int64, count: Int) -> Bool {
            let (product, overflow1) = minor.multipliedReportingOverflow(by: Int64(count))
            let current = amounts[currency] ?? (0, 0)
            let (sum, overflow2) = current.minor.addingReportingOverflow(product)
            guard !overflow1, !overflow2 else { return false }
            amounts[currency] = (sum, current.deliveries + count)
            return true
        }
        var risk: MoneyAtRisk {
            MoneyAtRisk(amounts: amounts.keys.sorted().map { CurrencyAmount(currency: $0, minor: amounts[$0]!.minor,
                                                                           deliveries: amounts[$0]!.deliveries) },
                        withoutAmount: withoutAmount)
        }
    }

    private var total = Sums()
    private var connectors: [ConnectorID: Sums] = [:]
    private var groups: [Int64: Sums] = [:]

    public init() {}

    /// The amount of one payload, by the rule above: nil when it has none that reads as money.
    public static func amount(currency: String?, total: String?) -> (currency: String, minor: Int64)? {
        guard let currency, Currency.isValidCode(currency), let total,
              let minor = try? Money.parseMinor(total, currency: currency) else { return nil }
        return (currency, minor)
    }

    /// One row of a backend's aggregate: `count` failing deliveries of `connector` in `group` whose
    /// payloads have this `currency` and `total` (each nil when absent or not a JSON string).
    public mutating func add(connector: ConnectorID, group: Int64?, currency: String?, total: String?, count: Int) {
        guard count > 0 else { return }
        let amount = Self.amount(currency: currency, total: total)
        // The three sums take the row alike: a sum that would overflow counts it as without an amount
        // everywhere, so a connector's figures always add up to its groups' and the total's.
        var trial = (self.total, connectors[connector] ?? Sums(), group.map { groups[$0] ?? Sums() })
        var fits = amount != nil
        if let amount {
            fits = trial.0.add(currency: amount.currency, minor: amount.minor, count: count)
                && trial.1.add(currency: amount.currency, minor: amount.minor, count: count)
                && (trial.2 == nil || trial.2!.add(currency: amount.currency, minor: amount.minor, count: count))
        }
        if !fits {
            trial = (self.total, connectors[connector] ?? Sums(), group.map { groups[$0] ?? Sums() })
            trial.0.withoutAmount += count
            trial.1.withoutAmount += count
            trial.2?.withoutAmount += count
        }
        self.total = trial.0
        connectors[connector] = trial.1
        if let group, let sums = trial.2 { groups[group] = sums }
    }

    public var report: MoneyAtRiskReport {
        MoneyAtRiskReport(total: total.risk, byConnector: connectors.mapValues(\.risk), byGroup: groups.mapValues(\.risk))
    }
}
