import Foundation
import GRDB
import PatchbayHub
import PatchbayStore

/// Builds, or reuses from the benchmark directory, the large database the dashboard reads are timed on.
///
/// The seeder replays history through the real API one minute at a time with small transactions and
/// is too slow for millions of events. This builder takes the same path (ingest, claim, record,
/// so the triggers keep every rollup exactly as the hub would) but opens the store with
/// `.bulkLoad` durability and writes each simulated step (1 to 15 minutes, so that a step holds
/// about 500 events or more) in big transactions: claim everything due at the step's start, record
/// the outcomes one minute's share at a time (so that every minute bucket of the rollups gets its
/// deliveries, as with a live hub), ingest the step's events. Claims happen once a step, so retry
/// delays shorter than a step wait for the next one.
///
/// The history: seven days of the demo company's flows, busier in the working day, each event fanned
/// out to one to three targets (2.05 on average). Targets fail the way real ones do: Xero rate-limits
/// (429, retried) and rejects a few invoices (400, dead at once), inventory refuses out-of-stock
/// reservations (409, dead), the warehouse rejects an unknown location (422, dead), shipping times
/// out (retried), the CRM was unreachable for 36 hours five days ago (retried until the policy's 20
/// attempts ran out: dead), and the ERP has been down for the last 12 hours (retrying now). The
/// last minutes are left pending and a few deliveries are in flight. An operator discarded a
/// hundred old dead letters. Ten thousand invoices were imported by the nightly batch job.
struct HistoryBuilder {
    /// Bump when the history changes, so that cached databases of the old shape are not reused.
    static let version = 2

    var events: Int
    var directory: String
    var days = 7
    var seed: UInt64 = 20_261_125

    /// What a cached database holds, kept beside it.
    struct Manifest: Codable, Sendable {
        var version: Int
        var events: Int
        /// When the simulated history ends: the dashboard reads are timed as of this moment.
        var endMillis: Int64
        var buildSeconds: Double
        var bytes: Int64
        /// How a multiplied database was made (`ScaledHistory`); nil for a replayed one.
        var method: String? = nil
        var baseBuildSeconds: Double? = nil
        /// Seconds of each step of the multiplication.
        var steps: [String: Double]? = nil
        var rollupCheck: String? = nil
    }

    struct Flow: Sendable {
        var topic: String
        var source: String
        var targets: [String]
        var weight: Double
    }

    static let flows: [Flow] = [
        Flow(topic: "orders/create", source: "shopify-orders", targets: ["xero-invoices", "warehouse-sync"], weight: 0.30),
        Flow(topic: "order_created", source: "storefront-events",
             targets: ["inventory-reserve", "shipping-labels", "accounting-invoices"], weight: 0.20),
        Flow(topic: "contact_updated", source: "crm-contacts", targets: ["erp-sync"], weight: 0.15),
        Flow(topic: "shipment_confirmed", source: "storefront-events", targets: ["crm-sync", "erp-sync"], weight: 0.20),
        Flow(topic: "stock_level_changed", source: "erp-stock-export",
             targets: ["reporting-warehouse", "warehouse-sync"], weight: 0.15),
    ]

    /// Ten million events and other multiples of a million above it are made by multiplying the
    /// replayed million in SQL (`ScaledHistory`): replaying them would take hours. `--rebuild` makes
    /// the multiplied file again from the cached million (replayed first only if it is missing).
    var scaled: ScaledHistory? { ScaledHistory(events: events, directory: directory) }

    var path: String {
        if let scaled { return scaled.path }
        return (directory as NSString).appendingPathComponent("patchbay-bench-\(events)-v\(Self.version).sqlite")
    }

    var manifestPath: String { path + ".json" }

    /// The cached database for this event count, built first if there is none.
    func prepare(rebuild: Bool, report: Report) throws -> Manifest {
        if let scaled { return try scaled.prepare(rebuild: rebuild, report: report) }
        if !rebuild, BenchFiles.exists(path), let data = FileManager.default.contents(atPath: manifestPath),
           let manifest = try? JSONDecoder().decode(Manifest.self, from: data),
           manifest.version == Self.version, manifest.events == events {
            report.emit("  reusing \(path) (\(Format.bytes(BenchFiles.size(path))), built in "
                + Format.duration(manifest.buildSeconds) + "; --rebuild to build it again)")
            return manifest
        }
        let building = try BenchFiles.fresh("patchbay-bench-\(events)-v\(Self.version).building.sqlite", in: directory)
        BenchFiles.remove(path)
        try? FileManager.default.removeItem(atPath: manifestPath)
        report.emit("  building \(Format.count(events)) events into \(path) (once; later runs reuse it)")
        let started = Monotonic.now()
        let end = try build(at: building, report: report)
        // The store is closed now. Fold the WAL into the file, then move it in place.
        try DatabaseQueue(path: building).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        BenchFiles.remove(building + "-wal")
        BenchFiles.remove(building + "-shm")
        try FileManager.default.moveItem(atPath: building, toPath: path)
        let manifest = Manifest(version: Self.version, events: events, endMillis: end,
                                buildSeconds: Monotonic.now() - started, bytes: BenchFiles.size(path))
        try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: manifestPath))
        report.emit("  built in \(Format.duration(manifest.buildSeconds)), \(Format.bytes(manifest.bytes))")
        return manifest
    }

    /// Writes the history; returns when it ends (milliseconds). The store is closed on return.
    private func build(at path: String, report: Report) throws -> Int64 {
        let store = try Store.open(at: path, mode: .create(homeCurrency: "EUR"), durability: .bulkLoad)
        let end = Date().millis / 60_000 * 60_000
        let start = end - Int64(days) * 86_400_000

        var ids: [String: ConnectorID] = [:]
        var names: [ConnectorID: String] = [:]
        var policies: [ConnectorID: OutcomePolicy] = [:]
        var limits: [ConnectorID: Int] = [:]
        for spec in Seeder.connectors {
            let connector = try store.saveConnector(spec, now: Date(millis: start))
            ids[spec.name] = connector.id
            names[connector.id] = spec.name
            let attempts = spec.maxAttempts ?? RetryPolicy.default.maxAttempts
            limits[connector.id] = attempts
            var retry = RetryPolicy.default
            retry.maxAttempts = attempts
            policies[connector.id] = OutcomePolicy(retry: retry)
        }
        let flows = Self.flows.map { flow in
            (flow, ids[flow.source]!, flow.targets.map { DeliveryTarget(connectorId: ids[$0]!, maxAttempts: limits[ids[$0]!]!) })
        }

        var factory = EventFactory(seed: seed)
        var rng = SeededRandom(seed: seed ^ 0x0BAD_5EED)
        // Each step costs a few transactions whatever its size, and a commit rewrites every page it
        // touched: with small steps the builder spends its time writing the same index pages again.
        // Steps of at least ~500 events, and never longer than 15 minutes.
        let wanted = Int((500 * Double(days) * 1440 / Double(events)).rounded(.up))
        let stepMinutes = [1, 2, 3, 4, 5, 6, 10, 12, 15].first { $0 >= wanted } ?? 15  // divisors of a day
        let stepLength = Int64(stepMinutes) * 60_000
        let steps = days * 1440 / stepMinutes
        // Busier during the working day, quiet at night.
        let weights = (0..<steps).map { step -> Double in
            let hour = Double(step * stepMinutes % 1440) / 60
            return 0.35 + max(0, sin((hour - 6) / 16 * .pi))
        }
        let totalWeight = weights.reduce(0, +)
        let outages = Outages(end: end)
        var carried = 0.0
        var made = 0
        var nextProgress = 0.05
        let started = Monotonic.now()
        var phases = (ingest: 0.0, claim: 0.0, simulate: 0.0, record: 0.0)
        report.progress("\(steps) steps of \(stepMinutes) min")

        for step in 0..<steps {
            let t = start + Int64(step) * stepLength
            // First the workers: at the step's start they claim everything due (the previous step's
            // events, retries whose time has come), then finish them over the step's minutes, so that
            // outcomes land in every minute bucket as a live hub's do. A live system has something
            // pending: the last minutes are left unclaimed.
            if t <= end - 180_000 {
                let (claims, claimTime) = try Monotonic.time {
                    try store.claimDueDeliveries(limit: 1_000_000, lease: Double(stepMinutes * 60 + 120),
                                                 owner: "bench-builder", now: Date(millis: t))
                }
                phases.claim += claimTime
                let simulateStarted = Monotonic.now()
                var finished = Array(repeating: [DeliveryOutcome](), count: stepMinutes)
                for (index, claim) in claims.enumerated() {
                    let slot = index % stepMinutes
                    let recordedAt = t + Int64(slot) * 60_000 + 55_000
                    let result = Self.simulate(target: names[claim.connectorId]!, at: recordedAt, outages: outages, rng: &rng)
                    let duration: TimeInterval
                    if case .timeout(let after) = result { duration = after } else { duration = 0.05 + rng.unit() * 0.6 }
                    let startedAt = Date(millis: recordedAt - Int64(duration * 1000) - Int64(rng.unit() * 5000))
                    finished[slot].append(policies[claim.connectorId]!.outcome(
                        for: claim, result: result, startedAt: startedAt,
                        finishedAt: startedAt.addingTimeInterval(duration), random: rng.unit()))
                }
                phases.simulate += Monotonic.now() - simulateStarted
                for (slot, outcomes) in finished.enumerated() where !outcomes.isEmpty {
                    let recordedAt = Date(millis: t + Int64(slot) * 60_000 + 55_000)
                    let (_, recordTime) = try Monotonic.time { try store.record(outcomes, now: recordedAt) }
                    phases.record += recordTime
                }
            }

            carried += Double(events) * weights[step] / totalWeight
            var count = 0
            while carried >= 1 { carried -= 1; count += 1 }
            if step == steps - 1 { count = events - made }
            count = min(count, events - made)
            if count > 0 {
                var batch: [NewEvent] = []
                batch.reserveCapacity(count)
                var arrivals = (0..<count).map { _ in t + Int64(rng.unit() * Double(stepLength - 1000)) }
                arrivals.sort()  // ids grow with arrival, as they do when the hub stamps received_at
                for received in arrivals {
                    let pick = Self.pick(flows.map(\.0.weight), &rng)
                    let (flow, source, targets) = flows[pick]
                    let isNewOrder = flow.topic == "orders/create" || flow.topic == "order_created"
                    let order = isNewOrder ? factory.nextOrder() : factory.recentOrder()
                    let hasCorrelation = flow.topic != "contact_updated" && flow.topic != "stock_level_changed"
                    batch.append(NewEvent(
                        topic: flow.topic, sourceId: source, idempotencyKey: factory.webhookId(),
                        payload: factory.payload(topic: flow.topic, order: order, millis: received),
                        receivedAt: Date(millis: received),
                        occurredAt: Date(millis: received - Int64(rng.unit() * 2000)),
                        correlationId: hasCorrelation ? "order-\(order)" : nil, targets: targets))
                }
                let ingestStarted = Monotonic.now()
                for chunk in stride(from: 0, to: batch.count, by: 5000) {
                    _ = try store.ingest(Array(batch[chunk..<min(batch.count, chunk + 5000)]))
                }
                phases.ingest += Monotonic.now() - ingestStarted
                made += count
            }

            let done = Double(step + 1) / Double(steps)
            if done >= nextProgress {
                report.progress("history \(Int(done * 100))%: \(Format.count(made)) events, "
                    + Format.duration(Monotonic.now() - started) + " (ingest " + Format.duration(phases.ingest)
                    + ", claim " + Format.duration(phases.claim) + ", outcomes " + Format.duration(phases.simulate)
                    + ", record " + Format.duration(phases.record) + ")")
                nextProgress += 0.05
            }
        }

        // A few workers are mid-delivery when the history ends.
        _ = try store.claimDueDeliveries(limit: 200, lease: 300, owner: "hub-worker-1", now: Date(millis: end))
        // An operator wrote off a hundred of the oldest dead letters.
        let oldestDead = try DatabaseQueue(path: path, configuration: Self.readOnly).read { db in
            try DeliveryID.fetchAll(db, sql: "SELECT id FROM deliveries WHERE state = 'dead' ORDER BY id LIMIT 100")
        }
        _ = try store.discard(oldestDead, reason: "written off by operator", now: Date(millis: end - 3_600_000))
        try InvoiceSeeder(seed: seed, now: Date(millis: end), invoices: 10_000, nights: 7).run(on: store)
        return end
    }

    static var readOnly: Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        return configuration
    }

    static func pick(_ weights: [Double], _ rng: inout SeededRandom) -> Int {
        var roll = rng.unit()
        for (index, weight) in weights.enumerated() {
            if roll < weight { return index }
            roll -= weight
        }
        return 0
    }

    /// When targets were down, in milliseconds.
    struct Outages {
        /// The CRM was unreachable for 36 hours, five days before the end.
        var crm: Range<Int64>
        /// The ERP has been answering 503 for the last 12 hours.
        var erp: Range<Int64>

        init(end: Int64) {
            let hour: Int64 = 3_600_000
            crm = (end - 120 * hour)..<(end - 84 * hour)
            erp = (end - 12 * hour)..<(end + 24 * hour)
        }
    }

    /// What a target does with one attempt at `at`.
    static func simulate(target: String, at: Int64, outages: Outages, rng: inout SeededRandom) -> SinkResult {
        let roll = rng.unit()
        switch target {
        case "xero-invoices", "accounting-invoices":
            if roll < 0.04 {
                return .httpError(status: 429, message: "Too Many Requests", retryAfter: 27,
                                  excerpt: "X-Rate-Limit-Problem: minute")
            }
            if roll < 0.06 {
                return .httpError(
                    status: 400, message: "ValidationException: Account code '2000' is not a valid code for this document.",
                    retryAfter: nil,
                    excerpt: #"{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred"}"#)
            }
            if roll < 0.065 { return .httpError(status: 503, message: "Service Unavailable", retryAfter: nil, excerpt: nil) }
        case "erp-sync":
            if outages.erp.contains(at) || roll < 0.01 {
                return .httpError(status: 503, message: "Service Unavailable", retryAfter: nil,
                                  excerpt: "<html><body>upstream connect error</body></html>")
            }
        case "crm-sync":
            if outages.crm.contains(at) || roll < 0.005 {
                return .connectionError("connection refused (crm.example.com:443)")
            }
        case "shipping-labels":
            if roll < 0.05 { return .timeout(after: 30) }
        case "inventory-reserve":
            if roll < 0.02 {
                let sku = EventFactory.products[Int(rng.unit() * Double(EventFactory.products.count))].sku
                return .httpError(status: 409, message: "Insufficient stock for SKU '\(sku)'", retryAfter: nil, excerpt: nil)
            }
        case "warehouse-sync":
            if roll < 0.02 {
                return .httpError(status: 422, message: "Unknown location code 'AMS-2'", retryAfter: nil,
                                  excerpt: #"{"error":"unknown_location"}"#)
            }
            if roll < 0.025 { return .httpError(status: 500, message: "Internal Server Error", retryAfter: nil, excerpt: nil) }
        case "reporting-warehouse":
            if roll < 0.005 { return .httpError(status: 500, message: "Internal Server Error", retryAfter: nil, excerpt: nil) }
        default:
            break
        }
        return .success(status: 200, excerpt: #"{"status":"ok"}"#)
    }
}
