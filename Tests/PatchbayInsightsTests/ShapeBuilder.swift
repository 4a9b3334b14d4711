import Foundation
import PatchbayStore
@testable import PatchbayInsights

/// Builds a `TrafficSnapshot` of a chosen shape directly: for the advisor's pure rules at volumes
/// (60,000 events a day over weeks) that would be slow to write through the store.
///
/// "Now" is noon UTC; each route carries `perDay` on the last complete day, and on earlier days
/// what a straight line with `weeklyGrowth` (a fraction of the last day's volume per week) gives.
struct ShapeBuilder {
    static let day: Int64 = 86_400_000
    var now: Int64 = 20_000 * ShapeBuilder.day + 12 * 3_600_000
    var windowDays = 7
    var connectors: [Connector] = []
    var routes: [TrafficSnapshot.Route] = []
    var latencies: [TrafficSnapshot.RouteLatency] = []
    var batchJobs: [TrafficSnapshot.BatchJobActivity] = []
    private var daily: [ConnectorID: [Int64: TrafficSnapshot.DailyVolume]] = [:]
    private var window: [ConnectorID: (received: Int, delivered: Int, failed: Int)] = [:]

    @discardableResult
    mutating func connector(_ name: String, system: String, pattern: IntegrationPattern,
                            direction: ConnectorDirection, health: ConnectorHealth = .healthy) -> ConnectorID {
        if let existing = connectors.first(where: { $0.name == name }) { return existing.id }
        let id = ConnectorID(connectors.count + 1)
        connectors.append(Connector(id: id, name: name, module: "http", pattern: pattern, system: system,
                                    direction: direction, paused: false, health: health, createdAt: 0))
        return id
    }

    /// A route from `source` to `sink` with its daily history.
    mutating func route(_ source: ConnectorID, _ sink: ConnectorID, topic: String, perDay: Double,
                        historyDays: Int = 28, weeklyGrowth: Double = 0, p50: Int64 = 400, p95: Int64 = 1_200,
                        failedPerDay: Int = 0) {
        let today = now / Self.day * Self.day
        let slopePerDay = perDay * weeklyGrowth / 7
        var windowTotal = 0
        for back in 1...historyDays {
            let volume = max(0, Int((perDay - slopePerDay * Double(back - 1)).rounded()))
            let dayStart = today - Int64(back) * Self.day
            daily[source, default: [:]][dayStart, default: .init(dayStart: dayStart)].received += volume
            daily[sink, default: [:]][dayStart, default: .init(dayStart: dayStart)].delivered += volume
            daily[sink, default: [:]][dayStart, default: .init(dayStart: dayStart)].failed += failedPerDay
            if back <= windowDays { windowTotal += volume }
        }
        window[source, default: (0, 0, 0)].received += windowTotal
        window[sink, default: (0, 0, 0)].delivered += windowTotal
        window[sink, default: (0, 0, 0)].failed += failedPerDay * windowDays
        routes.append(.init(source: source, sink: sink, topic: topic, deliveries: windowTotal, delivered: windowTotal,
                            failing: 0, sampled: false))
        latencies.append(.init(source: source, sink: sink, p50Ms: p50, p95Ms: p95, samples: windowTotal))
    }

    /// A batch job that ran every `interval` over the window, on `connector`.
    mutating func batchJob(_ job: String, connector: ConnectorID, interval: Int64, rowsPerRun: Int) {
        let runs = Int(Int64(windowDays) * Self.day / interval)
        batchJobs.append(.init(job: job, connector: connector, runs: runs, failedRuns: 0, rowsLoaded: runs * rowsPerRun,
                               firstStartedAt: now - Int64(runs) * interval, lastStartedAt: now - interval,
                               medianIntervalMs: interval))
    }

    func build() -> TrafficSnapshot {
        let traffic = daily.keys.sorted().map { id -> TrafficSnapshot.ConnectorTraffic in
            let days = daily[id]!.values.sorted { $0.dayStart < $1.dayStart }
            let sums = window[id] ?? (0, 0, 0)
            return .init(connector: id, daily: days, windowReceived: sums.received, windowDelivered: sums.delivered,
                         windowFailed: sums.failed, windowDead: 0, peakHourStart: now - 3 * 3_600_000,
                         peakHourEvents: (sums.received + sums.delivered) / (windowDays * 12),
                         firstActivity: days.first?.dayStart)
        }
        let history = traffic.compactMap(\.firstActivity).min().map { Int((now - $0) / Self.day) + 1 } ?? 0
        return TrafficSnapshot(now: now, windowDays: windowDays, historyDays: history, connectors: connectors,
                               traffic: traffic, routes: routes, latencies: latencies, batchJobs: batchJobs)
    }
}
