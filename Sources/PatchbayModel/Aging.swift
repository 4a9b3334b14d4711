import Foundation
import PatchbayValues

/// Which date an invoice's age counts from.
public enum AgingBasis: String, Sendable, CaseIterable {
    /// Days past the due date; `current` is not yet due (or due on the as-of date).
    case due
    /// Days since the invoice date, with the same bucket edges: `current` is issued on the as-of date
    /// (or later), `1-30` up to 30 days old, and so on.
    case invoice
}

/// An aging column of an A/R report.
public enum AgingBucket: String, Sendable, CaseIterable, Codable {
    case current = "current"
    case days1to30 = "1-30"
    case days31to60 = "31-60"
    case days61to90 = "61-90"
    case over90 = "91+"

    /// `current` for 0 or fewer days, then 1-30, 31-60, 61-90 and 91 or more.
    public static func bucket(daysPastDue days: Int) -> AgingBucket {
        switch days {
        case ...0: return .current
        case 1...30: return .days1to30
        case 31...60: return .days31to60
        case 61...90: return .days61to90
        default: return .over90
        }
    }
}

/// A sum of open balances and how many invoices it adds up.
public struct BucketTotal: Sendable, Equatable {
    public var amountMinor: Int64
    public var count: Int

    public init(amountMinor: Int64 = 0, count: Int = 0) {
        self.amountMinor = amountMinor
        self.count = count
    }
}

/// One customer's open balance in one currency, by bucket.
public struct CustomerAging: Sendable, Equatable {
    public var customer: String
    /// Every bucket is present, zero when empty.
    public var buckets: [AgingBucket: BucketTotal]
    public var totalMinor: Int64
    public var count: Int
    /// The oldest of the customer's open items, in days by the report's basis.
    public var maxDaysPastDue: Int

    public init(customer: String, buckets: [AgingBucket: BucketTotal], totalMinor: Int64, count: Int,
                maxDaysPastDue: Int) {
        self.customer = customer
        self.buckets = buckets
        self.totalMinor = totalMinor
        self.count = count
        self.maxDaysPastDue = maxDaysPastDue
    }

    public subscript(bucket: AgingBucket) -> BucketTotal { buckets[bucket] ?? BucketTotal() }
}

/// The A/R aging of one currency. Currencies are never added together.
public struct CurrencyAging: Sendable, Equatable {
    public var currency: String
    public var asOf: String
    public var basis: AgingBasis
    /// Every bucket is present, zero when empty.
    public var buckets: [AgingBucket: BucketTotal]
    public var totalMinor: Int64
    public var count: Int
    /// Most overdue first: by amount in 91+, then 61-90, down to current, then by name.
    public var customers: [CustomerAging]

    public init(currency: String, asOf: String, basis: AgingBasis, buckets: [AgingBucket: BucketTotal],
                totalMinor: Int64, count: Int, customers: [CustomerAging]) {
        self.currency = currency
        self.asOf = asOf
        self.basis = basis
        self.buckets = buckets
        self.totalMinor = totalMinor
        self.count = count
        self.customers = customers
    }

    public subscript(bucket: AgingBucket) -> BucketTotal { buckets[bucket] ?? BucketTotal() }
}

/// Sums an aging report the way every backend does: per customer, then per currency, refusing
/// to wrap around in minor units.
public enum AgingSums {
    public static let overflowMessage = "open balances add up to more than an Int64 of minor units"

    static func emptyBuckets() -> [AgingBucket: BucketTotal] {
        Dictionary(uniqueKeysWithValues: AgingBucket.allCases.map { ($0, BucketTotal()) })
    }

    /// Adds minor units, refusing to wrap around.
    static func checkedSum(_ a: Int64, _ b: Int64) throws -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw StoreError.invalidInput(overflowMessage) }
        return sum
    }
}

/// One customer's line of an aging report, built invoice group by invoice group.
public struct CustomerAgingBuilder: Sendable {
    public let name: String
    var buckets = AgingSums.emptyBuckets()
    var total: Int64 = 0
    var count = 0
    var maxDays = Int.min

    public init(name: String) { self.name = name }

    /// Adds `count` items of the same age that together are `open`.
    public mutating func add(_ open: Int64, count items: Int, days: Int) throws {
        let bucket = AgingBucket.bucket(daysPastDue: days)
        buckets[bucket]!.amountMinor = try AgingSums.checkedSum(buckets[bucket]!.amountMinor, open)
        buckets[bucket]!.count += items
        total = try AgingSums.checkedSum(total, open)
        count += items
        maxDays = max(maxDays, days)
    }

    public func build() -> CustomerAging {
        CustomerAging(customer: name, buckets: buckets, totalMinor: total, count: count, maxDaysPastDue: maxDays)
    }
}

/// One currency's aging report: its customers' lines, summed and sorted oldest debt first.
public struct CurrencyAgingBuilder: Sendable {
    public let code: String
    var buckets = AgingSums.emptyBuckets()
    var total: Int64 = 0
    var count = 0
    var customers: [CustomerAging] = []

    public init(code: String) { self.code = code }

    public mutating func add(_ customer: CustomerAging) throws {
        for (bucket, sum) in customer.buckets {
            buckets[bucket]!.amountMinor = try AgingSums.checkedSum(buckets[bucket]!.amountMinor, sum.amountMinor)
            buckets[bucket]!.count += sum.count
        }
        total = try AgingSums.checkedSum(total, customer.totalMinor)
        count += customer.count
        customers.append(customer)
    }

    public func build(asOf: String, basis: AgingBasis) -> CurrencyAging {
        let oldestFirst = AgingBucket.allCases.reversed()
        let sorted = customers.sorted { a, b in
            for bucket in oldestFirst where a[bucket].amountMinor != b[bucket].amountMinor {
                return a[bucket].amountMinor > b[bucket].amountMinor
            }
            return a.customer < b.customer
        }
        return CurrencyAging(currency: code, asOf: asOf, basis: basis, buckets: buckets, totalMinor: total,
                             count: count, customers: sorted)
    }
}

/// A whole aging report, built from open balances summed per currency, customer and date: the
/// rows each backend's one grouped statement returns, in that order. The backends keep the SQL;
/// the ages, the buckets and where one line ends and the next begins are decided here.
public struct AgingReportBuilder: Sendable {
    public let asOf: String
    public let basis: AgingBasis
    private let asOfDay: Int
    private var report: [CurrencyAging] = []
    private var currency: CurrencyAgingBuilder?
    private var customer: CustomerAgingBuilder?

    /// Refuses an as-of date that is not `YYYY-MM-DD`, before anything is read.
    public init(asOf: String, basis: AgingBasis) throws {
        guard let day = CivilDate.dayNumber(asOf) else {
            throw StoreError.invalidInput("--as-of must be YYYY-MM-DD, got '\(asOf)'")
        }
        self.asOf = asOf
        self.basis = basis
        asOfDay = day
    }

    /// One group: `count` open items of a customer in a currency, dated `date` (due or issue date by
    /// the basis), that together are `open`. Groups must come sorted by currency, customer, date.
    public mutating func add(currency code: String, customer name: String, date: String, open: Int64,
                             count: Int) throws {
        guard let day = CivilDate.dayNumber(date) else {
            throw StoreError.invalidInput("an open invoice of '\(name)' has an invalid date '\(date)'")
        }
        if customer?.name != name || currency?.code != code, let finished = customer {
            try currency!.add(finished.build())
            customer = nil
        }
        if currency?.code != code {
            if let finished = currency { report.append(finished.build(asOf: asOf, basis: basis)) }
            currency = CurrencyAgingBuilder(code: code)
        }
        if customer == nil { customer = CustomerAgingBuilder(name: name) }
        try customer!.add(open, count: count, days: asOfDay - day)
    }

    /// The report, currencies in the order their groups came.
    public func build() throws -> [CurrencyAging] {
        var report = report
        var currency = currency
        if let finished = customer { try currency!.add(finished.build()) }
        if let finished = currency { report.append(finished.build(asOf: asOf, basis: basis)) }
        return report
    }
}
