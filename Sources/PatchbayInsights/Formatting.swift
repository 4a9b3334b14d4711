import Foundation
import PatchbayStore

/// How figures read in reasons: "3,800", "+12 %", "1.2 s". Fixed formats, independent of locale.
enum Format {
    /// A whole count with thousands separators: 3800 → "3,800".
    static func count(_ value: Double) -> String {
        count(Int(value.rounded()))
    }

    static func count(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    /// A signed percentage with one decimal under 10: "+12 %", "+3.5 %", "-4 %".
    static func percent(_ value: Double) -> String {
        let sign = value >= 0 ? "+" : "-"
        let magnitude = abs(value)
        let text = magnitude < 10 ? String(format: "%.1f", magnitude) : String(Int(magnitude.rounded()))
        return "\(sign)\(text) %"
    }

    /// A duration in milliseconds: "850 ms", "1.2 s", "4 min", "2.5 h".
    static func duration(ms: Int64) -> String {
        switch ms {
        case ..<1_000: return "\(ms) ms"
        case ..<60_000: return String(format: "%.1f s", Double(ms) / 1000)
        case ..<3_600_000: return "\(Int((Double(ms) / 60_000).rounded())) min"
        default:
            if ms % 3_600_000 == 0 { return "\(ms / 3_600_000) h" }
            let hours = Double(ms) / 3_600_000
            return hours < 10 ? String(format: "%.1f h", hours) : "\(Int(hours.rounded())) h"
        }
    }

    /// "1 system", "5 systems".
    static func plural(_ n: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
        "\(count(n)) \(n == 1 ? singular : (pluralForm ?? singular + "s"))"
    }

    /// The name a pattern has in advice: "point-to-point", "hub-and-spoke", "event-driven", "batch ETL".
    static func pattern(_ pattern: IntegrationPattern) -> String {
        switch pattern {
        case .pointToPoint: "point-to-point"
        case .hub: "hub-and-spoke"
        case .event: "event-driven"
        case .batch: "batch ETL"
        }
    }
}
