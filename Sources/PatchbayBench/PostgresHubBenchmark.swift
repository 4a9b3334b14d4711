import AsyncHTTPClient
import Foundation
import Logging
import PatchbayConnectors
import PatchbayPostgres
import PatchbayRuntime
import PatchbayStore

/// The hub over HTTP on PostgreSQL with 1, 2 and 3 nodes: like `HubBenchmark` (signed webhooks in,
/// acknowledged after their commit, then deliveries to a loopback sink that answers 200), but with
/// N `HubRuntime`s in this process, each with its own `PostgresStore` on one fresh database and its
/// own port, the webhooks spread round-robin over them.
///
/// The nodes, the load generator, the sink (and here the PostgreSQL server) share this machine's
/// cores: more nodes add no cores, so the figures show what sharing one database costs, not
/// how far more machines would scale.
struct PostgresHubBenchmark {
    var server: PostgresLocation
    var webhooks = 10_000
    var connections = 64
    var sinkConcurrency = 64
    var nodeCounts = [1, 2, 3]
    /// How long the deliveries may take before the run gives up on a node count.
    var deliveryTimeout = 60.0

    func runBlocking(_ report: inout Report) throws {
        try HubLoad.runBlocking(&report) { box in try await run(box) }
    }

    private struct Row {
        var nodes: Int
        var ingestRate: Double
        var ingestSeconds: Double
        var latencies: Samples
        var deliverRate: Double
        var deliverSeconds: Double
        var delivered: Int
    }

    private func run(_ box: ReportBox) async throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        box.report.section("PostgreSQL hub over HTTP (\(Format.count(webhooks)) signed webhooks, \(connections) connections, 1 to 3 nodes)")

        // The loopback sink, shared by every node count.
        let (sinkPort, sink) = try HubLoad.startSink()
        defer { sink.cancel() }
        let quiet = HubLoad.quietLogger
        let client = HubLoad.client(connections: connections)

        var rows: [Row] = []
        do {
            for nodes in nodeCounts {
                box.report.progress("hub, \(nodes) node(s)")
                let location = try PostgresBenchDatabase.create("hub\(nodes)", on: server)
                do {
                    rows.append(try await measure(nodes: nodes, location: location, sinkPort: sinkPort, client: client,
                                                  logger: quiet))
                } catch {
                    PostgresBenchDatabase.drop("hub\(nodes)", on: server)
                    throw error
                }
                PostgresBenchDatabase.drop("hub\(nodes)", on: server)
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()

        var table = TextTable(headers: ["nodes", "webhooks/s acked", "ack p50", "ack p99", "ack max", "deliveries/s",
                                        "ingest time", "delivery time"],
                              rightAligned: [0, 1, 2, 3, 4, 5, 6, 7])
        for row in rows {
            table.add(["\(row.nodes)", Format.rate(row.ingestRate), Format.duration(row.latencies.percentile(50)),
                       Format.duration(row.latencies.percentile(99)), Format.duration(row.latencies.percentile(100)),
                       Format.rate(row.deliverRate) + (row.delivered < webhooks ? " (\(Format.count(row.delivered)) only)" : ""),
                       Format.duration(row.ingestSeconds), Format.duration(row.deliverSeconds)])
            let name = "\(row.nodes) node\(row.nodes == 1 ? "" : "s")"
            box.report.record("postgres", "hub: signed webhooks acked over HTTP, \(name)", Format.rate(row.ingestRate))
            box.report.record("postgres", "hub: deliveries end to end, \(name)", Format.rate(row.deliverRate))
        }
        box.report.emit(table.render())
        box.report.emit("""
              (a fresh database per row; webhooks round-robin over the nodes' ports, each acknowledged after its commit; \
            the target paused while they arrive, then resumed: deliveries/s is until every one is delivered. \
            The nodes, the load generator and the sink run in this one process, and share its \(cores) cores with \
            each other\(["127.0.0.1", "localhost", "::1"].contains(server.host) ? " and with the PostgreSQL server" : ""): \
            a second or third node adds no CPU, so these figures are a floor, and show what sharing one database \
            costs rather than how more machines would scale. The sink's concurrency of \(sinkConcurrency) is one \
            limit shared by every node, as `patchbay run` keeps it in the database.)
            """)
    }

    private func measure(nodes: Int, location: PostgresLocation, sinkPort: Int, client: HTTPClient,
                         logger: Logger) async throws -> Row {
        var stores: [PostgresStore] = []
        var runtimes: [HubRuntime] = []
        var ports: [Int] = []
        defer { stores.forEach { $0.close() } }
        for index in 0..<nodes {
            let store = try PostgresStore.open(location, mode: index == 0 ? .create(homeCurrency: "EUR") : .existing)
            stores.append(store)
            let port = try MockSaaS.freePort()
            ports.append(port)
            let yaml = """
                server: {listen: "127.0.0.1:\(port)"}
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
            let config = try HubConfig.parse(yaml: yaml, file: "bench node \(index + 1)", context: ModuleContext(
                environment: ["BENCH_SECRET": HubLoad.secret], baseDirectory: URL(fileURLWithPath: "."), transport: nil))
            runtimes.append(try HubRuntime(config: config, store: store, logger: logger))
        }
        let store = stores[0]
        // Ingest alone first: the target is paused (in the database, so on every node).
        _ = try store.setPaused("target", paused: true, reason: "benchmark: ingest phase")
        let ready = AsyncStream<Int>.makeStream()
        var hubs: [Task<Void, Never>] = []
        for runtime in runtimes {
            hubs.append(Task { try? await runtime.run(handleSignals: false) { ready.continuation.yield($0) } })
        }
        var listening = 0
        for await _ in ready.stream {
            listening += 1
            if listening == nodes { break }
        }

        let urls = ports.map { "http://127.0.0.1:\($0)/webhooks/orders" }
        let total = webhooks
        let started = Monotonic.now()
        let latencies: Samples
        do {
            latencies = try await HubLoad.send(total: total, lanes: connections, urls: urls, client: client)
        } catch {
            await stop(runtimes, hubs)
            throw error
        }
        let ingestSeconds = Monotonic.now() - started

        // Deliveries: resume the target; every node's worker claims from the shared queue.
        let targetId = try store.connector(named: "target")!.id
        let deliverStart = Monotonic.now()
        _ = try store.setPaused("target", paused: false)
        for runtime in runtimes { await runtime.nudge(connector: "target") }
        var delivered = 0
        while delivered < total && Monotonic.now() - deliverStart < deliveryTimeout {
            try await Task.sleep(for: .milliseconds(20))
            delivered = try store.deliveryCountsByConnector()[targetId]?[.delivered] ?? 0
        }
        let deliverSeconds = Monotonic.now() - deliverStart
        await stop(runtimes, hubs)
        if delivered < total {
            FileHandle.standardError.write(Data("  … hub, \(nodes) node(s): only \(delivered) of \(total) delivered after \(Format.duration(deliveryTimeout))\n".utf8))
        }
        return Row(nodes: nodes, ingestRate: Double(total) / ingestSeconds, ingestSeconds: ingestSeconds,
                   latencies: latencies, deliverRate: Double(delivered) / deliverSeconds,
                   deliverSeconds: deliverSeconds, delivered: delivered)
    }

    private func stop(_ runtimes: [HubRuntime], _ hubs: [Task<Void, Never>]) async {
        for runtime in runtimes { await runtime.shutdown() }
        for hub in hubs { _ = await hub.value }
    }
}
