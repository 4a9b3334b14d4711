import Foundation
import PatchbayPostgres
import PatchbayStore
import PostgresNIO

/// The PostgreSQL section (`--db postgres://…`): the same write figures as SQLite's, on a server,
/// durable (the server's default `synchronous_commit`), each on a fresh database of its own that
/// the bench creates and drops.
///
/// 1. The ceiling: the store's schema filled by SQL alone, `INSERT … SELECT FROM unnest(…)`, 1,000
///    events per transaction, two deliveries each: what PostgreSQL itself costs for these tables.
/// 2. `PostgresStore.ingest` with group commit of 100 and 1,000 events.
/// 3. Claim and complete in batches of 500 with 1, 2 and 3 nodes, each node its own `PostgresStore`
///    (its own connections) on its own thread, all on one database.
/// 4. The hub over HTTP with 1, 2 and 3 `HubRuntime`s (`PostgresHubBenchmark`).
struct PostgresBenchmark {
    var server: PostgresLocation
    static let ingestGoal = 10_000.0
    static let claimGoal = 10_000.0
    static let claimBatch = 500
    /// How much of the one-node figure two nodes may lose and still count as "no drop" (run-to-run noise).
    static let noDropTolerance = 0.95

    func run(_ report: inout Report) throws {
        report.section("PostgreSQL: \(server.description)")
        try describeServer(&report)
        let started = Monotonic.now()
        try ceiling(&report)
        try ingest(&report)
        try claim(&report)
        try PostgresHubBenchmark(server: server).runBlocking(&report)
        report.emit("\n  (PostgreSQL section took \(Format.duration(Monotonic.now() - started)))")
    }

    // MARK: - The server

    private func describeServer(_ report: inout Report) throws {
        let raw = try RawPostgres(server)
        defer { raw.close() }
        var lines: [String] = []
        let version = try raw.rows("SELECT version()").first?.decode(String.self) ?? "?"
        lines.append("server:  " + (version.components(separatedBy: " on ").first ?? version))
        var settings: [String] = []
        for name in ["synchronous_commit", "fsync", "full_page_writes", "wal_sync_method", "shared_buffers",
                     "max_wal_size"] {
            let value = try raw.rows(PostgresQuery(unsafeSQL: "SHOW \(name)")).first?.decode(String.self) ?? "?"
            settings.append("\(name)=\(value)")
        }
        lines.append("settings: " + settings.joined(separator: ", "))
        let local = ["127.0.0.1", "localhost", "::1"].contains(server.host)
        lines.append("(server on \(local ? "this machine: it shares the cores with the bench" : server.host); "
            + "every figure on a fresh database pb_bench_\(getpid())_<figure>, dropped after)")
        report.emit(lines.map { "  " + $0 }.joined(separator: "\n"))
    }

    // MARK: - 1. The ceiling

    /// The store's schema (every index, CHECK and foreign key), events and their two deliveries
    /// inserted by SQL alone through one connection: per 1,000 events one `INSERT … SELECT FROM
    /// unnest(…)` into events (payload cast to json and hashed in SQL, as the store does) and one into
    /// deliveries, in one durable transaction. No counters, no duplicate check, no NOTIFY.
    private func ceiling(_ report: inout Report) throws {
        report.section("PostgreSQL ceiling on the store's schema: SQL alone, 1,000 events per transaction, 2 deliveries each")
        let (count, batch, budget) = (100_000, 1000, 10.0)
        let (rate, commits) = try PostgresBenchDatabase.with("ceiling", on: server) { location in
            let connectors: BenchConnectors
            do {
                let store = try PostgresStore.open(location, mode: .create(homeCurrency: "EUR"), maxConnections: 1)
                defer { store.close() }
                connectors = try BenchConnectors.create(in: store, sinks: 2)
            }
            var factory = EventFactory(seed: 7)
            let events = connectors.events(count, factory: &factory)
            let raw = try RawPostgres(location)
            defer { raw.close() }
            var done = 0
            var commits = 0
            let started = Monotonic.now()
            while done < events.count && Monotonic.now() - started < budget {
                let chunk = events[done..<min(events.count, done + batch)]
                try raw.run("BEGIN")
                let rows = try raw.rows("""
                    INSERT INTO events(topic, source_id, received_at, occurred_at, correlation_id, idempotency_key,
                                       payload, payload_hash)
                    SELECT topic, source, received, occurred, correlation, key, payload::json,
                           encode(sha256(convert_to(payload, 'UTF8')), 'hex')
                    FROM unnest(\(chunk.map(\.topic))::text[], \(chunk.map(\.sourceId))::bigint[],
                                \(chunk.map(\.receivedAt.millis))::bigint[], \(chunk.map { $0.occurredAt?.millis ?? 0 })::bigint[],
                                \(chunk.map { $0.correlationId ?? "" })::text[], \(chunk.map(\.idempotencyKey))::text[],
                                \(chunk.map(\.payload))::text[])
                      WITH ORDINALITY AS e(topic, source, received, occurred, correlation, key, payload, n)
                    ORDER BY n
                    RETURNING id, received_at
                    """)
                var ids: [Int64] = [], received: [Int64] = []
                ids.reserveCapacity(rows.count)
                received.reserveCapacity(rows.count)
                for row in rows {
                    let (id, at) = try row.decode((Int64, Int64).self)
                    ids.append(id)
                    received.append(at)
                }
                try raw.run("""
                    INSERT INTO deliveries(event_id, connector_id, state, max_attempts, next_attempt_at, created_at, updated_at)
                    SELECT e.id, c.id, 'pending', 20, e.at, e.at, e.at
                    FROM unnest(\(ids)::bigint[], \(received)::bigint[]) AS e(id, at)
                    CROSS JOIN unnest(\(connectors.sinks)::bigint[]) AS c(id)
                    ORDER BY e.id, c.id
                    """)
                try raw.run("COMMIT")
                done += chunk.count
                commits += 1
            }
            return (Rate(items: done, seconds: Monotonic.now() - started), commits)
        }
        var table = TextTable(headers: ["events", "time", "events/s", "deliveries/s", "per commit"],
                              rightAligned: [0, 1, 2, 3, 4])
        table.add([Format.count(rate.items), Format.duration(rate.seconds), Format.rate(rate.perSecond),
                   Format.rate(rate.perSecond * 2), Format.duration(rate.seconds / Double(max(1, commits)))])
        report.emit(table.render())
        report.emit("  (one connection; per transaction: BEGIN, the events' INSERT … RETURNING, the deliveries' INSERT, COMMIT)")
        report.record("postgres", "store's schema by SQL alone, 1000 per transaction", Format.rate(rate.perSecond))
    }

    // MARK: - 2. Ingest

    /// `PostgresStore.ingest`, durable, 2 targets per event, on a fresh database per batch size.
    private func ingest(_ report: inout Report) throws {
        report.section("PostgreSQL ingest: events per second through PostgresStore.ingest, durable, 2 targets per event")
        let modes: [(batch: Int, events: Int, budget: Double)] = [(100, 100_000, 10), (1000, 100_000, 10)]
        var table = TextTable(headers: ["events per transaction", "events", "time", "events/s", "deliveries/s",
                                        "per commit", "goal", "verdict"],
                              rightAligned: [0, 1, 2, 3, 4, 5])
        for mode in modes {
            let (rate, commits) = try PostgresBenchDatabase.with("ingest\(mode.batch)", on: server) { location in
                let store = try PostgresStore.open(location, mode: .create(homeCurrency: "EUR"), maxConnections: 2)
                defer { store.close() }
                let connectors = try BenchConnectors.create(in: store, sinks: 2)
                var factory = EventFactory(seed: 1)
                let events = connectors.events(mode.events, factory: &factory)
                var done = 0
                var commits = 0
                let started = Monotonic.now()
                while done < events.count && Monotonic.now() - started < mode.budget {
                    let batch = Array(events[done..<min(events.count, done + mode.batch)])
                    let results = try store.ingest(batch)
                    guard results.count == batch.count, case .accepted = results.last! else {
                        throw BenchError("postgres ingest: the batch at \(done) was not stored as new events")
                    }
                    done += batch.count
                    commits += 1
                }
                return (Rate(items: done, seconds: Monotonic.now() - started), commits)
            }
            let goal = Goal.atLeast(rate.perSecond, Self.ingestGoal)
            table.add([
                Format.count(mode.batch), Format.count(rate.items), Format.duration(rate.seconds),
                Format.rate(rate.perSecond), Format.rate(rate.perSecond * 2),
                Format.duration(rate.seconds / Double(max(1, commits))), goal.text, goal.verdict,
            ])
            report.record("postgres", "ingest, group commit \(mode.batch) events", Format.rate(rate.perSecond), goal: goal)
        }
        report.emit(table.render())
        report.emit("  (a fresh database per row; one caller, so one transaction at a time: the figure is commit latency bound)")
    }

    // MARK: - 3. Claim and complete, 1 to 3 nodes

    /// Pending deliveries loaded once through `ingest` (untimed) into a seed database, copied into a
    /// fresh database per node count (`CREATE DATABASE … TEMPLATE`, faster than loading again); then
    /// every node, on its own thread with its own store, claims 500 and records them delivered until
    /// nothing is due or the budget is spent.
    private func claim(_ report: inout Report) throws {
        report.section("PostgreSQL claim and complete: batches of \(Self.claimBatch), 60 s lease, 1 to 3 nodes on one database")
        let events = 150_000
        let budget = 8.0
        let seed = try PostgresBenchDatabase.create("claimseed", on: server)
        defer { PostgresBenchDatabase.drop("claimseed", on: server) }
        report.progress("claim: loading \(Format.count(events)) events (\(Format.count(events * 2)) pending deliveries)")
        try Self.load(seed, events: events, seed: 2)
        var table = TextTable(headers: ["nodes", "deliveries", "time", "deliveries/s", "per node", "claim p50",
                                        "record p50", "goal", "verdict"],
                              rightAligned: [0, 1, 2, 3, 4, 5, 6])
        var oneNode: Double?
        for nodes in 1...3 {
            let result = try PostgresBenchDatabase.with("claim\(nodes)", on: server, template: "claimseed") { location in
                try Self.claimRun(location, nodes: nodes, budget: budget)
            }
            let rate = Rate(items: result.done, seconds: result.seconds)
            let goal: Goal?
            switch nodes {
            case 1:
                oneNode = rate.perSecond
                goal = .atLeast(rate.perSecond, Self.claimGoal)
            case 2:
                let one = oneNode ?? 0
                goal = Goal(text: "no drop: ≥ \(Format.rate(one * Self.noDropTolerance)) (95 % of 1 node)",
                            met: rate.perSecond >= one * Self.noDropTolerance)
            default:
                goal = nil
            }
            table.add([
                "\(nodes)", Format.count(result.done), Format.duration(result.seconds), Format.rate(rate.perSecond),
                Format.rate(rate.perSecond / Double(nodes)), Format.duration(result.claimTimes.median),
                Format.duration(result.recordTimes.median), goal?.text ?? "", goal?.verdict ?? "",
            ])
            report.record("postgres", "claim \(Self.claimBatch) + complete, \(nodes) node\(nodes == 1 ? "" : "s") (total)",
                          Format.rate(rate.perSecond), goal: goal)
        }
        report.emit(table.render())
        report.emit("""
              (\(Format.count(events * 2)) pending deliveries per row, loaded untimed, as many as SQLite's claim figure has; each node a PostgresStore of its own on \
            its own thread, claiming across every connector (FOR UPDATE SKIP LOCKED) and recording the 500 outcomes \
            in one transaction; up to \(Format.duration(budget)) or until nothing is due; every outcome checked recorded, \
            so no delivery was claimed twice)
            """)
        try replay(&report)
    }

    /// `patchbay replay` of 150,000 events to a sink added afterwards (a backfill), on a copy of the
    /// claim's seed database; the goal is the issue's: 100,000 enqueued within 2 s.
    private func replay(_ report: inout Report) throws {
        report.section("PostgreSQL replay: 150,000 events backfilled to a new sink, one transaction")
        let (count, seconds) = try PostgresBenchDatabase.with("replay", on: server, template: "claimseed") { location in
            let store = try PostgresStore.open(location, mode: .existing, maxConnections: 1)
            defer { store.close() }
            let sink = try store.saveConnector(ConnectorSpec(name: "bench-new-sink", module: "http", pattern: .event,
                                                             system: "New", direction: .sink, maxAttempts: 20))
            let (result, seconds) = try Monotonic.time {
                try store.replay(ReplayFilter(since: Date().addingTimeInterval(-86_400)), to: sink.name,
                                 reason: "benchmark: backfill", dryRun: false, now: Date())
            }
            return (result.created.count, seconds)
        }
        let perHundredThousand = seconds / Double(max(1, count)) * 100_000
        let goal = Goal.atMost(perHundredThousand, 2.0)
        var table = TextTable(headers: ["figure", "measured", "goal", "verdict"], rightAligned: [1])
        table.add(["replay \(Format.count(count)) to a new sink (backfill)", Format.duration(seconds), "", ""])
        table.add(["  per 100,000", Format.duration(perHundredThousand), goal.text, goal.verdict])
        report.emit(table.render())
        report.record("postgres", "replay backfill, per 100,000 events", Format.duration(perHundredThousand), goal: goal)
    }

    struct ClaimRun {
        var done: Int
        var seconds: Double
        var claimTimes: Samples
        var recordTimes: Samples
    }

    /// Fills `location` with `events` events received an hour ago, each with two pending deliveries.
    static func load(_ location: PostgresLocation, events count: Int, seed: UInt64) throws {
        let store = try PostgresStore.open(location, mode: .create(homeCurrency: "EUR"), maxConnections: 1)
        defer { store.close() }
        let start = Date().addingTimeInterval(-3600)
        let connectors = try BenchConnectors.create(in: store, sinks: 2, now: start)
        var factory = EventFactory(seed: seed)
        let all = connectors.events(count, factory: &factory, start: start)
        for chunk in stride(from: 0, to: all.count, by: 2000) {
            _ = try store.ingest(Array(all[chunk..<min(all.count, chunk + 2000)]))
        }
        // Hint bits, the visibility map and the planner's statistics, as a database that has been
        // running has them (autovacuum would set them in time): without this the first copy's first
        // claims paid for setting them, and the one-node figure swung from 5,000/s to 12,000/s.
        let raw = try RawPostgres(location)
        defer { raw.close() }
        try raw.run("VACUUM (ANALYZE)")
    }

    /// `nodes` stores on `location`, each on a thread of its own, claiming and completing at once.
    static func claimRun(_ location: PostgresLocation, nodes: Int, budget: Double) throws -> ClaimRun {
        let stores = try (0..<nodes).map { _ in try PostgresStore.open(location, mode: .existing, maxConnections: 2) }
        defer { stores.forEach { $0.close() } }
        // Connect every node before the clock starts.
        for store in stores { _ = try store.nextDueAt(connector: 1) }
        let results = NodeResults()
        let finished = DispatchGroup()
        let go = DispatchSemaphore(value: 0)
        for (index, store) in stores.enumerated() {
            finished.enter()
            let thread = Thread {
                defer { finished.leave() }
                go.wait()
                var node = NodeResult()
                do {
                    let started = Monotonic.now()
                    while Monotonic.now() - started < budget {
                        let (claims, claimTime) = try Monotonic.time {
                            try store.claimDueDeliveries(limit: Self.claimBatch, lease: 60, owner: "bench-node-\(index + 1)")
                        }
                        if claims.isEmpty { break }
                        let now = Date()
                        let outcomes = claims.map { claim in
                            DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: .delivered,
                                            startedAt: now, durationMs: 120, statusCode: 200,
                                            responseExcerpt: #"{"status":"ok"}"#)
                        }
                        let (recorded, recordTime) = try Monotonic.time { try store.record(outcomes) }
                        if let lost = recorded.first(where: { $0 != .recorded(.delivered) }) {
                            throw BenchError("node \(index + 1): an outcome was not recorded delivered: \(lost)")
                        }
                        node.claimTimes.add(claimTime)
                        node.recordTimes.add(recordTime)
                        node.done += claims.count
                    }
                } catch {
                    node.error = error
                }
                node.finishedAt = Monotonic.now()
                results.add(node)
            }
            thread.name = "bench-node-\(index + 1)"
            thread.start()
        }
        let started = Monotonic.now()
        for _ in 0..<nodes { go.signal() }
        finished.wait()
        let all = results.all
        if let error = all.compactMap(\.error).first { throw error }
        var run = ClaimRun(done: all.reduce(0) { $0 + $1.done },
                           seconds: (all.map(\.finishedAt).max() ?? started) - started,
                           claimTimes: Samples(), recordTimes: Samples())
        for node in all {
            node.claimTimes.seconds.forEach { run.claimTimes.add($0) }
            node.recordTimes.seconds.forEach { run.recordTimes.add($0) }
        }
        return run
    }

    struct NodeResult: @unchecked Sendable {
        var done = 0
        var claimTimes = Samples()
        var recordTimes = Samples()
        var finishedAt = 0.0
        var error: (any Error)?
    }

    final class NodeResults: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [NodeResult] = []
        func add(_ result: NodeResult) { lock.withLock { results.append(result) } }
        var all: [NodeResult] { lock.withLock { results } }
    }
}

/// A fresh database per figure: `pb_bench_<pid>_<figure>`, created on the server of `--db` and
/// dropped when the figure is done (also when it failed).
enum PostgresBenchDatabase {
    static func name(_ figure: String) -> String { "pb_bench_\(getpid())_\(figure)" }

    /// - Parameter template: the figure whose database to copy (nobody may be connected to it).
    static func create(_ figure: String, on server: PostgresLocation, template: String? = nil) throws -> PostgresLocation {
        try PostgresAdmin.dropDatabase(name(figure), on: server)
        guard let template else { return try PostgresAdmin.createDatabase(name(figure), on: server) }
        let raw = try RawPostgres(server)
        defer { raw.close() }
        do {
            try raw.run(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name(figure))\" TEMPLATE \"\(name(template))\""))
        } catch {
            let said = (error as? PSQLError)?.serverInfo?[.message] ?? "\(error)"
            throw BenchError("cannot copy \(name(template)) into \(name(figure)): \(said)")
        }
        var location = server
        location.database = name(figure)
        return location
    }

    static func drop(_ figure: String, on server: PostgresLocation) {
        do { try PostgresAdmin.dropDatabase(name(figure), on: server) } catch {
            FileHandle.standardError.write(Data("  … could not drop \(name(figure)): \(error)\n".utf8))
        }
    }

    static func with<T>(_ figure: String, on server: PostgresLocation, template: String? = nil,
                        _ body: (PostgresLocation) throws -> T) throws -> T {
        let location = try create(figure, on: server, template: template)
        defer { drop(figure, on: server) }
        return try body(location)
    }
}

/// One plain connection for the SQL the store does not offer: the ceiling and the server's settings.
final class RawPostgres {
    let connection: PostgresConnection
    let logger: Logger

    init(_ location: PostgresLocation) throws {
        var logger = Logger(label: "patchbay.bench.postgres")
        logger.logLevel = .critical
        self.logger = logger
        let tls: PostgresConnection.Configuration.TLS = location.tls == .disable
            ? .disable : .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
        configuration.options.additionalStartupParameters = [("application_name", "patchbay-bench")]
        connection = try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.next(),
                                                    configuration: configuration, id: 1, logger: logger).wait()
    }

    func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
        try connection.query(query, logger: logger).wait().rows
    }

    func run(_ query: PostgresQuery) throws {
        _ = try connection.query(query, logger: logger).wait()
    }

    func close() { _ = try? connection.close().wait() }
}
