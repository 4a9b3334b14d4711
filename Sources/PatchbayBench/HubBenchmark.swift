import AsyncHTTPClient
import Foundation
import Logging
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore

/// The hub over HTTP on loopback: signed webhooks in with durable acknowledgements (the 200 is sent
/// after the commit, `synchronous=FULL`), then deliveries out to a loopback sink that answers 200.
///
/// The load generator runs in the same process as the hub, so on this 2-core machine the figures
/// include its cost: they are a floor, not a ceiling.
struct HubBenchmark {
    var directory: String
    var webhooks = 20_000
    var connections = 64
    var sinkConcurrency = 64

    func runBlocking(_ report: inout Report) throws {
        try HubLoad.runBlocking(&report) { box in try await run(box) }
    }

    private func run(_ box: ReportBox) async throws {
        box.report.section("Hub over HTTP (\(Format.count(webhooks)) signed webhooks, \(connections) connections)")
        let path = (directory as NSString).appendingPathComponent("hub-bench.sqlite")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let store = try Store.open(at: path, mode: .create(homeCurrency: "EUR"))

        // The loopback sink.
        let (sinkPort, sink) = try HubLoad.startSink()
        defer { sink.cancel() }
        let quiet = HubLoad.quietLogger

        let hubPort = try MockSaaS.freePort()
        let yaml = """
            server: {listen: "127.0.0.1:\(hubPort)"}
            delivery: {lease: 30s, batch: 200}
            connectors:
              orders: {module: webhook, signature: github, secret: "${BENCH_SECRET}"}
              target:
                module: http
                url: "http://127.0.0.1:\(sinkPort)/sink"
                subscribe: [order_created]
                concurrency: \(sinkConcurrency)
                timeout: 10s
            """
        let config = try HubConfig.parse(yaml: yaml, file: "bench", context: ModuleContext(
            environment: ["BENCH_SECRET": HubLoad.secret], baseDirectory: URL(fileURLWithPath: directory), transport: nil))
        let runtime = try HubRuntime(config: config, store: store, logger: quiet)
        // Phase 1 measures ingest alone: the target is paused, so no worker competes for the disk.
        _ = try store.setPaused("target", paused: true, reason: "benchmark: ingest phase")
        let ready = AsyncStream<Int>.makeStream()
        let hub = Task { try? await runtime.run(handleSignals: false) { ready.continuation.yield($0) } }
        for await _ in ready.stream { break }

        let client = HubLoad.client(connections: connections)
        let total = webhooks
        let started = Monotonic.now()
        let latencies = try await HubLoad.send(total: total, lanes: connections,
                                               urls: ["http://127.0.0.1:\(hubPort)/webhooks/orders"], client: client)
        let ingestSeconds = Monotonic.now() - started
        let ingestRate = Double(total) / ingestSeconds
        box.report.emit("  ingest: \(Format.rate(ingestRate)) acknowledged (\(Format.duration(ingestSeconds)) for \(Format.count(total))); latency p50 \(Format.duration(latencies.percentile(50))), p99 \(Format.duration(latencies.percentile(99))), max \(Format.duration(latencies.percentile(100)))")
        box.report.record("hub", "signed webhooks ingested over HTTP (durable acks)", Format.rate(ingestRate), goal: .atLeast(ingestRate, 5000))
        box.report.record("hub", "webhook ack latency p99", Format.duration(latencies.percentile(99)), goal: .atMost(latencies.percentile(99), 0.050))

        // Phase 2: unpause; every delivery goes to the loopback sink.
        let targetId = try store.connector(named: "target")!.id
        let deliverStart = Monotonic.now()
        _ = try store.setPaused("target", paused: false)
        await runtime.nudge(connector: "target")
        while try store.deliveryCountsByConnector()[targetId]?[.delivered] ?? 0 < total {
            try await Task.sleep(for: .milliseconds(20))
        }
        let deliverSeconds = Monotonic.now() - deliverStart
        let deliverRate = Double(total) / deliverSeconds
        box.report.emit("  delivery: \(Format.rate(deliverRate)) to a loopback sink (\(Format.duration(deliverSeconds)) for \(Format.count(total)), concurrency \(sinkConcurrency))")
        box.report.record("hub", "deliveries end to end to a loopback sink", Format.rate(deliverRate), goal: .atLeast(deliverRate, 5000))

        await runtime.shutdown()
        _ = await hub.value
        try await client.shutdown()
    }
}
