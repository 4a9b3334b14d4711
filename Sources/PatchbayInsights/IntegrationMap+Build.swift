import Foundation
import PatchbayStore

extension IntegrationMap {
    /// The map of a snapshot: a pure function, so the CLI, the dashboard and tests draw the same one.
    ///
    /// - Edges come from the measured routes (source connector → sink connector, any topic), plus
    ///   one edge per batch job whose connector delivers nothing (an import read by Patchbay's own
    ///   reports: system → hub).
    /// - Events per day: the route's deliveries over the observed days (`TrafficFigures.observedDays`);
    ///   when the sink's sample was cut at `Store.trafficSampleLimit`, the sink's rollup volume
    ///   (delivered + dead) times the route's share of the sample.
    /// - Peak hour: the sink's busiest hour in the window, times the route's share.
    /// - Failure rate: the sink's failed attempts / (delivered + failed attempts) from the rollup.
    public static func build(from snapshot: TrafficSnapshot) -> IntegrationMap {
        let figures = TrafficFigures(snapshot)
        var edges: [Edge] = []
        for route in figures.pairRoutes {
            guard let source = figures.connector(route.source), let sink = figures.connector(route.sink) else { continue }
            let via: String? = (sink.pattern == .hub || sink.pattern == .event) ? hubID : nil
            let sinkTraffic = figures.traffic(sink.id)
            let share = figures.share(of: route)
            let latency = snapshot.latencies.first { $0.source == source.id && $0.sink == sink.id }
                .map { Latency(p50Ms: $0.p50Ms, p95Ms: $0.p95Ms, samples: $0.samples) }
            let peak = sinkTraffic.flatMap { traffic in
                traffic.peakHourStart.map { PeakHour(start: $0, events: Int((Double(traffic.peakHourEvents) * share).rounded(.up))) }
            }
            edges.append(Edge(
                id: "\(source.name)->\(sink.name)", from: source.system, to: sink.system, via: via,
                sourceConnector: source.name, sinkConnector: sink.name, topics: route.topics, pattern: sink.pattern,
                direction: .oneWay, eventsPerDay: figures.eventsPerDay(route),
                peakHour: peak, latency: latency,
                failureRate: figures.failureRate(sink: sink.id, fallback: route),
                health: worst([source.health, sink.health])))
        }
        // Imports into Patchbay's own reports: one edge per connector, whatever number of jobs load it.
        let delivering = Set(snapshot.routes.map(\.source))
        var imports: [ConnectorID: [TrafficSnapshot.BatchJobActivity]] = [:]
        for job in snapshot.batchJobs {
            guard let connectorID = job.connector, !delivering.contains(connectorID) else { continue }
            imports[connectorID, default: []].append(job)
        }
        for (connectorID, jobs) in imports.sorted(by: { $0.key < $1.key }) {
            guard let connector = figures.connector(connectorID) else { continue }
            let runs = jobs.reduce(0) { $0 + $1.runs }, failed = jobs.reduce(0) { $0 + $1.failedRuns }
            edges.append(Edge(
                id: "\(connector.name)->\(hubID)", from: connector.system, to: hubID, via: nil,
                sourceConnector: connector.name, sinkConnector: hubID, topics: jobs.map(\.job).sorted(), pattern: .batch,
                direction: .oneWay, eventsPerDay: Double(jobs.reduce(0) { $0 + $1.rowsLoaded }) / figures.observedDays,
                peakHour: nil, latency: nil,
                failureRate: runs == 0 ? 0 : Double(failed) / Double(runs),
                health: connector.health))
        }
        let pairs = Set(edges.map { "\($0.from)\u{0}\($0.to)" })
        for index in edges.indices where pairs.contains("\(edges[index].to)\u{0}\(edges[index].from)") {
            edges[index].direction = .twoWay
        }
        edges.sort { ($0.from, $0.to, $0.id) < ($1.from, $1.to, $1.id) }

        var systems: [String: [Connector]] = [:]
        for connector in snapshot.connectors { systems[connector.system, default: []].append(connector) }
        var nodes = systems.keys.sorted().map { system -> Node in
            let connectors = systems[system]!
            let volume = edges.filter { $0.from == system || $0.to == system }.reduce(0) { $0 + $1.eventsPerDay }
            return Node(id: system, kind: .system, connectors: connectors.map(\.name).sorted(),
                        health: worst(connectors.map(\.health)), eventsPerDay: volume)
        }
        let throughHub = edges.filter { $0.via == hubID || $0.to == hubID }.reduce(0) { $0 + $1.eventsPerDay }
        nodes.append(Node(id: hubID, kind: .hub, connectors: [], health: worst(snapshot.connectors.map(\.health)),
                          eventsPerDay: throughHub))
        return IntegrationMap(nodes: nodes, edges: edges, generatedAt: snapshot.now, windowDays: snapshot.windowDays)
    }

    /// The worst of some healths: failing, then degraded (orphaned counts as degraded), then unknown,
    /// then healthy. No connectors: unknown.
    static func worst(_ healths: [ConnectorHealth]) -> ConnectorHealth {
        func rank(_ health: ConnectorHealth) -> Int {
            switch health {
            case .healthy: 0
            case .unknown: 1
            case .orphaned: 2
            case .degraded: 3
            case .failing: 4
            }
        }
        return healths.max { rank($0) < rank($1) } ?? .unknown
    }
}

/// Figures derived from a snapshot that the map and the advisor share.
struct TrafficFigures {
    /// A (source, sink) pair with every topic it carried.
    struct PairRoute {
        var source: ConnectorID
        var sink: ConnectorID
        var topics: [String]
        var deliveries: Int
        var delivered: Int
        var failing: Int
        var sampled: Bool
    }

    let snapshot: TrafficSnapshot
    let pairRoutes: [PairRoute]
    private let connectorsByID: [ConnectorID: Connector]
    private let trafficByID: [ConnectorID: TrafficSnapshot.ConnectorTraffic]
    private let sampleSizes: [ConnectorID: Int]

    init(_ snapshot: TrafficSnapshot) {
        self.snapshot = snapshot
        connectorsByID = Dictionary(snapshot.connectors.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        trafficByID = Dictionary(snapshot.traffic.map { ($0.connector, $0) }, uniquingKeysWith: { a, _ in a })
        var pairs: [String: PairRoute] = [:]
        var sizes: [ConnectorID: Int] = [:]
        for route in snapshot.routes {
            let key = "\(route.source)-\(route.sink)"
            var pair = pairs[key] ?? PairRoute(source: route.source, sink: route.sink, topics: [], deliveries: 0,
                                               delivered: 0, failing: 0, sampled: false)
            if !pair.topics.contains(route.topic) { pair.topics.append(route.topic) }
            pair.topics.sort()
            pair.deliveries += route.deliveries
            pair.delivered += route.delivered
            pair.failing += route.failing
            pair.sampled = pair.sampled || route.sampled
            pairs[key] = pair
            sizes[route.sink, default: 0] += route.deliveries
        }
        pairRoutes = pairs.values.sorted { ($0.source, $0.sink) < ($1.source, $1.sink) }
        sampleSizes = sizes
    }

    func connector(_ id: ConnectorID) -> Connector? { connectorsByID[id] }
    func traffic(_ id: ConnectorID) -> TrafficSnapshot.ConnectorTraffic? { trafficByID[id] }

    /// Days the window's counts are divided by to give a daily figure: the window, or the time
    /// since the first counted traffic when that is shorter, and never less than one day (a
    /// history of ten minutes is reported as what one day holds, not extrapolated).
    var observedDays: Double {
        let windowStart = snapshot.now - Int64(snapshot.windowDays) * 86_400_000
        guard let first = snapshot.traffic.compactMap(\.firstActivity).min() else { return Double(snapshot.windowDays) }
        let span = Double(snapshot.now - max(windowStart, first)) / 86_400_000
        return min(Double(snapshot.windowDays), max(1, span))
    }

    /// Hours between the first counted traffic and now, when that is under a day (else nil).
    var observedHoursIfUnderADay: Double? {
        guard let first = snapshot.traffic.compactMap(\.firstActivity).min() else { return nil }
        let hours = Double(snapshot.now - first) / 3_600_000
        return hours < 24 ? hours : nil
    }

    /// The route's share of its sink's sampled deliveries, 0...1.
    func share(of route: PairRoute) -> Double {
        let size = sampleSizes[route.sink] ?? 0
        return size == 0 ? 0 : Double(route.deliveries) / Double(size)
    }

    func eventsPerDay(_ route: PairRoute) -> Double {
        if route.sampled, let traffic = traffic(route.sink) {
            return Double(traffic.windowDelivered + traffic.windowDead) * share(of: route) / observedDays
        }
        return Double(route.deliveries) / observedDays
    }

    func failureRate(sink: ConnectorID, fallback route: PairRoute) -> Double {
        if let traffic = traffic(sink), traffic.windowDelivered + traffic.windowFailed > 0 {
            return Double(traffic.windowFailed) / Double(traffic.windowDelivered + traffic.windowFailed)
        }
        return route.deliveries == 0 ? 0 : Double(route.failing) / Double(route.deliveries)
    }

    /// Events received per day by every source, over the observed days (rollup).
    var receivedPerDay: Double {
        Double(snapshot.traffic.reduce(0) { $0 + $1.windowReceived }) / observedDays
    }

    /// A route's daily volumes over the history: its sink's (delivered + dead) per day times the
    /// route's share, complete days only (today's partial day is left out), zeros filled in.
    func dailySeries(_ route: PairRoute) -> [Double] {
        guard let traffic = traffic(route.sink) else { return [] }
        let share = share(of: route)
        return completeDays(traffic.daily).map { Double($0.delivered + $0.dead) * share }
    }

    /// Received per day by every source, complete days, zeros filled in.
    func installationSeries() -> [Double] {
        var byDay: [Int64: Int] = [:]
        for traffic in snapshot.traffic where connector(traffic.connector)?.direction != .sink {
            for day in traffic.daily { byDay[day.dayStart, default: 0] += day.received }
        }
        return completeDays(byDay.keys.sorted().map { TrafficSnapshot.DailyVolume(dayStart: $0, received: byDay[$0]!) })
            .map { Double($0.received) }
    }

    /// The days from the first one given up to yesterday (UTC), with zero volumes where none was counted.
    private func completeDays(_ daily: [TrafficSnapshot.DailyVolume]) -> [TrafficSnapshot.DailyVolume] {
        let today = snapshot.now / 86_400_000 * 86_400_000
        guard let first = daily.map(\.dayStart).min(), first < today else { return [] }
        let known = Dictionary(daily.map { ($0.dayStart, $0) }, uniquingKeysWith: { a, _ in a })
        return stride(from: first, to: today, by: 86_400_000).map { known[$0] ?? .init(dayStart: $0) }
    }
}
