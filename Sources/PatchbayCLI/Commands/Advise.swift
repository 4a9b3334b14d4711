import ArgumentParser
import Foundation
import PatchbayConnectors
import PatchbayInsights
import PatchbayStore

extension Patchbay {
    struct Advise: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which integration pattern the installation and each integration should use, from measured traffic.",
            discussion: """
                Point-to-point for 2-3 systems under 1,000 events/day; hub-and-spoke for 4-8 systems
                and 1,000-50,000 events/day; event-driven from 50,000 events/day, beyond 8 systems, or
                when one event fans out to 3+ targets; batch stays batch. Every recommendation names
                the figures it rests on. The thresholds are the config's `advisor:` with --config.
                """)

        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print JSON (snake_case keys).") var json = false
        @Option(help: "A configuration file whose `advisor:` section sets the thresholds.") var config: String?
        @Option(help: "Days to average over (1-90).") var days = 7

        func validate() throws {
            if !(1...90).contains(days) { throw ValidationError("--days must be from 1 to 90, got \(days)") }
        }

        func run() async throws {
            var thresholds = AdvisorThresholds.defaults
            if let config {
                do {
                    thresholds = try HubConfig.load(file: URL(fileURLWithPath: config)).advisor
                } catch {
                    throw CLIError(error.description)
                }
            }
            let store: any TrafficReading = try database.openStore(readOnly: true)
            let snapshot = try store.trafficSnapshot(now: Date(), days: days, historyDays: 90)
            let advice = Advisor(thresholds: thresholds).advise(snapshot)
            emit(json ? AdviceRender.json(advice).rendered(pretty: true) : AdviceRender.text(advice))
        }
    }
}

/// Advice as JSON or text: pure functions of the advice.
enum AdviceRender {
    static func json(_ advice: Advice) -> JSON {
        let t = advice.thresholds
        return .object([
            ("generated_at", .time(advice.generatedAt)),
            ("history_days", .int(advice.historyDays)),
            ("installation", recommendation(advice.installation)),
            ("integrations", .array(advice.integrations.map(recommendation))),
            ("thresholds", .object([
                ("point_to_point_max_systems", .int(t.pointToPointMaxSystems)),
                ("point_to_point_max_events_per_day", whole(t.pointToPointMaxEventsPerDay)),
                ("hub_max_systems", .int(t.hubMaxSystems)),
                ("event_driven_min_events_per_day", whole(t.eventDrivenMinEventsPerDay)),
                ("fan_out_min_targets", .int(t.fanOutMinTargets)),
                ("realtime_latency_ms", .int(t.realtimeLatencyMs)),
                ("batch_min_interval_minutes", whole(t.batchMinIntervalMinutes)),
                ("redundancy_min_events_per_day", whole(t.redundancyMinEventsPerDay)),
                ("growth_min_days", .int(t.growthMinDays)),
                ("flat_growth_basis_points", whole(t.flatGrowthPercent * 100)),
                ("growth_horizon_weeks", whole(t.growthHorizonWeeks)),
            ])),
        ])
    }

    static func recommendation(_ r: Advice.Recommendation) -> JSON {
        .object([
            ("subject", .string(r.subject)),
            ("edge_id", .string(r.edgeID)),
            ("current", .string(r.current.rawValue)),
            ("recommended", .string(r.recommended.rawValue)),
            ("verdict", .string(r.verdict.rawValue)),
            ("reason", .string(r.reason)),
            ("figures", .array(r.figures.map { figure in
                .object([("name", .string(figure.name)), ("value", whole(figure.value)), ("source", .string(figure.source))])
            })),
            ("cost", r.cost.map { cost in
                .object([
                    ("systems", .int(cost.systems)),
                    ("possible_integrations", .int(cost.possibleIntegrations)),
                    ("configured_integrations", .int(cost.configuredIntegrations)),
                    ("connections_now", .int(cost.connectionsNow)),
                    ("connections_recommended", .int(cost.connectionsRecommended)),
                    ("per_new_system_now", .int(cost.perNewSystemNow)),
                    ("per_new_system_recommended", .int(cost.perNewSystemRecommended)),
                    ("summary", .string(cost.summary)),
                ])
            } ?? .null),
            ("growth", r.growth.map { growth in
                .object([
                    ("trend", .string(growth.trend.rawValue)),
                    ("days", .int(growth.days)),
                    ("events_per_day_now", whole(growth.eventsPerDayNow)),
                    ("weekly_growth_basis_points", growth.weeklyGrowthPercent.map { whole($0 * 100) } ?? .null),
                    ("next_threshold_per_day", growth.nextThreshold.map(whole) ?? .null),
                    ("days_to_threshold", growth.weeksToThreshold.map { whole($0 * 7) } ?? .null),
                    ("summary", .string(growth.summary)),
                ])
            } ?? .null),
        ])
    }

    static func whole(_ value: Double) -> JSON {
        value.isFinite ? .int(Int64(value.rounded())) : .null
    }

    static func text(_ advice: Advice) -> String {
        var lines: [String] = []
        func add(_ r: Advice.Recommendation, title: String) {
            let arrow = r.recommended == r.current
                ? r.current.rawValue
                : "\(r.current.rawValue) → \(r.recommended.rawValue)"
            lines.append("\(title)  [\(r.verdict.rawValue)] \(arrow)")
            lines.append("  \(r.reason)")
            if let cost = r.cost { lines.append("  cost: \(cost.summary)") }
            if let growth = r.growth { lines.append("  growth: \(growth.summary)") }
        }
        add(advice.installation, title: "Installation")
        if !advice.installation.figures.isEmpty {
            lines.append("  figures: " + advice.installation.figures.map { "\($0.name)=\(MapRender.count($0.value))" }
                .joined(separator: ", "))
        }
        if !advice.integrations.isEmpty {
            lines.append("")
            lines.append("Integrations")
        }
        for r in advice.integrations {
            add(r, title: r.subject)
        }
        return lines.joined(separator: "\n")
    }
}
