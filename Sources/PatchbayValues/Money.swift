/// ISO 4217 currency codes and their minor units.
public enum Currency {
    /// Currencies whose minor unit is not 2 digits (ISO 4217, "minor unit" column).
    private static let exponents: [String: Int] = [
        // No minor unit.
        "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
        "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
        // Thousandths.
        "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
        // Units of account with four digits.
        "CLF": 4, "UYW": 4,
    ]

    /// How many digits follow the decimal point in `code` (2 for any code not listed as different).
    public static func exponent(of code: String) -> Int {
        exponents[isValidCode(code) ? code : code.uppercased()] ?? 2
    }

    /// True for three ASCII uppercase letters, the shape of an ISO 4217 code.
    public static func isValidCode(_ code: String) -> Bool {
        code.utf8.count == 3 && code.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }
}

/// Why a text is not an amount of money.
public struct MoneyError: Error, Equatable, CustomStringConvertible {
    public var text: String
    public var reason: String

    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "'\(text)' is not an amount: \(reason)" }
}

/// Exact amounts as integer minor units (cents, yen, fils); never floating point.
public enum Money {
    /// Reads a decimal amount into minor units of `currency`.
    ///
    /// Accepts `1930.74`, `1,930.74` (commas only in groups of three), `-250.00`, `(250.00)` for a
    /// negative and surrounding spaces. Refuses currency symbols, more decimals than the currency
    /// has (`1930.5` in JPY), other characters, and values beyond `Int64`.
    public static func parseMinor(_ text: String, currency: String) throws -> Int64 {
        let exponent = Currency.exponent(of: currency)
        var text = text
        let outcome = text.withUTF8 { parse($0, exponent: exponent) }
        switch outcome {
        case .value(let value): return value
        case .invalid(let reason): throw MoneyError(text: text, reason: reason)
        case .tooManyDecimals(let count):
            throw MoneyError(text: text, reason: "\(currency.uppercased()) takes \(exponent) decimals, not \(count)")
        }
    }

    private enum ParseOutcome {
        case value(Int64)
        case invalid(String)
        case tooManyDecimals(Int)
    }

    /// The byte-level parser: no allocation, as an import reads two amounts per row.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, exponent: Int) -> ParseOutcome {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), comma = UInt8(ascii: ","), point = UInt8(ascii: ".")
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        var start = 0
        var end = bytes.count
        while start < end && (bytes[start] == space || bytes[start] == tab) { start += 1 }
        while end > start && (bytes[end - 1] == space || bytes[end - 1] == tab) { end -= 1 }
        if start == end { return .invalid("it is empty") }

        var negative = false
        if end - start >= 2 && bytes[start] == UInt8(ascii: "(") && bytes[end - 1] == UInt8(ascii: ")") {
            negative = true
            start += 1
            end -= 1
        } else if bytes[start] == UInt8(ascii: "-") {
            negative = true
            start += 1
        }

        var dot = end
        var hasComma = false
        for index in start..<end {
            if bytes[index] == point { dot = index; break }
            if bytes[index] == comma { hasComma = true }
        }
        if dot == start { return .invalid("no digits before the decimal point") }
        if dot < end && dot + 1 == end { return .invalid("no digits after the decimal point") }

        // Shape errors take precedence over size, so overflow is only noted on the way.
        var value: Int64 = 0
        var overflow = false
        func accumulate(_ digit: UInt8) {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
            overflow = overflow || overflow1 || overflow2
            value = sum
        }

        if hasComma {
            let grouping = "thousands separators must group digits by three"
            var groupLength = 0
            var isFirstGroup = true
            for index in start..<dot {
                let byte = bytes[index]
                if byte == comma {
                    if isFirstGroup ? !(1...3).contains(groupLength) : groupLength != 3 { return .invalid(grouping) }
                    isFirstGroup = false
                    groupLength = 0
                    continue
                }
                guard isDigit(byte) else { return .invalid(grouping) }
                groupLength += 1
                accumulate(byte)
            }
            if groupLength != 3 { return .invalid(grouping) }
        } else {
            for index in start..<dot {
                guard isDigit(bytes[index]) else { return .invalid("expected digits, '-', '.', ',' or parentheses") }
                accumulate(bytes[index])
            }
        }

        let fractionDigits = dot < end ? end - dot - 1 : 0
        if fractionDigits > 0 {
            for index in (dot + 1)..<end where !isDigit(bytes[index]) {
                return .invalid("expected digits after the decimal point")
            }
            if fractionDigits > exponent { return .tooManyDecimals(fractionDigits) }
            for index in (dot + 1)..<end { accumulate(bytes[index]) }
        }
        for _ in fractionDigits..<exponent { accumulate(UInt8(ascii: "0")) }
        if overflow { return .invalid("too large") }
        return .value(negative ? -value : value)
    }

    /// The plain form for JSON and CSV: `1930.74`, `-250.00`, `0.00`, `1930` (JPY), `1.234` (KWD).
    public static func format(minor: Int64, currency: String) -> String {
        render(minor: minor, exponent: Currency.exponent(of: currency), grouped: false)
    }

    /// The form for people: `1,930.74`, `-1,250.00`.
    public static func formatGrouped(minor: Int64, currency: String) -> String {
        render(minor: minor, exponent: Currency.exponent(of: currency), grouped: true)
    }

    private static func render(minor: Int64, exponent: Int, grouped: Bool) -> String {
        var digits = String(minor.magnitude)  // UInt64: Int64.min has no positive Int64
        if digits.count <= exponent {
            digits = String(repeating: "0", count: exponent - digits.count + 1) + digits
        }
        let split = digits.index(digits.endIndex, offsetBy: -exponent)
        var integer = String(digits[..<split])
        let fraction = digits[split...]
        if grouped && integer.count > 3 {
            var out = ""
            for (index, character) in integer.enumerated() {
                if index > 0 && (integer.count - index) % 3 == 0 { out.append(",") }
                out.append(character)
            }
            integer = out
        }
        let sign = minor < 0 ? "-" : ""
        return exponent == 0 ? sign + integer : sign + integer + "." + fraction
    }
}
