import Foundation
import PatchbayDashboard
import PatchbayInsights
import PatchbayStore
import Synchronization
import TerminalUI

/// Maps and advice of known shape, so the map view's layout is tested on its own: the store's read and
/// the advisor have their own tests (PatchbayInsightsTests), and their figures may change without the
/// drawing changing.
enum MapFixtures {
    typealias Edge = IntegrationMap.Edge

    static func edge(_ from: String, _ to: String, via hub: Bool, _ source: String, _ sink: String, _ pattern: IntegrationPattern,
                     perDay: Double, p50: Int64?, p95: Int64?, failure: Double = 0, health: ConnectorHealth = .healthy,
                     peak: Int = 0, peakHour: Int = 14) -> Edge {
        let day = Int64(fixedNow.timeIntervalSince1970 * 1000) / 86_400_000 * 86_400_000
        return Edge(id: "\(source)->\(sink)", from: from, to: to, via: hub ? IntegrationMap.hubID : nil,
                    sourceConnector: source, sinkConnector: sink, topics: ["order_created"], pattern: pattern,
                    direction: .oneWay, eventsPerDay: perDay,
                    peakHour: peak > 0 ? .init(start: day - 86_400_000 + Int64(peakHour) * 3_600_000, events: peak) : nil,
                    latency: p50.map { .init(p50Ms: $0, p95Ms: p95 ?? $0, samples: 500) },
                    failureRate: failure, health: health)
    }

    static func map(_ edges: [Edge], extraSystems: [String] = []) -> IntegrationMap {
        var systems = Set(extraSystems)
        for edge in edges { for id in [edge.from, edge.to] where id != IntegrationMap.hubID { systems.insert(id) } }
        var nodes = systems.sorted().map { id -> IntegrationMap.Node in
            let mine = edges.filter { $0.from == id || $0.to == id }
            let health = mine.map(\.health).max { rank($0) < rank($1) } ?? .unknown
            return .init(id: id, kind: .system, connectors: Array(Set(mine.flatMap(\.connectors))).sorted(),
                         health: health, eventsPerDay: mine.reduce(0) { $0 + $1.eventsPerDay })
        }
        let through = edges.filter { $0.via != nil }
        nodes.append(.init(id: IntegrationMap.hubID, kind: .hub, connectors: [], health: .failing,
                           eventsPerDay: through.reduce(0) { $0 + $1.eventsPerDay }))
        return IntegrationMap(nodes: nodes, edges: edges.sorted { ($0.from, $0.to) < ($1.from, $1.to) },
                              generatedAt: Int64(fixedNow.timeIntervalSince1970 * 1000), windowDays: 7)
    }

    static func rank(_ health: ConnectorHealth) -> Int {
        [.healthy: 0, .unknown: 1, .degraded: 2, .orphaned: 3, .failing: 4][health] ?? 0
    }

    /// The seeded installation's shape: nine systems; a point-to-point pair, a CRM hub, a storefront
    /// fan-out and a nightly batch export.
    static let nineSystems: IntegrationMap = map([
        edge("Shopify", "Xero", via: false, "shopify-orders", "xero-invoices", .pointToPoint,
             perDay: 310, p50: 420, p95: 1_900, failure: 0.031, health: .degraded, peak: 41),
        edge("HubSpot CRM", "ERP", via: true, "crm-contacts", "erp-sync", .hub,
             perDay: 1_240, p50: 850, p95: 12_400, failure: 0.12, health: .failing, peak: 160, peakHour: 9),
        edge("HubSpot CRM", "Warehouse", via: true, "crm-contacts", "warehouse-sync", .hub,
             perDay: 1_240, p50: 310, p95: 980, peak: 160, peakHour: 9),
        edge("HubSpot CRM", "HubSpot CRM", via: true, "crm-contacts", "crm-sync", .hub,
             perDay: 1_240, p50: 290, p95: 870, peak: 160, peakHour: 9),
        edge("Storefront", "Inventory", via: true, "storefront-events", "inventory-reserve", .event,
             perDay: 2_900, p50: 120, p95: 2_100, failure: 0.021, health: .degraded, peak: 412),
        edge("Storefront", "Shipping", via: true, "storefront-events", "shipping-labels", .event,
             perDay: 2_900, p50: 95, p95: 1_400, peak: 412),
        edge("Storefront", "Xero", via: true, "storefront-events", "accounting-invoices", .event,
             perDay: 2_900, p50: 640, p95: 4_800, failure: 0.08, health: .failing, peak: 412),
        edge("ERP", "Data warehouse", via: false, "erp-stock-export", "reporting-warehouse", .batch,
             perDay: 24, p50: 2_100_000, p95: 3_480_000, peak: 1, peakHour: 2),
    ])

    static func recommendation(_ subject: String, edge: String?, _ current: IntegrationPattern, _ recommended: IntegrationPattern,
                               _ verdict: Advice.Verdict, _ reason: String, cost: String? = nil, growth: String? = nil)
        -> Advice.Recommendation
    {
        Advice.Recommendation(
            subject: subject, edgeID: edge, current: current, recommended: recommended, verdict: verdict, reason: reason,
            figures: [.init(name: "events_per_day", value: 1, source: "throughput_hour, 7-day average")],
            cost: cost.map { .init(systems: 9, possibleIntegrations: 36, configuredIntegrations: 8, perNewSystemNow: 1,
                                   perNewSystemRecommended: 1, connectionsNow: 9, connectionsRecommended: 9, summary: $0) },
            growth: growth.map { .init(trend: .growing, days: 30, eventsPerDayNow: 13_000, weeklyGrowthPercent: 12,
                                       nextThreshold: 50_000, weeksToThreshold: 9, summary: $0) })
    }

    static let nineSystemsAdvice = Advice(
        installation: recommendation(
            "installation", edge: nil, .hub, .hub, .keep,
            "9 systems, 8 integrations, 12,454 events/day, most through the hub → hub-and-spoke",
            cost: "a 10th system adds 1 connection through the hub, 9 wired directly",
            growth: "at +12 %/week, crosses 50,000/day in about 9 weeks"),
        integrations: [
            recommendation("shopify-orders → xero-invoices", edge: "shopify-orders->xero-invoices", .pointToPoint, .hub, .change,
                           "Xero is wired directly and through the hub: 310 events/day beside 2,900 → hub-and-spoke",
                           cost: "one connection fewer to maintain"),
            recommendation("crm-contacts → erp-sync", edge: "crm-contacts->erp-sync", .hub, .hub, .keep,
                           "1,240 events/day between 4 systems → hub-and-spoke is right"),
            recommendation("storefront-events → accounting-invoices", edge: "storefront-events->accounting-invoices", .event, .event,
                           .keep, "order_created reaches 3 targets that each need it within seconds → event-driven fan-out"),
            recommendation("erp-stock-export → reporting-warehouse", edge: "erp-stock-export->reporting-warehouse", .batch, .batch,
                           .keep, "erp-stock-export runs hourly, read only by reporting-warehouse → batch is right"),
        ],
        thresholds: .defaults, generatedAt: Int64(fixedNow.timeIntervalSince1970 * 1000), historyDays: 30)

    /// Fifteen systems, the most the map promises to draw legibly at 120x40.
    static let fifteenSystems: IntegrationMap = {
        let sources = ["Shopify", "Stripe", "HubSpot CRM", "Salesforce", "Zendesk", "Storefront", "NetSuite ERP"]
        let sinks = ["Xero", "QuickBooks", "Warehouse", "Inventory", "Shipping", "Data warehouse", "Mailchimp", "Slack"]
        var edges: [Edge] = []
        for (index, source) in sources.enumerated() {
            for offset in 0..<2 {
                let sink = sinks[(index * 2 + offset) % sinks.count]
                let name = sink.lowercased().replacingOccurrences(of: " ", with: "-")
                edges.append(edge(source, sink, via: true, "\(source.lowercased().replacingOccurrences(of: " ", with: "-"))-out",
                                  "\(name)-in-\(index)", index % 2 == 0 ? .hub : .event,
                                  perDay: Double(800 * (index + 1) + offset * 300), p50: 200, p95: 1_500,
                                  failure: offset == 1 && index == 3 ? 0.2 : 0, health: offset == 1 && index == 3 ? .failing : .healthy,
                                  peak: 90))
            }
        }
        edges.append(edge("Shopify", "Xero", via: false, "shopify-orders", "xero-invoices", .pointToPoint,
                          perDay: 300, p50: 400, p95: 900))
        edges.append(edge("NetSuite ERP", "Data warehouse", via: false, "erp-export", "dw-load", .batch,
                          perDay: 24, p50: 1_800_000, p95: 3_000_000))
        return map(edges)
    }()

    static let fifteenSystemsAdvice = Advice(
        installation: recommendation(
            "installation", edge: nil, .hub, .event, .change,
            "15 systems through one hub, more than 8 → event-driven",
            cost: "a 16th system adds 1 connection either way"),
        integrations: [], thresholds: .defaults, generatedAt: 0, historyDays: 7)
}

/// The store for everything, and a fixed map: counts how often the map is read.
final class FixtureMapReader: DashboardReading {
    let store: Store
    let snapshot: MapSnapshot
    let mapReads = Mutex(0)

    init(store: Store, snapshot: MapSnapshot) {
        self.store = store
        self.snapshot = snapshot
    }

    func mapSnapshot(now: Date, days: Int) throws -> MapSnapshot {
        mapReads.withLock { $0 += 1 }
        return snapshot
    }

    func overview(window: TimeWindow, now: Date) throws -> OverviewSnapshot { try store.overview(window: window, now: now) }
    func connectorRows(window: TimeWindow, now: Date) throws -> (statuses: [ConnectorStatus], series: [ConnectorID: [ThroughputBucket]]) {
        try store.connectorRows(window: window, now: now)
    }
    func failures(_ filter: FailureFilter, limit: Int) throws -> [FailedDelivery] { try store.failures(filter, limit: limit) }
    func groups(connector: ConnectorID?) throws -> [ErrorGroup] { try store.groups(connector: connector) }
    func retries(limit: Int) throws -> [FailedDelivery] { try store.retries(limit: limit) }
    func eventPage(_ filter: EventFilter, before: EventID?, limit: Int) throws -> EventPage {
        try store.eventPage(filter, before: before, limit: limit)
    }
    func event(_ id: EventID) throws -> EventDetail? { try store.event(id) }
    func agingReport(asOf: String, by: AgingBasis) throws -> [CurrencyAging] { try store.agingReport(asOf: asOf, by: by) }
    func customerInvoices(customer: String, currency: String) throws -> [Invoice] {
        try store.customerInvoices(customer: customer, currency: currency)
    }
    func moneyAtRisk() throws -> MoneyAtRiskReport { try store.moneyAtRisk() }
    func connectorHealth(window: TimeWindow, now: Date) throws -> ConnectorHealthSnapshot {
        try store.connectorHealth(window: window, now: now)
    }
    func alerts(limit: Int) throws -> [AlertRecord] { try store.alerts(limit: limit) }
}

/// A dashboard over a seeded store whose map view shows `snapshot`.
final class MapHarness {
    let base: Harness
    let reader: FixtureMapReader
    let executor = ImmediateExecutor()
    let dashboard: Dashboard

    init(_ map: IntegrationMap = MapFixtures.nineSystems, advice: Advice = MapFixtures.nineSystemsAdvice) throws {
        base = try Harness()
        reader = FixtureMapReader(store: base.store, snapshot: MapSnapshot(map: map, advice: advice))
        dashboard = Dashboard(reader: reader, actor: base.store, executor: executor,
                              databasePath: "/data/patchbay.sqlite", theme: .default, now: fixedNow)
        executor.dashboard = dashboard
        dashboard.reload()
    }

    func press(_ keys: Key...) {
        for key in keys { dashboard.handle(.key(key)) }
    }

    func type(_ text: String) {
        for character in text { dashboard.handle(.key(.character(character))) }
    }

    func screen(_ width: Int = 120, _ height: Int = 40) -> Buffer {
        dashboard.render(size: Size(width: width, height: height))
    }
}
