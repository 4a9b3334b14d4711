import AsyncHTTPClient
import Foundation
import PatchbayHub
import PatchbayPostgres
import PatchbayStore
import Synchronization
import TestSupport
import Testing

extension Proofs {
    /// Three `patchbay run` nodes on one PostgreSQL database, all active, behind no load balancer
    /// but senders that try the next node when one does not answer (as a load balancer would).
    ///
    /// Mid-burst one node is killed (SIGKILL) and another is stopped (SIGSTOP) for longer than its
    /// leases, then continued; then, as in the SQLite crash loop, a random node is killed and
    /// restarted `PATCHBAY_FAILOVER_ROUNDS` times (default 3). The promises, over all nodes:
    /// nothing acknowledged is lost, repeats stay within what was in flight at each failure, one
    /// Idempotency-Key per message, and the sink's concurrency (4) holds in total: the target never
    /// sees more than 4 requests at once from the three nodes together.
    @Suite("Failover on PostgreSQL", .serialized)
    struct FailoverTests {
        @Test("3 nodes: kill -9 one mid-burst, SIGSTOP another past its leases, then a crash loop; nothing lost, concurrency held in total")
        func threeNodes() async throws {
            guard let server = Self.server() else { return }
            let rounds = max(0, Proof.environmentInt("PATCHBAY_FAILOVER_ROUNDS", 3))
            let seed = ProcessInfo.processInfo.environment["PATCHBAY_FAILOVER_SEED"].flatMap { UInt64($0) }
                ?? UInt64.random(in: 1...UInt64(UInt32.max))
            var rng = SeededRandom(seed: seed)
            Proof.report("failover: seed \(seed), \(rounds) extra crashes (replay: PATCHBAY_FAILOVER_SEED=\(seed))")
            let concurrency = 4
            let lease = 3.0

            let database = try ProofDatabase("pb_failover", on: server, homeCurrency: "USD")
            let location = database.location
            let directory = try TemporaryDirectory()
            let target = try await ScriptedTarget()
            let reaper = ProcessReaper()
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            var keep = false
            defer {
                reaper.killAll()
                target.stop()
                if !keep {
                    directory.remove()
                    database.drop()
                }
            }
            // The target holds each request 20-40 ms and records how many it holds at once.
            let gauge = ConcurrencyGauge()
            target.script("/sink/orders") { _, _ in
                gauge.enter()
                try? await Task.sleep(for: .milliseconds(Int.random(in: 20...40)))
                gauge.leave()
                return .ok
            }

            let ports = try (0..<3).map { _ in try Proof.freePort() }
            let configs = try Proof.nodeConfigs(ports: ports, in: directory) { port in
                    """
                    server: {listen: "127.0.0.1:\(port)"}
                    delivery: {lease: \(Int(lease))s, poll: 100ms, batch: 20}
                    retry: {max_attempts: 200, base_delay: 100ms, max_delay: 1s, jitter: 0}
                    connectors:
                      events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
                      sink:
                        module: http
                        url: "\(target.url)/sink/orders"
                        subscribe: [order_created]
                        concurrency: \(concurrency)
                        timeout: 900ms
                    """
            }
            let logs = (0..<3).map { directory.url.appendingPathComponent("node\($0).log") }
            let url = location.description
            func start(_ index: Int) throws -> HubProcess {
                let hub = try HubProcess(config: configs[index], db: url, log: logs[index])
                reaper.add(hub)
                return hub
            }
            var nodes = try (0..<3).map(start)
            for (index, node) in nodes.enumerated() {
                let healthy = await node.waitHealthy(client, port: ports[index])
                #expect(healthy, "node \(index) did not come up: \(node.logText().suffix(600))")
                guard healthy else { keep = true; return }
            }

            let ledger = AckLedger()
            let stop = StopFlag()
            let deadline = Date().addingTimeInterval(120 + 10 * Double(rounds))
            let lanes = 9
            var failures = 0
            var events: [String] = []
            let started = Date()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<lanes {
                    group.addTask {
                        var seq = 0
                        while !stop.isRaised, Date() < deadline {
                            let id = "f\(lane)-\(seq)"
                            // Each message starts at the lane's node and moves on to the next node
                            // whenever one does not answer 200 within two seconds.
                            var node = lane % 3
                            var tries = 0
                            var statuses: [Int] = []
                            while Date() < deadline {
                                tries += 1
                                let status = await GitHubSender(client: client, port: ports[node]).send(id: id, timeout: .seconds(2))
                                if let status { statuses.append(status) }
                                if status == 200 {
                                    ledger.acknowledged(id)
                                    break
                                }
                                node = (node + 1) % 3
                                try await Task.sleep(for: .milliseconds(20))
                            }
                            ledger.note(tries: tries, statuses: statuses)
                            seq += 1
                            try await Task.sleep(for: .milliseconds(15))
                        }
                    }
                }

                // Mid-burst: node 0 dies, node 1 stops for twice its lease.
                try await Task.sleep(for: .seconds(2))
                nodes[0].signal(SIGKILL)
                nodes[0].process.waitUntilExit()
                failures += 1
                events.append("node 0 killed (SIGKILL)")
                try await Task.sleep(for: .milliseconds(500))
                nodes[1].signal(SIGSTOP)
                events.append("node 1 stopped (SIGSTOP) for \(Int(lease * 2)) s")
                try await Task.sleep(for: .seconds(lease * 2))
                nodes[1].signal(SIGCONT)
                failures += 1
                nodes[0] = try start(0)
                #expect(await nodes[0].waitHealthy(client, port: ports[0]), "node 0 did not come back")
                events.append("node 0 restarted")

                // The crash loop, spread over the nodes.
                for _ in 0..<rounds {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 500...1500, using: &rng)))
                    let victim = Int.random(in: 0..<3, using: &rng)
                    nodes[victim].signal(SIGKILL)
                    nodes[victim].process.waitUntilExit()
                    failures += 1
                    nodes[victim] = try start(victim)
                    #expect(await nodes[victim].waitHealthy(client, port: ports[victim]), "node \(victim) did not come back")
                    events.append("node \(victim) killed and restarted")
                }
                try await Task.sleep(for: .seconds(1))
                stop.raise()
                try await group.waitForAll()
            }
            for event in events { Proof.report("  \(event)") }

            let acked = ledger.acked
            #expect(acked.count > 100, "too little traffic to prove anything: \(acked.count) acknowledged")
            let store = try PostgresStore.open(location, mode: .readOnly, maxConnections: 2)
            defer { store.close() }
            let sinkId = try #require(try store.connector(named: "sink")).id
            let drainDeadline = Date().addingTimeInterval(60)
            while Date() < drainDeadline {
                let counts = try store.deliveryCountsByConnector()[sinkId] ?? [:]
                let open = (counts[.pending] ?? 0) + (counts[.retrying] ?? 0) + (counts[.inFlight] ?? 0)
                if open == 0 && counts.values.reduce(0, +) >= acked.count { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let bound = concurrency * failures
            let report = try Accounting.check(acked: acked, store: store, sink: "sink",
                                              received: target.requests("/sink/orders").map(Reception.init),
                                              duplicateBound: bound)
            Proof.report("failover: 3 nodes, \(failures) failures, \(report.acked) messages checked, \(report.repeats) repeats "
                         + "(bound \(bound)), most requests at the target at once \(gauge.peak) (limit \(concurrency)), "
                         + "refusals \(ledger.refusals), unanswered sends \(ledger.unanswered), "
                         + "total \(String(format: "%.1f", Date().timeIntervalSince(started))) s, seed \(seed)")
            Proof.report("failover accounting: \(report)")
            #expect(report.isSound, "\(report)")
            #expect(report.states[.delivered] == acked.count, "every message should be delivered: \(report)")
            #expect(report.repeats <= bound)
            #expect(gauge.peak <= concurrency, "the sink's concurrency was exceeded over the nodes: \(gauge.peak) at once")
            #expect(try store.rollupDifferences(since: started.addingTimeInterval(-3600)) == [])
            for (index, log) in logs.enumerated() {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                for bad in ["cannot store a webhook", "cannot record an outcome", "cannot claim deliveries"] {
                    #expect(!text.contains(bad), "node \(index) logged '\(bad)'")
                }
            }
            if !report.isSound {
                keep = true
                Proof.report("kept \(directory.url.path) and database \(database.name) for inspection")
            }
            for node in nodes {
                let status = await node.terminate()
                #expect(status == 0, "SIGTERM should exit 0")
            }
            try await client.shutdown()
        }

        @Test("a node stopped between its claim and its send does not send after its lease ran out: the other node's send is the only one")
        func stoppedBeforeSend() async throws {
            guard let server = Self.server() else { return }
            let database = try ProofDatabase("pb_stopped", on: server, homeCurrency: "USD")
            let location = database.location
            let directory = try TemporaryDirectory()
            let target = try await ScriptedTarget()
            let reaper = ProcessReaper()
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer {
                reaper.killAll()
                target.stop()
                directory.remove()
                database.drop()
            }
            let ports = try (0..<2).map { _ in try Proof.freePort() }
            let configs = try Proof.nodeConfigs(ports: ports, in: directory) { port in
                    """
                    server: {listen: "127.0.0.1:\(port)"}
                    delivery: {lease: 3s, poll: 100ms, batch: 1}
                    connectors:
                      events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
                      sink:
                        module: http
                        url: "\(target.url)/sink/orders"
                        subscribe: [order_created]
                        concurrency: 1
                        timeout: 1s
                    """
            }
            let logs = (0..<2).map { directory.url.appendingPathComponent("node\($0).log") }
            // Node A stops itself (SIGSTOP) at its first delivery, after the claim, before the send.
            let a = try HubProcess(config: configs[0], db: location.description, log: logs[0],
                                   environment: ["PATCHBAY_PAUSES": "delivery.before-send:1"])
            reaper.add(a)
            #expect(await a.waitHealthy(client, port: ports[0]), "node a did not come up: \(a.logText().suffix(400))")
            #expect(await GitHubSender(client: client, port: ports[0]).send(id: "m1") == 200)
            let stopped = await Self.waitStopped(a, timeout: 10)
            try #require(stopped, "node a never stopped at delivery.before-send: \(a.logText().suffix(400))")

            // Node B recovers the lease once it expires and delivers.
            let b = try HubProcess(config: configs[1], db: location.description, log: logs[1])
            reaper.add(b)
            #expect(await b.waitHealthy(client, port: ports[1]))
            let deadline = Date().addingTimeInterval(20)
            while target.count("/sink/orders") == 0, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(target.count("/sink/orders") == 1, "node b delivered the message")

            // Node A goes on: its lease ran out while it was stopped, so it must not send.
            a.signal(SIGCONT)
            try await Task.sleep(for: .seconds(2))
            #expect(target.count("/sink/orders") == 1, "node a sent after its lease ran out")
            #expect(a.logText().contains("lease ran out before the send"), "\(a.logText().suffix(600))")
            let store = try PostgresStore.open(location, mode: .readOnly, maxConnections: 1)
            defer { store.close() }
            let sink = try #require(try store.connector(named: "sink"))
            let delivery = try #require(try store.deliveries(connector: sink.id).first)
            #expect(delivery.state == .delivered)
            #expect(try store.attempts(delivery: delivery.id).map(\.outcome) == [.leaseExpired, .success])
            #expect(await a.terminate() == 0)
            #expect(await b.terminate() == 0)
            try await client.shutdown()
        }

        @Test("a batch job runs on one node at a time: killed mid-file on one node, its run is resumed once by another")
        func batchJobMovesToAnotherNode() async throws {
            guard let server = Self.server() else { return }
            let database = try ProofDatabase("pb_batch", on: server, homeCurrency: "EUR")
            let location = database.location
            let directory = try TemporaryDirectory()
            let reaper = ProcessReaper()
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer {
                reaper.killAll()
                directory.remove()
                database.drop()
            }
            let ports = try (0..<3).map { _ in try Proof.freePort() }
            let configs = try Proof.nodeConfigs(ports: ports, in: directory) { port in
                    """
                    server: {listen: "127.0.0.1:\(port)"}
                    connectors:
                      quickbooks-ar:
                        module: quickbooks-csv
                        path: "\(Fixtures.url("quickbooks/ar-aging-detail.csv").path)"
                        currency: EUR
                        chunk: 4
                        schedule: hourly
                    """
            }
            let logs = (0..<3).map { directory.url.appendingPathComponent("node\($0).log") }
            // Node A dies (as kill -9 would) right after its run's second chunk commits.
            let a = try HubProcess(config: configs[0], db: location.description, log: logs[0], faults: "batch.after-chunk:2")
            reaper.add(a)
            #expect(await a.waitExit(timeout: 60), "node a did not reach its fault point: \(a.logText().suffix(600))")
            #expect(a.process.terminationStatus == 137)
            let store = try PostgresStore.open(location, mode: .readOnly, maxConnections: 1)
            defer { store.close() }
            let interrupted = try #require(try store.batchRuns(limit: 5).first)
            #expect(interrupted.status == .running && interrupted.rowsLoaded == 8)

            // Nodes B and C start together: one takes the job's lock and resumes the run; the other
            // finds the lock taken, then the schedule satisfied, and runs nothing.
            let b = try HubProcess(config: configs[1], db: location.description, log: logs[1], logLevel: "info")
            let c = try HubProcess(config: configs[2], db: location.description, log: logs[2], logLevel: "info")
            reaper.add(b)
            reaper.add(c)
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, try store.batchRuns(limit: 1).first?.status != .succeeded {
                try await Task.sleep(for: .milliseconds(100))
            }
            // Past the lock's retry (5 s): the node that waited looks again and must not run.
            try await Task.sleep(for: .seconds(7))
            let runs = try store.batchRuns(limit: 10)
            #expect(runs.count == 1, "one run, resumed, never a second: \(runs.map { "\($0.id) \($0.status)" })")
            let run = try #require(runs.first)
            #expect(run.id == interrupted.id && run.status == .succeeded)
            let file = Fixtures.url("quickbooks/ar-aging-detail.csv")
            let inputs = try InvoiceCSV.parse(Data(contentsOf: file), format: .quickbooks, currency: "EUR",
                                              file: file.lastPathComponent)
            #expect(run.rowsLoaded == inputs.count)
            // Exactly one node ran the job: the other never got past the job's lock.
            let finishedBy = [b, c].map { $0.logText().components(separatedBy: "batch run finished").count - 1 }
            #expect(finishedBy.reduce(0, +) == 1, "runs finished per node: \(finishedBy)")
            #expect(await b.terminate() == 0)
            #expect(await c.terminate() == 0)
            try await client.shutdown()
        }

        @Test("an idle node's worker is woken by another process's ingest (NOTIFY), long before its 30 s idle wait")
        func idleNodeWokenByNotify() async throws {
            guard let server = Self.server() else { return }
            let database = try ProofDatabase("pb_notify", on: server, homeCurrency: "USD")
            let directory = try TemporaryDirectory()
            let target = try await ScriptedTarget()
            let reaper = ProcessReaper()
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer {
                reaper.killAll()
                target.stop()
                directory.remove()
                database.drop()
            }
            let ports = [try Proof.freePort()]
            let configs = try Proof.nodeConfigs(ports: ports, in: directory) { port in
                    """
                    server: {listen: "127.0.0.1:\(port)"}
                    connectors:
                      events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
                      sink: {module: http, url: "\(target.url)/sink/orders", subscribe: [order_created]}
                    """
            }
            let node = try HubProcess(config: configs[0], db: database.location.description,
                                      log: directory.url.appendingPathComponent("node.log"))
            reaper.add(node)
            #expect(await node.waitHealthy(client, port: ports[0]))
            // Nothing is due: the worker settles into its idle wait (up to 30 s with a change feed).
            try await Task.sleep(for: .seconds(2))
            // Another process stores an event for the node's sink, without touching the node.
            let other = try PostgresStore.open(database.location, mode: .existing, maxConnections: 1)
            defer { other.close() }
            let source = try #require(try other.connector(named: "events")).id
            let sink = try #require(try other.connector(named: "sink")).id
            _ = try other.ingest([NewEvent(topic: "order_created", sourceId: source, idempotencyKey: "from-elsewhere",
                                           payload: #"{"id":"m1"}"#, receivedAt: Date(),
                                           targets: [DeliveryTarget(connectorId: sink, maxAttempts: 3)])])
            // Woken by NOTIFY it sends at once; a worker that only polled would sleep out its 30 s.
            let deadline = Date().addingTimeInterval(10)
            while target.count("/sink/orders") == 0, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(target.count("/sink/orders") == 1, "the idle worker was not woken: \(node.logText().suffix(400))")
            #expect(await node.terminate() == 0)
            try await client.shutdown()
        }

        /// Whether the process is stopped (state `T` in /proc), within `timeout` seconds.
        static func waitStopped(_ hub: HubProcess, timeout: TimeInterval) async -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline, hub.isRunning {
                if let stat = try? String(contentsOfFile: "/proc/\(hub.pid)/stat", encoding: .utf8),
                   let close = stat.lastIndex(of: ")"),
                   stat[stat.index(close, offsetBy: 2)] == "T" {
                    return true
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return false
        }

        /// The PostgreSQL server to test on; in CI it must be there.
        static func server() -> PostgresLocation? {
            if let url = ProcessInfo.processInfo.environment["PATCHBAY_TEST_POSTGRES_URL"], !url.isEmpty,
               let location = try? PostgresLocation(url: url) {
                return location
            }
            if ProcessInfo.processInfo.environment["CI"] != nil {
                Issue.record("PATCHBAY_TEST_POSTGRES_URL is not set: CI must start PostgreSQL (scripts/postgres-cluster.sh)")
            }
            return nil
        }
    }
}

/// How many requests a target holds at once, and the most it held.
final class ConcurrencyGauge: Sendable {
    private let state = Mutex<(now: Int, peak: Int)>((0, 0))

    func enter() { state.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) } }
    func leave() { state.withLock { $0.now -= 1 } }
    var peak: Int { state.withLock { $0.peak } }
}

/// A database of a proof's own on the test server, with Patchbay's schema; `drop()` removes it.
struct ProofDatabase {
    let name: String
    let server: PostgresLocation
    let location: PostgresLocation

    init(_ prefix: String, on server: PostgresLocation, homeCurrency: String) throws {
        name = "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
        self.server = server
        location = try PostgresAdmin.createDatabase(name, on: server)
        try PostgresStore.open(location, mode: .create(homeCurrency: homeCurrency)).close()
    }

    func drop() { try? PostgresAdmin.dropDatabase(name, on: server) }
}

extension Proof {
    /// One configuration file per node (`node0.yaml`, …), each listening on its own port.
    static func nodeConfigs(ports: [Int], in directory: TemporaryDirectory, _ yaml: (Int) -> String) throws -> [URL] {
        try ports.enumerated().map { index, port in
            let url = directory.url.appendingPathComponent("node\(index).yaml")
            try yaml(port).write(to: url, atomically: true, encoding: .utf8)
            return url
        }
    }
}
