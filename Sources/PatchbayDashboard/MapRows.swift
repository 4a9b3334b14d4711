import Foundation
import PatchbayInsights
import PatchbayStore
import TerminalUI

/// How the map and the advisor print their figures: short, and the same everywhere on the screen.
enum MapFormat {
    /// The pattern as the rules of thumb name it.
    static func pattern(_ pattern: IntegrationPattern) -> String {
        switch pattern {
        case .pointToPoint: return "point-to-point"
        case .hub: return "hub-and-spoke"
        case .event: return "event-driven"
        case .batch: return "batch ETL"
        }
    }

    /// A node's name as the table prints it: the hub's id reads as "hub".
    static func node(_ id: String) -> String { id == IntegrationMap.hubID ? "hub" : id }

    /// Events a day with thousands grouped: `0.4`, `37`, `3,800`, `62,000`.
    static func perDay(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "0" }
        if value < 10 { return String(format: "%.1f", value) }
        return grouped(Int(value.rounded()))
    }

    /// Events a day in at most six columns, for labels on the drawing: `0.4/d`, `380/d`, `3.8k/d`, `62k/d`.
    static func perDayShort(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "0/d" }
        switch value {
        case ..<10: return String(format: "%.1f/d", value)
        case ..<1_000: return "\(Int(value.rounded()))/d"
        case ..<9_950: return String(format: "%.1fk/d", value / 1_000)
        case ..<999_500: return "\(Int((value / 1_000).rounded()))k/d"
        default: return String(format: "%.1fM/d", value / 1_000_000)
        }
    }

    static func grouped(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    /// A latency: `85ms`, `2.1s`, `14m`, `3h`.
    static func duration(ms: Int64) -> String {
        switch ms {
        case ..<1_000: return "\(max(0, ms))ms"
        case ..<10_000: return String(format: "%.1fs", Double(ms) / 1_000)
        case ..<60_000: return "\(ms / 1_000)s"
        case ..<3_600_000: return "\(ms / 60_000)m"
        default: return "\(ms / 3_600_000)h"
        }
    }

    /// A failure rate (0...1) as a percentage: `0%`, `0.4%`, `12%`.
    static func percent(_ rate: Double) -> String {
        guard rate.isFinite, rate > 0 else { return "0%" }
        let p = rate * 100
        return p < 10 ? String(format: "%.1f%%", p) : "\(Int(p.rounded()))%"
    }

    /// The busiest hour: `412 at 14h` (UTC).
    static func peak(_ peak: IntegrationMap.PeakHour?) -> String {
        guard let peak, peak.events > 0 else { return "-" }
        return "\(grouped(peak.events)) at \(String(format: "%02d", peak.hourOfDay))h"
    }

    /// Worst first: what an operator must look at before anything else.
    static func severity(_ health: ConnectorHealth) -> Int {
        switch health {
        case .failing: return 4
        case .orphaned: return 3
        case .degraded: return 2
        case .unknown: return 1
        case .healthy: return 0
        }
    }

    static func style(_ health: ConnectorHealth, theme: Theme) -> Style {
        health == .orphaned ? theme.warn : theme.style(for: health.rawValue)
    }
}

extension Rows {
    /// One row per integration of the map, in the map's order; a row's id is its edge's index.
    static func edges(_ map: IntegrationMap?, theme: Theme) -> RowSet {
        let columns = [
            Table.Column("INTEGRATION", .min(26)), Table.Column("VIA", .length(6)), Table.Column("PATTERN", .length(14)),
            Table.Column("CONNECTOR", .min(18)), Table.Column("EV/DAY", .length(7), alignRight: true),
            Table.Column("PEAK HOUR", .length(11), alignRight: true), Table.Column("P50", .length(6), alignRight: true),
            Table.Column("P95", .length(6), alignRight: true), Table.Column("FAIL", .length(5), alignRight: true),
            Table.Column("HEALTH", .length(8)),
        ]
        guard let map else { return RowSet(columns: columns, rows: [], ids: []) }
        var rows: [[Line]] = []
        for edge in map.edges {
            rows.append([
                Line("\(MapFormat.node(edge.from)) → \(MapFormat.node(edge.to))", theme.text),
                Line(edge.touchesHub ? "hub" : "direct", theme.muted),
                Line(MapFormat.pattern(edge.pattern), theme.muted),
                // Where its deliveries go (enter opens it); the source is the system on the left.
                Line(edge.sinkConnector, theme.text),
                Line(MapFormat.perDay(edge.eventsPerDay), theme.text),
                Line(MapFormat.peak(edge.peakHour), theme.muted),
                Line(edge.latency.map { MapFormat.duration(ms: $0.p50Ms) } ?? "-", theme.text),
                Line(edge.latency.map { MapFormat.duration(ms: $0.p95Ms) } ?? "-", theme.text),
                Line(MapFormat.percent(edge.failureRate), edge.failureRate > 0 ? theme.retrying : theme.muted),
                Line(edge.health.rawValue, MapFormat.style(edge.health, theme: theme)),
            ])
        }
        return RowSet(columns: columns, rows: rows, ids: map.edges.indices.map { Int64($0) })
    }
}
