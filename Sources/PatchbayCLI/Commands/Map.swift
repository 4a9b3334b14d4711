import ArgumentParser
import Foundation
import PatchbayInsights
import PatchbayStore

extension Patchbay {
    struct Map: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The integration map: systems, and the integrations between them with their measured traffic.",
            discussion: """
                One row per integration (source connector → sink connector): pattern, events per day
                (average over the window), the busiest hour, delivery latency p50/p95, failure rate
                and health. --dot writes Graphviz (`patchbay map --dot | dot -Tsvg > map.svg`).
                """)

        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print JSON (snake_case keys).") var json = false
        @Flag(help: "Print Graphviz DOT.") var dot = false
        @Option(help: "Days to average over (1-90).") var days = 7

        func validate() throws {
            if json && dot { throw ValidationError("choose --json or --dot, not both") }
            if !(1...90).contains(days) { throw ValidationError("--days must be from 1 to 90, got \(days)") }
        }

        func run() async throws {
            let store: any TrafficReading = try database.openStore(readOnly: true)
            let map = IntegrationMap.build(from: try store.trafficSnapshot(now: Date(), days: days, historyDays: 90))
            if json { emit(MapRender.json(map).rendered(pretty: true)) }
            else if dot { emit(MapRender.dot(map)) }
            else { emit(MapRender.table(map)) }
        }
    }
}

/// The map as JSON, a table or Graphviz: pure functions of the map.
enum MapRender {
    static func json(_ map: IntegrationMap) -> JSON {
        .object([
            ("generated_at", .time(map.generatedAt)),
            ("window_days", .int(map.windowDays)),
            ("nodes", .array(map.nodes.map { node in
                .object([
                    ("id", .string(node.id)),
                    ("kind", .string(node.kind.rawValue)),
                    ("connectors", .array(node.connectors.map { .string($0) })),
                    ("health", .string(node.health.rawValue)),
                    ("events_per_day", .int(Int64(node.eventsPerDay.rounded()))),
                ])
            })),
            ("edges", .array(map.edges.map(edgeJSON))),
        ])
    }

    static func edgeJSON(_ edge: IntegrationMap.Edge) -> JSON {
        .object([
            ("id", .string(edge.id)),
            ("from", .string(edge.from)),
            ("to", .string(edge.to)),
            ("via", .string(edge.via)),
            ("source_connector", .string(edge.sourceConnector)),
            ("sink_connector", .string(edge.sinkConnector)),
            ("topics", .array(edge.topics.map { .string($0) })),
            ("pattern", .string(edge.pattern.rawValue)),
            ("direction", .string(edge.direction.rawValue)),
            ("events_per_day", .int(Int64(edge.eventsPerDay.rounded()))),
            ("peak_hour_start", .time(edge.peakHour?.start)),
            ("peak_hour_events", .int(edge.peakHour?.events)),
            ("latency_p50_ms", .int(edge.latency?.p50Ms)),
            ("latency_p95_ms", .int(edge.latency?.p95Ms)),
            ("latency_samples", .int(edge.latency?.samples)),
            ("failure_rate_basis_points", .int(Int64((edge.failureRate * 10_000).rounded()))),
            ("health", .string(edge.health.rawValue)),
        ])
    }

    static func table(_ map: IntegrationMap) -> String {
        let systems = map.nodes.filter { $0.kind == .system }.count
        var out = "\(systems) system\(systems == 1 ? "" : "s"), \(map.edges.count) integration\(map.edges.count == 1 ? "" : "s"); events/day averaged over up to \(map.windowDays) day\(map.windowDays == 1 ? "" : "s")\n"
        if map.edges.isEmpty { return out + "no integrations carried traffic in the window" }
        var table = TextTable(["FROM", "TO", "VIA", "CONNECTORS", "PATTERN", "EVENTS/DAY", "PEAK HOUR", "P50", "P95", "FAILED", "HEALTH"],
                              maxWidth: 40)
        for edge in map.edges {
            table.add([
                edge.from, edge.to, edge.via ?? "direct",
                "\(edge.sourceConnector) → \(edge.sinkConnector)",
                edge.pattern.rawValue,
                count(edge.eventsPerDay),
                edge.peakHour.map { String(format: "%02d:00 (%@)", $0.hourOfDay, count(Double($0.events))) } ?? "-",
                edge.latency.map { duration($0.p50Ms) } ?? "-",
                edge.latency.map { duration($0.p95Ms) } ?? "-",
                String(format: "%.1f %%", edge.failureRate * 100),
                edge.health.rawValue,
            ])
        }
        return out + table.rendered()
    }

    /// Graphviz: systems as boxes, the hub as a double octagon, one arrow per integration (two
    /// through the hub when it passes through it), labelled with events per day and p95.
    static func dot(_ map: IntegrationMap) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: " ") + "\""
        }
        func colour(_ health: ConnectorHealth) -> String {
            switch health {
            case .healthy: "darkgreen"
            case .degraded, .orphaned: "orange"
            case .failing: "red"
            case .unknown: "gray40"
            }
        }
        var lines = ["digraph patchbay {", "  rankdir=LR;", "  node [fontname=\"Helvetica\"];"]
        for node in map.nodes {
            let shape = node.kind == .hub ? "doubleoctagon" : "box"
            lines.append("  \(quoted(node.id)) [shape=\(shape), color=\(colour(node.health))];")
        }
        for edge in map.edges {
            var label = "\(edge.pattern.rawValue)\\n\(count(edge.eventsPerDay))/day"
            if let latency = edge.latency { label += "\\np95 \(duration(latency.p95Ms))" }
            let attributes = "label=\(quoted(label).replacingOccurrences(of: "\\\\n", with: "\\n")), color=\(colour(edge.health))"
            if let via = edge.via {
                lines.append("  \(quoted(edge.from)) -> \(quoted(via)) [\(attributes)];")
                lines.append("  \(quoted(via)) -> \(quoted(edge.to)) [color=\(colour(edge.health))];")
            } else {
                lines.append("  \(quoted(edge.from)) -> \(quoted(edge.to)) [\(attributes)];")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    static func count(_ value: Double) -> String {
        let number = NumberFormatter()
        number.numberStyle = .decimal
        number.locale = Locale(identifier: "en_US_POSIX")
        number.usesGroupingSeparator = true
        number.groupingSeparator = ","
        number.groupingSize = 3
        number.maximumFractionDigits = 0
        return number.string(from: NSNumber(value: value.rounded())) ?? String(Int(value.rounded()))
    }

    static func duration(_ ms: Int64) -> String {
        switch ms {
        case ..<1_000: "\(ms) ms"
        case ..<60_000: String(format: "%.1f s", Double(ms) / 1000)
        case ..<3_600_000: "\(ms / 60_000) min"
        default: String(format: "%.1f h", Double(ms) / 3_600_000)
        }
    }
}
