import Foundation

/// Reading what Xero's Accounting API answers: error bodies into one line an operator can act on,
/// the rate-limit header, and the invoice numbers a success created. Pure and total: hostile or
/// truncated bodies give nil (or an empty list), never a crash.
public enum XeroResponse {
    /// The longest message returned; Xero can list hundreds of validation errors.
    public static let maxMessageLength = 1000

    /// One readable line for an error body, or nil when the body is not a shape Xero uses.
    ///
    /// - `ValidationException` (usually with status 400):
    ///   `ValidationException: SHP-1043: Account code '2000' is not valid…; The TaxType code…`,
    ///   elements separated by ` | `, each led by its invoice number when it has one.
    /// - Invoices answered with per-invoice errors (`summarizeErrors=false`, status 200): the same
    ///   format.
    /// - The problem shape `{"Type":…, "Title":…, "Detail":…}` (401, 403, 404, 429, 500…):
    ///   `Title: Detail`, led by the type when it is meaningful.
    /// - OAuth errors `{"error":…, "error_description":…}`.
    ///
    /// `status` is only consulted to leave successes alone: a 2xx body without per-invoice
    /// validation errors gives nil.
    public static func errorMessage(status: Int, body: [UInt8]) -> String? {
        guard !body.isEmpty, let json = try? JSONValue.parse(body, maxDepth: 32), json.objectValue != nil else {
            return nil
        }
        let type = text(json["Type"])

        if let elements = json["Elements"]?.arrayValue ?? json["Invoices"]?.arrayValue {
            let details = elements.compactMap(validationDetail)
            if !details.isEmpty {
                return clean("\(type ?? "ValidationException"): " + details.joined(separator: " | "))
            }
        }
        if (200..<300).contains(status) { return nil }

        if type == "ValidationException", let message = text(json["Message"]) {
            return clean("ValidationException: " + message)
        }
        let title = text(json["Title"]) ?? text(json["title"])
        let detail = text(json["Detail"]) ?? text(json["detail"])
        if title != nil || detail != nil {
            var parts: [String] = []
            if let type, type != "about:blank", type != title { parts.append(type) }
            if let title { parts.append(title) }
            if let detail, detail != title { parts.append(detail) }
            return clean(parts.joined(separator: ": "))
        }
        if let error = text(json["error"]) {
            return clean(text(json["error_description"]).map { "\(error): \($0)" } ?? error)
        }
        if let message = text(json["Message"]) {
            return clean(type.map { "\($0): \(message)" } ?? message)
        }
        return nil
    }

    /// Xero's documented daily allowance per organisation and app.
    public static let dailyLimit = 5000

    /// What Xero's rate-limit headers say is left (`X-DayLimit-Remaining`, `X-MinLimit-Remaining`,
    /// `X-AppMinLimit-Remaining`); nil when the answer carries none of them. Values that are not
    /// whole numbers from 0 to 10,000,000 are ignored, so a proxy's odd header cannot show nonsense.
    public static func quota(headers: [String: String], at: Date) -> QuotaReading? {
        func number(_ name: String) -> Int? {
            guard let text = headers.first(where: { $0.key.caseInsensitiveCompare(name) == .orderedSame })?.value,
                  let value = Int(text.trimmingCharacters(in: .whitespaces)), (0...10_000_000).contains(value) else { return nil }
            return value
        }
        let reading = QuotaReading(dayRemaining: number("X-DayLimit-Remaining"), dayLimit: dailyLimit,
                                   minuteRemaining: number("X-MinLimit-Remaining"),
                                   appMinuteRemaining: number("X-AppMinLimit-Remaining"), at: at)
        guard reading.dayRemaining != nil || reading.minuteRemaining != nil || reading.appMinuteRemaining != nil else { return nil }
        return reading
    }

    /// What `X-Rate-Limit-Problem` says ran out, or nil when the header is absent.
    public static func rateLimitProblem(headers: [String: String]) -> String? {
        guard let value = headers.first(where: { $0.key.caseInsensitiveCompare("X-Rate-Limit-Problem") == .orderedSame })?
            .value.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        switch value.lowercased() {
        case "minute": return "Xero minute limit reached"
        case "day", "daily": return "Xero daily limit reached"
        case "appminute": return "Xero app-wide minute limit reached"
        case "concurrent": return "Xero concurrent request limit reached"
        default: return clean("Xero rate limit reached (\(value.prefix(40)))")
        }
    }

    /// The invoice numbers in a success body (`POST /Invoices` answered 200), in order; empty when
    /// there are none or the body is not JSON.
    public static func invoiceNumbers(fromSuccess body: [UInt8]) -> [String] {
        guard let json = try? JSONValue.parse(body, maxDepth: 32),
              let invoices = json["Invoices"]?.arrayValue else { return [] }
        return invoices.compactMap { text($0["InvoiceNumber"]) }
    }

    // MARK: Helpers

    /// `SHP-1043: first; second` for one element with validation errors; nil when it has none.
    private static func validationDetail(_ element: JSONValue) -> String? {
        guard let errors = element["ValidationErrors"]?.arrayValue else { return nil }
        let messages = errors.compactMap { text($0["Message"]) }
        guard !messages.isEmpty else { return nil }
        let joined = messages.joined(separator: "; ")
        return text(element["InvoiceNumber"]).map { "\($0): \(joined)" } ?? joined
    }

    /// A non-empty string member, trimmed.
    private static func text(_ value: JSONValue?) -> String? {
        guard let string = value?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !string.isEmpty else {
            return nil
        }
        return string
    }

    /// One line: control characters and runs of whitespace become one space, and the result is
    /// cut to `maxMessageLength`.
    private static func clean(_ message: String) -> String {
        var out = ""
        var lastWasSpace = false
        for scalar in message.unicodeScalars {
            let isSpace = scalar.properties.isWhitespace || scalar.properties.generalCategory == .control
                || scalar.properties.generalCategory == .format
            if isSpace {
                if !lastWasSpace && !out.isEmpty { out += " " }
                lastWasSpace = true
            } else {
                out.unicodeScalars.append(scalar)
                lastWasSpace = false
            }
        }
        if out.last == " " { out.removeLast() }
        if out.count > maxMessageLength { out = String(out.prefix(maxMessageLength - 1)) + "…" }
        return out
    }
}
