import Foundation
import PatchbayStore
import Prometheus

/// The hub's Prometheus metrics, served on `/metrics`.
///
/// Counters and the latency histogram are kept in memory by this process (they restart at zero, as
/// Prometheus expects of counters); queue depth is read from the store's `delivery_counts` rollup at
/// each scrape, so it is the truth for every process sharing the database.
final class HubMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let names: [ConnectorID: String]
    private let received: [ConnectorID: Counter]
    private let duplicates: [ConnectorID: Counter]
    private let latency: [ConnectorID: DurationHistogram]

    init(connectors: [(id: ConnectorID, name: String, isSink: Bool)]) {
        names = Dictionary(connectors.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var received: [ConnectorID: Counter] = [:]
        var duplicates: [ConnectorID: Counter] = [:]
        var latency: [ConnectorID: DurationHistogram] = [:]
        let buckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                   .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                   .seconds(2.5), .seconds(5), .seconds(10), .seconds(30)]
        for c in connectors {
            if c.isSink {
                latency[c.id] = registry.makeDurationHistogram(
                    name: "patchbay_delivery_duration_seconds", labels: [("connector", c.name)], buckets: buckets,
                    help: "Time one delivery attempt took, by target connector")
            } else {
                received[c.id] = registry.makeCounter(name: "patchbay_events_received_total",
                                                      labels: [("connector", c.name)],
                                                      help: "Events stored from a source (new, not repeats)")
                duplicates[c.id] = registry.makeCounter(name: "patchbay_events_duplicate_total",
                                                        labels: [("connector", c.name)],
                                                        help: "Requests that repeated an event already stored")
            }
        }
        self.received = received
        self.duplicates = duplicates
        self.latency = latency
    }

    func eventReceived(_ connector: ConnectorID, duplicate: Bool) {
        (duplicate ? duplicates : received)[connector]?.increment()
    }

    func rejected(_ connector: ConnectorID?, status: Int) {
        let name = connector.flatMap { names[$0] } ?? "unknown"
        registry.makeCounter(name: "patchbay_webhooks_rejected_total",
                             labels: [("connector", name), ("status", String(status))],
                             help: "Requests refused by a source (bad signature, malformed, too large)").increment()
    }

    func delivery(_ connector: ConnectorID, outcome: String, duration: Duration) {
        let name = names[connector] ?? "unknown"
        registry.makeCounter(name: "patchbay_deliveries_total", labels: [("connector", name), ("outcome", outcome)],
                             help: "Delivery attempts by target connector and outcome").increment()
        latency[connector]?.recordNanoseconds(duration.nanoseconds)
    }

    /// The exposition text, with queue depth refreshed from the store.
    func render(store: some QueueDepthReading) -> [UInt8] {
        if let counts = try? store.deliveryCountsByConnector() {
            for (id, name) in names {
                for state in DeliveryState.allCases where counts[id] != nil {
                    registry.makeGauge(name: "patchbay_queue_depth", labels: [("connector", name), ("state", state.rawValue)],
                                       help: "Deliveries by target connector and state")
                        .set(to: Double(counts[id]?[state] ?? 0))
                }
            }
        }
        return registry.emitToBuffer()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
