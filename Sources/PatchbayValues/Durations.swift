import Foundation

/// Why a duration text was refused; `description` is the message a user sees.
public enum DurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Empty, no unit, an unknown unit, or no number before the unit.
    case malformed(String)
    /// Below zero (or negative zero written as `-0s`).
    case negative(String)
    /// Longer than `Durations.maximum`, including numbers too large to be finite.
    case tooLong(String)

    public var description: String {
        switch self {
        case .malformed(let text):
            let shown = text.trimmingCharacters(in: .whitespaces).isEmpty ? "an empty value" : "'\(text)'"
            return "expected a number and a unit like 90s, 15m, 2h, 7d, 1w (or 250ms), found \(shown)"
        case .negative(let text):
            return "'\(text)' is negative; a duration is zero or more"
        case .tooLong(let text):
            return "'\(text)' is longer than 100 years"
        }
    }
}

/// The one reader of durations typed by people: command-line options, dashboard commands and the
/// configuration file all accept the same `250ms`, `90s`, `15m`, `2h`, `7d`, `1w`.
///
/// The result is bounded (at most `maximum`) so that every caller can turn it into milliseconds
/// as `Int64`, or subtract it from a date, without overflowing. Callers narrow the range further
/// where a key needs it (a lease of a year is no more sensible than one of a century).
public enum Durations {
    /// A hundred years of 365.25 days, in seconds.
    public static let maximum: TimeInterval = 100 * 365.25 * 86_400

    /// Units, longest suffix first so that `ms` is never read as `m`.
    static let units: [(suffix: String, seconds: TimeInterval)] = [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800),
    ]

    /// Seconds for `text`, such as `250ms`, `90s`, `15m`, `2h`, `7d` or `1w`.
    ///
    /// A number and a unit are required (`1.5h` is fine, a bare `90` is not: a user who meant
    /// minutes must not get seconds). Letters are matched without regard to case and blanks
    /// around the text or between number and unit are ignored.
    public static func parse(_ text: String) throws(DurationError) -> TimeInterval {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = units.first(where: { trimmed.hasSuffix($0.suffix) }) else { throw .malformed(text) }
        let number = trimmed.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)
        guard isPlainDecimal(number), let value = Double(number) else { throw .malformed(text) }
        if value < 0 || number.hasPrefix("-") { throw .negative(text) }
        let seconds = value * unit.seconds
        guard seconds.isFinite, seconds <= maximum else { throw .tooLong(text) }
        return seconds
    }

    /// `parse`, or nil; for callers that print their own message.
    public static func seconds(_ text: String) -> TimeInterval? {
        try? parse(text)
    }

    /// `12`, `1.5`, `.5`, `-3`, `1e12`: an optional sign, digits with at most one point, and an
    /// optional exponent. Not `nan`, `inf` or hexadecimal, which `Double(_:)` would also read.
    static func isPlainDecimal(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let mantissa = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        rest = rest.dropFirst(mantissa.count)
        guard mantissa.contains(where: \.isNumber), mantissa.filter({ $0 == "." }).count <= 1 else { return false }
        if rest.isEmpty { return true }
        guard rest.first == "e" || rest.first == "E" else { return false }
        rest = rest.dropFirst()
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        return !rest.isEmpty && rest.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
