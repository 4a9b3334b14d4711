import Foundation
import PatchbayStore

/// Recommends an integration pattern for the installation and for each integration, from measured
/// traffic, by the rules of thumb in `AdvisorThresholds`. Pure: the same snapshot gives the same advice.
///
/// The rules, in order (a smaller pattern than the one in use is never recommended: moving down
/// saves nothing once the bigger one runs):
/// - event-driven at `eventDrivenMinEventsPerDay` or more, with more than `hubMaxSystems` systems,
///   or (per integration) when one topic reaches `fanOutMinTargets` targets in parallel;
/// - point-to-point for at most `pointToPointMaxSystems` systems under `pointToPointMaxEventsPerDay`;
/// - hub-and-spoke otherwise (4–8 systems, 1,000–50,000 events a day);
/// - batch stays batch (imports read by reports, file loads), with its run interval named;
/// - a single hub node at `redundancyMinEventsPerDay` or more should get a second node.
public struct Advisor: Sendable {
    public var thresholds: AdvisorThresholds

    public init(thresholds: AdvisorThresholds = .defaults) {
        self.thresholds = thresholds
    }

    public func advise(_ snapshot: TrafficSnapshot) -> Advice {
        let map = IntegrationMap.build(from: snapshot)
        let figures = TrafficFigures(snapshot)
        let installation = adviseInstallation(map: map, figures: figures)
        var integrations: [Advice.Recommendation] = []
        for edge in map.edges where edge.to != IntegrationMap.hubID {
            integrations.append(adviseEdge(edge, map: map, figures: figures, installation: installation))
        }
        // Batch jobs: an import into Patchbay's reports carries its map edge's id.
        for job in snapshot.batchJobs {
            let name = job.connector.flatMap { figures.connector($0)?.name }
            let edge = map.edges.first { $0.to == IntegrationMap.hubID && $0.sourceConnector == name }
            integrations.append(adviseBatchJob(job, edge: edge, map: map, figures: figures))
        }
        return Advice(installation: installation, integrations: integrations, thresholds: thresholds,
                      generatedAt: snapshot.now, historyDays: snapshot.historyDays)
    }

    // MARK: The installation

    func adviseInstallation(map: IntegrationMap, figures: TrafficFigures) -> Advice.Recommendation {
        let between = map.edges.filter { $0.to != IntegrationMap.hubID }
        // Systems that exchange events with each other; an import into Patchbay's own reports is batch
        // advice of its own, not an integration between systems.
        let systems = Set(between.flatMap { [$0.from, $0.to] }).sorted()
        let n = systems.count
        let possible = n * (n - 1) / 2
        let configured = Set(between.map { [$0.from, $0.to].sorted().joined(separator: "\u{0}") }).count
        let perDay = figures.receivedPerDay > 0 ? figures.receivedPerDay : map.edges.reduce(0) { $0 + $1.eventsPerDay }
        let current = dominantPattern(map.edges)
        let volumeSource = volumeSourceText(figures)
        var facts = [
            Advice.Figure(name: "systems", value: Double(n), source: "distinct connector systems on the map's edges"),
            Advice.Figure(name: "possible_integrations", value: Double(possible), source: "N(N-1)/2"),
            Advice.Figure(name: "configured_integrations", value: Double(configured),
                          source: "distinct system pairs with deliveries in the window"),
            Advice.Figure(name: "events_per_day", value: perDay.rounded(), source: volumeSource),
        ]
        let growth = self.growth(figures.installationSeries(), now: perDay, pattern: current)

        guard n > 0 else {
            return Advice.Recommendation(
                subject: "installation", edgeID: nil, current: current, recommended: current, verdict: .insufficientData,
                reason: "no deliveries between systems in the last \(Format.plural(figures.snapshot.windowDays, "day")): nothing measured to advise on",
                figures: facts, cost: nil, growth: growth)
        }

        let wiring = current == .pointToPoint
            ? "\(Format.plural(n, "system")) wired directly: \(Format.plural(possible, "possible integration")), \(Format.count(configured)) configured"
            : "\(Format.plural(n, "system")) through the hub (\(Format.plural(configured, "integration")) between them)"
        let volume = "\(Format.count(perDay)) events/day"
        var (recommended, because) = ruleForInstallation(systems: n, perDay: perDay)
        var verdict: Advice.Verdict = recommended == current ? .keep : .change
        var reason: String
        if rank(recommended) < rank(current) {
            reason = "\(wiring); \(volume): within \(Format.pattern(recommended))'s range, but \(Format.pattern(current)) already runs and a new system costs \(current == .pointToPoint ? "\(n)" : "1") connection\(current == .pointToPoint && n != 1 ? "s" : "") → keep \(Format.pattern(current))"
            recommended = current
            verdict = .keep
        } else if recommended == current {
            reason = "\(wiring); \(volume)\(because) → \(Format.pattern(current)) is right"
        } else {
            reason = "\(wiring); \(volume)\(because) → \(Format.pattern(recommended))"
        }
        if current == .hub || current == .event, perDay >= thresholds.redundancyMinEventsPerDay {
            facts.append(.init(name: "hub_nodes", value: 1, source: "one Patchbay process on one SQLite file"))
            reason += "; hub at \(volume) with one node → add a second node on PostgreSQL for redundancy (when that backend exists)"
            if verdict == .keep { verdict = .addRedundancy }
        }
        if let hours = figures.observedHoursIfUnderADay {
            reason += " (measured over \(hoursText(hours)) of traffic: a day's figures will be firmer)"
        }
        return Advice.Recommendation(
            subject: "installation", edgeID: nil, current: current, recommended: recommended, verdict: verdict,
            reason: reason, figures: facts,
            cost: connectionCost(systems: n, possible: possible, configured: configured, current: current,
                                 recommended: recommended),
            growth: growth)
    }

    /// The pattern the rules give for an installation, and the part of the reason that says which rule.
    func ruleForInstallation(systems n: Int, perDay: Double) -> (IntegrationPattern, String) {
        if perDay >= thresholds.eventDrivenMinEventsPerDay {
            return (.event, " (at or above \(Format.count(thresholds.eventDrivenMinEventsPerDay))/day)")
        }
        if n > thresholds.hubMaxSystems {
            return (.event, " (more than \(thresholds.hubMaxSystems) systems)")
        }
        if n <= thresholds.pointToPointMaxSystems && perDay < thresholds.pointToPointMaxEventsPerDay {
            return (.pointToPoint, " (at most \(thresholds.pointToPointMaxSystems) systems, under \(Format.count(thresholds.pointToPointMaxEventsPerDay))/day)")
        }
        if n > thresholds.pointToPointMaxSystems {
            return (.hub, " (more than \(thresholds.pointToPointMaxSystems) systems, under \(Format.count(thresholds.eventDrivenMinEventsPerDay))/day)")
        }
        return (.hub, " (\(Format.count(thresholds.pointToPointMaxEventsPerDay))/day or more, under \(Format.count(thresholds.eventDrivenMinEventsPerDay))/day)")
    }

    func connectionCost(systems n: Int, possible: Int, configured: Int, current: IntegrationPattern,
                        recommended: IntegrationPattern) -> Advice.ConnectionCost {
        func perNew(_ pattern: IntegrationPattern) -> Int { pattern == .pointToPoint ? n : 1 }
        func connections(_ pattern: IntegrationPattern) -> Int { pattern == .pointToPoint ? configured : n }
        let next = ordinal(n + 1)
        let summary: String
        if current == .pointToPoint && recommended != .pointToPoint {
            summary = "\(Format.count(configured)) direct integrations to maintain now, \(Format.count(n)) connections through the hub; a \(next) system adds up to \(n) wired directly, 1 through the hub"
        } else if current == .pointToPoint {
            summary = "\(Format.count(configured)) direct integration\(configured == 1 ? "" : "s") to maintain; a \(next) system would add up to \(n) more wired directly, 1 through a hub"
        } else {
            summary = "\(Format.count(n)) connections to maintain through the hub; a \(next) system adds 1 (wired directly it would add up to \(n))"
        }
        return Advice.ConnectionCost(
            systems: n, possibleIntegrations: possible, configuredIntegrations: configured,
            perNewSystemNow: perNew(current), perNewSystemRecommended: perNew(recommended),
            connectionsNow: connections(current), connectionsRecommended: connections(recommended), summary: summary)
    }

    // MARK: One integration

    func adviseEdge(_ edge: IntegrationMap.Edge, map: IntegrationMap, figures: TrafficFigures,
                    installation: Advice.Recommendation) -> Advice.Recommendation {
        let subject = "\(edge.sourceConnector) → \(edge.sinkConnector)"
        var facts = [
            Advice.Figure(name: "events_per_day", value: edge.eventsPerDay.rounded(), source: volumeSourceText(figures)),
        ]
        if let latency = edge.latency {
            facts.append(.init(name: "p95_latency_ms", value: Double(latency.p95Ms),
                               source: "delivered deliveries' updated_at - events.received_at, \(latency.samples) in the window"))
        }
        facts.append(.init(name: "failure_rate_basis_points", value: (edge.failureRate * 10_000).rounded(),
                           source: "throughput_hour failed / (delivered + failed) of \(edge.sinkConnector)"))
        let series = figures.pairRoutes.first { figures.connector($0.source)?.name == edge.sourceConnector
            && figures.connector($0.sink)?.name == edge.sinkConnector }.map(figures.dailySeries) ?? []
        let growth = self.growth(series, now: edge.eventsPerDay, pattern: edge.pattern)
        let volume = "\(Format.count(edge.eventsPerDay)) events/day"

        // Fan-out: the widest topic of this edge's source.
        let sourceID = figures.snapshot.connectors.first { $0.name == edge.sourceConnector }?.id
        let fanOut = figures.snapshot.fanOut
            .filter { topic in edge.topics.contains(topic.topic) }
            .map { topic -> (topic: String, sinks: [ConnectorID]) in
                let sinks = figures.snapshot.routes.filter { $0.topic == topic.topic && $0.source == sourceID }.map(\.sink)
                return (topic.topic, Array(Set(sinks)).sorted())
            }
            .max { $0.sinks.count < $1.sinks.count }

        var recommended = edge.pattern
        var reason: String
        if edge.pattern == .batch {
            reason = "\(edge.sourceConnector) loads \(edge.sinkConnector) in batches, \(volume)"
            if let latency = edge.latency { reason += ", delivered within \(Format.duration(ms: latency.p95Ms)) (p95)" }
            reason += " → batch is right"
        } else if let fanOut, fanOut.sinks.count >= thresholds.fanOutMinTargets {
            facts.append(.init(name: "fan_out_targets", value: Double(fanOut.sinks.count),
                               source: "sink connectors that received \(fanOut.topic) from \(edge.sourceConnector) in the window"))
            let p95s = figures.snapshot.latencies.filter { $0.source == sourceID && fanOut.sinks.contains($0.sink) }.map(\.p95Ms)
            let realtime = !p95s.isEmpty && p95s.allSatisfy { $0 <= thresholds.realtimeLatencyMs }
            let need = realtime
                ? "that each need it within seconds (p95 at most \(Format.duration(ms: p95s.max() ?? 0)))"
                : "in parallel"
            recommended = .event
            reason = "\(fanOut.topic) reaches \(fanOut.sinks.count) targets \(need) → event-driven fan-out"
            if edge.pattern == .event { reason += " is right" }
        } else if edge.eventsPerDay >= thresholds.eventDrivenMinEventsPerDay {
            recommended = .event
            reason = "\(volume), at or above \(Format.count(thresholds.eventDrivenMinEventsPerDay))/day → event-driven"
            if edge.pattern == .event { reason += " is right" }
        } else if edge.pattern == .pointToPoint {
            let n = installation.cost?.systems ?? 2
            if installation.recommended != .pointToPoint {
                recommended = .hub
                reason = "wired directly, one of \(Format.plural(installation.cost?.configuredIntegrations ?? 1, "direct integration")) among \(Format.plural(n, "system")); \(volume) → through the hub (hub-and-spoke)"
            } else if edge.eventsPerDay >= thresholds.pointToPointMaxEventsPerDay {
                recommended = .hub
                reason = "\(volume), at or above point-to-point's \(Format.count(thresholds.pointToPointMaxEventsPerDay))/day → hub-and-spoke"
            } else {
                reason = "\(Format.plural(n, "system")), \(volume) (under \(Format.count(thresholds.pointToPointMaxEventsPerDay))/day) → point-to-point is right"
            }
        } else {
            let fans = fanOut.map { " reaching \(Format.plural($0.sinks.count, "target"))" } ?? ""
            reason = "\(volume)\(fans), under \(Format.count(thresholds.eventDrivenMinEventsPerDay))/day → \(Format.pattern(edge.pattern)) is right"
            if edge.pattern == .event {
                reason = "\(volume)\(fans), under \(Format.count(thresholds.eventDrivenMinEventsPerDay))/day: within hub-and-spoke's range, but event-driven already runs → keep event-driven"
            }
        }
        if rank(recommended) < rank(edge.pattern) { recommended = edge.pattern }
        if edge.failureRate >= 0.05 {
            reason += "; \(Format.percent(edge.failureRate * 100).dropFirst()) of attempts failed — fix that first"
        }
        return Advice.Recommendation(
            subject: subject, edgeID: edge.id, current: edge.pattern, recommended: recommended,
            verdict: recommended == edge.pattern ? .keep : .change, reason: reason, figures: facts,
            cost: edge.pattern == .pointToPoint && recommended != .pointToPoint ? installation.cost : nil,
            growth: growth)
    }

    // MARK: Batch jobs

    func adviseBatchJob(_ job: TrafficSnapshot.BatchJobActivity, edge: IntegrationMap.Edge?, map: IntegrationMap,
                        figures: TrafficFigures) -> Advice.Recommendation {
        var facts = [
            Advice.Figure(name: "runs", value: Double(job.runs), source: "batch_runs in the window"),
            Advice.Figure(name: "rows_loaded", value: Double(job.rowsLoaded), source: "batch_runs.rows_loaded in the window"),
        ]
        var reason = "\(job.job): \(Format.plural(job.runs, "run")) in \(Format.plural(figures.snapshot.windowDays, "day"))"
        if let interval = job.medianIntervalMs {
            facts.append(.init(name: "median_interval_ms", value: Double(interval), source: "gaps between batch_runs.started_at"))
            reason += ", every \(Format.duration(ms: interval)) (median)"
        }
        reason += ", \(Format.count(job.rowsLoaded)) rows loaded"
        if job.failedRuns > 0 { reason += ", \(job.failedRuns) failed" }
        if edge != nil {
            reason += ", read only by the aging report → batch is right"
        } else {
            let targets = Set(figures.snapshot.routes.filter { $0.source == job.connector }.map(\.sink)).count
            reason += targets > 0 ? ", its rows published as events to \(Format.plural(targets, "target")) → batch is right" : " → batch is right"
        }
        if let interval = job.medianIntervalMs, Double(interval) < thresholds.batchMinIntervalMinutes * 60_000 {
            let system = job.connector.flatMap { figures.connector($0)?.system } ?? "the source system"
            reason += "; it runs more often than batch's \(Format.count(thresholds.batchMinIntervalMinutes)) minutes at best: if \(system) can send webhooks, the hub would deliver in seconds"
        }
        return Advice.Recommendation(
            subject: job.job, edgeID: edge?.id, current: .batch, recommended: .batch, verdict: .keep, reason: reason,
            figures: facts, cost: nil, growth: nil)
    }

    // MARK: Growth

    /// A least-squares line through the daily volumes (oldest first, complete days), its slope as a
    /// weekly percentage of today's fitted volume, and when it crosses the next threshold above.
    ///
    /// The thresholds that matter depend on the pattern in use: point-to-point outgrows 1,000/day
    /// and then 50,000/day; everything else only 50,000/day (by default).
    func growth(_ series: [Double], now observed: Double, pattern: IntegrationPattern) -> Advice.Growth {
        let days = series.count
        guard days >= thresholds.growthMinDays, days >= 2 else {
            return Advice.Growth(trend: .tooShort, days: days, eventsPerDayNow: observed, weeklyGrowthPercent: nil,
                                 nextThreshold: nil, weeksToThreshold: nil,
                                 summary: "\(Format.plural(days, "complete day")) of history, fewer than the \(thresholds.growthMinDays) a trend needs: no growth claimed")
        }
        let xs = (0..<days).map(Double.init)
        let meanX = xs.reduce(0, +) / Double(days), meanY = series.reduce(0, +) / Double(days)
        let sxx = xs.reduce(0) { $0 + ($1 - meanX) * ($1 - meanX) }
        let sxy = zip(xs, series).reduce(0) { $0 + ($1.0 - meanX) * ($1.1 - meanY) }
        let slope = sxx == 0 ? 0 : sxy / sxx
        let fittedNow = meanY + slope * (Double(days - 1) - meanX)
        guard fittedNow > 0 else {
            return Advice.Growth(trend: .shrinking, days: days, eventsPerDayNow: max(0, fittedNow), weeklyGrowthPercent: nil,
                                 nextThreshold: nil, weeksToThreshold: nil,
                                 summary: "the trend over \(days) days falls to nothing: no crossing")
        }
        let weekly = slope * 7 / fittedNow * 100
        let candidates = pattern == .pointToPoint
            ? [thresholds.pointToPointMaxEventsPerDay, thresholds.eventDrivenMinEventsPerDay]
            : [thresholds.eventDrivenMinEventsPerDay]
        let next = candidates.filter { $0 > fittedNow }.min()
        if abs(weekly) < thresholds.flatGrowthPercent || weekly < 0 {
            let trend: Advice.Growth.Trend = weekly < 0 && abs(weekly) >= thresholds.flatGrowthPercent ? .shrinking : .flat
            return Advice.Growth(trend: trend, days: days, eventsPerDayNow: fittedNow, weeklyGrowthPercent: weekly,
                                 nextThreshold: next, weeksToThreshold: nil,
                                 summary: "\(Format.percent(weekly))/week over \(days) days (\(trend.rawValue)): no threshold crossing ahead")
        }
        guard let next else {
            return Advice.Growth(trend: .growing, days: days, eventsPerDayNow: fittedNow, weeklyGrowthPercent: weekly,
                                 nextThreshold: nil, weeksToThreshold: nil,
                                 summary: "at \(Format.percent(weekly))/week over \(days) days; above every threshold already")
        }
        let weeks = (next - fittedNow) / (slope * 7)
        if weeks > thresholds.growthHorizonWeeks {
            return Advice.Growth(trend: .growing, days: days, eventsPerDayNow: fittedNow, weeklyGrowthPercent: weekly,
                                 nextThreshold: next, weeksToThreshold: nil,
                                 summary: "at \(Format.percent(weekly))/week, does not reach \(Format.count(next))/day within \(Format.count(thresholds.growthHorizonWeeks)) weeks")
        }
        let about = weeks < 1 ? "within a week" : "in about \(Format.plural(Int(weeks.rounded()), "week"))"
        return Advice.Growth(trend: .growing, days: days, eventsPerDayNow: fittedNow, weeklyGrowthPercent: weekly,
                             nextThreshold: next, weeksToThreshold: weeks,
                             summary: "at \(Format.percent(weekly))/week, crosses \(Format.count(next))/day \(about)")
    }

    // MARK: Helpers

    /// The pattern carrying most of the map's traffic (by edges when nothing was carried).
    func dominantPattern(_ edges: [IntegrationMap.Edge]) -> IntegrationPattern {
        var weight: [IntegrationPattern: Double] = [:]
        let total = edges.reduce(0) { $0 + $1.eventsPerDay }
        for edge in edges where edge.pattern != .batch {
            weight[edge.pattern, default: 0] += total > 0 ? edge.eventsPerDay : 1
        }
        guard let best = weight.max(by: { ($0.value, -rank($0.key)) < ($1.value, -rank($1.key)) }) else {
            return edges.isEmpty ? .pointToPoint : .batch
        }
        return best.key
    }

    /// Point-to-point < hub < event; batch sits beside them (never moved up or down).
    func rank(_ pattern: IntegrationPattern) -> Int {
        switch pattern {
        case .pointToPoint: 0
        case .hub: 1
        case .event: 2
        case .batch: -1
        }
    }

    func ordinal(_ n: Int) -> String {
        let suffix = (11...13).contains(n % 100) ? "th" : [1: "st", 2: "nd", 3: "rd"][n % 10] ?? "th"
        return "\(n)\(suffix)"
    }

    func hoursText(_ hours: Double) -> String {
        hours < 1 ? "\(max(1, Int((hours * 60).rounded()))) min" : String(format: "%.1f h", hours)
    }

    func volumeSourceText(_ figures: TrafficFigures) -> String {
        let days = figures.observedDays
        return days >= Double(figures.snapshot.windowDays)
            ? "throughput_hour, \(figures.snapshot.windowDays)-day average"
            : "throughput_hour, over \(String(format: "%.1f", days)) observed day(s)"
    }
}
