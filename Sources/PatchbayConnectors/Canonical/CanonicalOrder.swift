import Foundation
import PatchbayStore

/// The hub's order: what every order source maps into and every order target maps from, so a
/// new source or target needs one transform, not one per pair.
///
/// Amounts and quantities are decimal strings exactly as the source gave them (`"18.50"`), never
/// floating point. Stored JSON uses snake_case keys, sorted, so the same order always gives the
/// same bytes (see `jsonString()`).
public struct CanonicalOrder: Codable, Sendable, Equatable {
    /// Source-scoped: `"shopify:5812734001234"`.
    public var id: String
    /// The order number people use: `"1042"`.
    public var number: String
    /// The display name: `"#1042"`.
    public var name: String
    /// The system the order came from: `"shopify"`.
    public var source: String
    /// ISO 8601 with the offset as the source gave it: `"2026-11-20T09:14:07+01:00"`.
    public var createdAt: String
    /// The civil date (YYYY-MM-DD) of `createdAt` in its own offset: `"2026-11-20"`.
    public var date: String
    /// ISO 4217: `"EUR"`.
    public var currency: String
    public var customer: Customer
    /// Nil when the source has none (point-of-sale and some digital orders).
    public var billingAddress: Address?
    public var lines: [Line]
    public var subtotal: String
    public var totalTax: String
    public var total: String
    /// True when line prices already include tax (Shopify's `taxes_included`).
    public var taxesIncluded: Bool
    /// The source's payment state: `"paid"`, `"pending"`, ….
    public var financialStatus: String
    public var tags: [String]

    public struct Customer: Codable, Sendable, Equatable {
        /// Source-scoped, like the order's: `"shopify:7190022001"`.
        public var id: String?
        /// Billing company if any, else the person's name.
        public var name: String
        public var email: String?
        public var company: String?

        public init(id: String? = nil, name: String, email: String? = nil, company: String? = nil) {
            self.id = id
            self.name = name
            self.email = email
            self.company = company
        }
    }

    public struct Address: Codable, Sendable, Equatable {
        public var line1: String
        public var city: String
        public var postcode: String
        /// ISO 3166-1 alpha-2: `"FR"`.
        public var country: String

        public init(line1: String, city: String, postcode: String, country: String) {
            self.line1 = line1
            self.city = city
            self.postcode = postcode
            self.country = country
        }
    }

    public struct Line: Codable, Sendable, Equatable {
        public var sku: String?
        public var description: String
        /// A decimal string: `"4"`.
        public var quantity: String
        /// Per unit, as given: `"18.50"`.
        public var unitPrice: String
        /// A fraction as given: `"0.19"` (sum of the rates when several taxes apply).
        public var taxRate: String?
        /// The tax on the whole line: `"14.06"`.
        public var taxAmount: String?

        public init(sku: String? = nil, description: String, quantity: String, unitPrice: String,
                    taxRate: String? = nil, taxAmount: String? = nil) {
            self.sku = sku
            self.description = description
            self.quantity = quantity
            self.unitPrice = unitPrice
            self.taxRate = taxRate
            self.taxAmount = taxAmount
        }

        enum CodingKeys: String, CodingKey {
            case sku, description, quantity
            case unitPrice = "unit_price"
            case taxRate = "tax_rate"
            case taxAmount = "tax_amount"
        }
    }

    public init(id: String, number: String, name: String, source: String, createdAt: String, date: String,
                currency: String, customer: Customer, billingAddress: Address?, lines: [Line],
                subtotal: String, totalTax: String, total: String, taxesIncluded: Bool = false,
                financialStatus: String, tags: [String] = []) {
        self.id = id
        self.number = number
        self.name = name
        self.source = source
        self.createdAt = createdAt
        self.date = date
        self.currency = currency
        self.customer = customer
        self.billingAddress = billingAddress
        self.lines = lines
        self.subtotal = subtotal
        self.totalTax = totalTax
        self.total = total
        self.taxesIncluded = taxesIncluded
        self.financialStatus = financialStatus
        self.tags = tags
    }

    enum CodingKeys: String, CodingKey {
        case id, number, name, source, date, currency, customer, lines, subtotal, total, tags
        case createdAt = "created_at"
        case billingAddress = "billing_address"
        case totalTax = "total_tax"
        case taxesIncluded = "taxes_included"
        case financialStatus = "financial_status"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        number = try container.decode(String.self, forKey: .number)
        name = try container.decode(String.self, forKey: .name)
        source = try container.decode(String.self, forKey: .source)
        createdAt = try container.decode(String.self, forKey: .createdAt)
        date = try container.decode(String.self, forKey: .date)
        currency = try container.decode(String.self, forKey: .currency)
        customer = try container.decode(Customer.self, forKey: .customer)
        billingAddress = try container.decodeIfPresent(Address.self, forKey: .billingAddress)
        lines = try container.decode([Line].self, forKey: .lines)
        subtotal = try container.decode(String.self, forKey: .subtotal)
        totalTax = try container.decode(String.self, forKey: .totalTax)
        total = try container.decode(String.self, forKey: .total)
        taxesIncluded = try container.decodeIfPresent(Bool.self, forKey: .taxesIncluded) ?? false
        financialStatus = try container.decode(String.self, forKey: .financialStatus)
        tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
    }

    // MARK: Stored form

    /// The stored JSON: compact, keys sorted, snake_case, slashes unescaped.
    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, a Bool and arrays of them: encoding cannot fail.
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads the stored JSON back; the error names the JSON path of the first problem.
    public static func decode(_ json: String) throws(TransformError) -> CanonicalOrder {
        do {
            return try JSONDecoder().decode(CanonicalOrder.self, from: Data(json.utf8))
        } catch let error as DecodingError {
            throw TransformError(decoding: error)
        } catch {
            throw TransformError(path: "$", message: "not a canonical order: \(error)")
        }
    }
}

extension TransformError {
    /// A `DecodingError` as a JSON path and a short reason.
    init(decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            var out = "$"
            for key in codingPath + (last.map { [$0] } ?? []) {
                if let index = key.intValue { out += "[\(index)]" } else { out += "." + key.stringValue }
            }
            return out
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(path: path(context.codingPath, key), message: "required field is missing")
        case .valueNotFound(let type, let context):
            self.init(path: path(context.codingPath), message: "expected \(type), got null")
        case .typeMismatch(let type, let context):
            self.init(path: path(context.codingPath), message: "expected \(type)")
        case .dataCorrupted(let context):
            self.init(path: path(context.codingPath), message: context.codingPath.isEmpty
                      ? "not valid JSON" : context.debugDescription)
        @unknown default:
            self.init(path: "$", message: "not a canonical order")
        }
    }
}

// MARK: - Helpers shared by the order transforms

/// Plain decimal text: `-?digits(.digits)?`, no exponent, sign or grouping beyond a leading minus.
enum DecimalText {
    static func isPlain(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let parts = bytes.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        guard let integer = parts.first, !integer.isEmpty, integer.allSatisfy(isDigit) else { return false }
        if parts.count == 2 { return !parts[1].isEmpty && parts[1].allSatisfy(isDigit) }
        return true
    }

    static func isNegative(_ text: String) -> Bool {
        text.hasPrefix("-") && text.utf8.contains { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "9") }
    }

    /// The exact sum of two plain decimals, at the larger of their scales (`0.05 + 0.075 = 0.125`);
    /// nil when either is not plain or the sum leaves `Int64`.
    static func add(_ lhs: String, _ rhs: String) -> String? {
        guard let left = scaled(lhs), let right = scaled(rhs) else { return nil }
        let scale = max(left.scale, right.scale)
        guard let a = rescale(left.value, from: left.scale, to: scale),
              let b = rescale(right.value, from: right.scale, to: scale) else { return nil }
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { return nil }
        var digits = String(sum.magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return (sum < 0 ? "-" : "") + digits
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func scaled(_ text: String) -> (value: Int64, scale: Int)? {
        guard isPlain(text) else { return nil }
        let negative = text.hasPrefix("-")
        let body = negative ? text.dropFirst() : Substring(text)
        let parts = body.split(separator: ".", maxSplits: 1)
        guard let value = Int64(parts.joined()) else { return nil }
        return (negative ? -value : value, parts.count == 2 ? parts[1].count : 0)
    }

    private static func rescale(_ value: Int64, from: Int, to: Int) -> Int64? {
        var value = value
        for _ in from..<to {
            let (next, overflow) = value.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            value = next
        }
        return value
    }
}

/// A proleptic Gregorian calendar date, with day arithmetic that needs no time zone.
struct CivilDate: Equatable {
    var year: Int
    var month: Int
    var day: Int

    /// Reads `YYYY-MM-DD` (exactly), checking the day exists.
    init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = Int(text.prefix(4)), let month = Int(text.dropFirst(5).prefix(2)),
              let day = Int(text.dropFirst(8)),
              bytes.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || ($0.element >= 0x30 && $0.element <= 0x39) })
        else { return nil }
        guard (1...12).contains(month), (1...CivilDate.daysIn(month: month, year: year)).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    init(daysSinceEpoch days: Int) {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    func adding(days: Int) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + days) }

    var text: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The civil date of an ISO 8601 timestamp with an explicit offset
    /// (`2026-11-20T09:14:07+01:00`, `…T08:14:07.215Z`): its own date part, in its own offset.
    /// Nil when the text is not such a timestamp.
    static func ofTimestamp(_ text: String) -> CivilDate? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, let date = CivilDate(text.prefix(10)),
              bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") else { return nil }
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count,
                  bytes[range].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int(String(decoding: bytes[range], as: UTF8.self))
        }
        guard let hour = digits(11..<13), bytes[13] == UInt8(ascii: ":"), let minute = digits(14..<16),
              bytes[16] == UInt8(ascii: ":"), let second = digits(17..<19),
              hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            guard index > start else { return nil }
        }
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            return index + 1 == bytes.count ? date : nil
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, let offsetHours = digits(index + 1..<index + 3),
                  bytes[index + 3] == UInt8(ascii: ":"), let offsetMinutes = digits(index + 4..<index + 6),
                  offsetHours < 24, offsetMinutes < 60 else { return nil }
            return date
        default:
            return nil
        }
    }
}

/// ISO 4217 codes of currencies in circulation (funds, metals and test codes left out).
/// `PatchbayValues.Currency` checks only the shape of a code; this tells a real one from `XYZ`.
enum ISO4217 {
    static func isKnown(_ code: String) -> Bool { codes.contains(code) }

    static let codes: Set<String> = [
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
        "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
        "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB",
        "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG",
        "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
        "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
        "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO",
        "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
        "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP",
        "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH",
        "UGX", "USD", "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF",
        "YER", "ZAR", "ZMW", "ZWG", "ZWL",
    ]
}
