import Foundation
import PatchbayStore

/// The small databases the write benchmarks start from: a webhook source and its sinks.
struct BenchConnectors {
    var source: ConnectorID
    var sinks: [ConnectorID]

    /// Creates the source and `sinks` sink connectors named `bench-sink-1`… in `store` (either backend).
    static func create(in store: any ConnectorCatalog, sinks: Int, now: Date = Date()) throws -> BenchConnectors {
        let source = try store.saveConnector(ConnectorSpec(
            name: "bench-source", module: "webhook", pattern: .event, system: "Shopify", direction: .source), now: now)
        let sinkIds = try (1...sinks).map { index in
            try store.saveConnector(ConnectorSpec(
                name: "bench-sink-\(index)", module: "http", pattern: .event, system: "Sink \(index)",
                direction: .sink), now: now).id
        }
        return BenchConnectors(source: source.id, sinks: sinkIds)
    }

    /// `count` order events from the source, each fanned out to every sink, received from `start` on.
    func events(_ count: Int, factory: inout EventFactory, start: Date = Date(), maxAttempts: Int = 20) -> [NewEvent] {
        let targets = sinks.map { DeliveryTarget(connectorId: $0, maxAttempts: maxAttempts) }
        let startMs = start.millis
        return (0..<count).map { index in
            let order = factory.nextOrder()
            let received = startMs + Int64(index)
            return NewEvent(
                topic: "orders/create", sourceId: source, idempotencyKey: factory.webhookId(),
                payload: factory.payload(topic: "orders/create", order: order, millis: received),
                receivedAt: Date(millis: received), occurredAt: Date(millis: received - 800),
                correlationId: "order-\(order)", targets: targets)
        }
    }

    /// Fills a fresh database at `path` with `count` events through a `.bulkLoad` store (not timed),
    /// then returns a store of `durability` on it: durable (the default) for what a benchmark times.
    static func prepared(at path: String, sinks: Int, events count: Int, maxAttempts: Int = 20, seed: UInt64,
                         durability: Store.Durability = .full) throws -> (Store, BenchConnectors) {
        let start = Date().addingTimeInterval(-3600)
        let connectors: BenchConnectors
        do {
            let loader = try Store.open(at: path, mode: .create(homeCurrency: "EUR"), durability: .bulkLoad)
            connectors = try create(in: loader, sinks: sinks, now: start)
            var factory = EventFactory(seed: seed)
            let all = connectors.events(count, factory: &factory, start: start, maxAttempts: maxAttempts)
            for chunk in stride(from: 0, to: all.count, by: 5000) {
                _ = try loader.ingest(Array(all[chunk..<min(all.count, chunk + 5000)]))
            }
        }
        return (try Store.open(at: path, mode: .existing, durability: durability), connectors)
    }
}
