import Foundation
import GRDB
import PatchbayStore

/// Every read the dashboard makes, timed on the large database: median and p99 over repeated runs.
struct ReadBenchmark {
    var builder: HistoryBuilder
    var repeatCount: Int
    var rebuild: Bool
    var explain: Bool
    var match: String? = nil

    static let goal = 0.010
    static let textGoal = 0.100
    /// A read that is slow gets fewer runs: at most this many seconds, but at least `minimumRuns`.
    static let budget = 30.0
    static let minimumRuns = 3

    /// One dashboard read; `body` returns how many rows (or buckets) it produced.
    struct Read {
        var name: String
        /// What its p99 must stay under; nil for a figure with no goal of its own.
        var goal: Double?
        var body: () throws -> Int

        init(name: String, isTextSearch: Bool = false, body: @escaping () throws -> Int) {
            self.name = name
            self.goal = isTextSearch ? ReadBenchmark.textGoal : ReadBenchmark.goal
            self.body = body
        }
    }

    func run(_ report: inout Report) throws {
        report.section("Dashboard reads on \(Format.count(builder.events)) events")
        let manifest = try builder.prepare(rebuild: rebuild, report: report)
        let store = try Store.open(at: builder.path, mode: .existing)
        let now = Date(millis: manifest.endMillis)
        let parameters = try Parameters(store: store, path: builder.path, end: manifest.endMillis)
        report.emit(parameters.contents.map { "  " + $0 }.joined(separator: "\n"))
        if explain { try QueryPlans.print(path: builder.path, parameters: parameters, report: report) }

        var table = TextTable(headers: ["read", "rows", "median", "p99", "first run", "runs", "goal", "verdict"],
                              rightAligned: [1, 2, 3, 4, 5])
        var failures: [String] = []
        var overview = overview(store, now: now, parameters)
        overview.goal = nil
        let chosen = (reads(store, now: now, parameters) + [overview]).filter { read in
            match.map { read.name.localizedCaseInsensitiveContains($0) } ?? true
        }
        for read in chosen {
            report.progress(read.name)
            let rows: Int
            let first: Double
            do {
                (rows, first) = try Monotonic.time(read.body)
            } catch {
                // A read that fails is a finding, not a reason to stop timing the others.
                table.add([read.name, "", "", "", "", "0", "", "ERROR"])
                failures.append("\(read.name): \(error)")
                report.record("reads", read.name, "ERROR", goal: Goal(text: "works", met: false))
                continue
            }
            var samples = Samples()
            let started = Monotonic.now()
            while samples.count < repeatCount
                    && (samples.count < Self.minimumRuns || Monotonic.now() - started < Self.budget) {
                let (_, seconds) = try Monotonic.time(read.body)
                samples.add(seconds)
            }
            let goal = read.goal.map { Goal.atMost(samples.p99, $0) }
            table.add([read.name, Format.count(rows), Format.duration(samples.median), Format.duration(samples.p99),
                       Format.duration(first), Format.count(samples.count), goal?.text ?? "", goal?.verdict ?? ""])
            report.record("reads", read.name,
                          "p99 " + Format.duration(samples.p99) + " (median " + Format.duration(samples.median) + ")",
                          goal: goal)
        }
        report.emit(table.render())
        if explain { report.emit("\n" + (try QueryPlans.timeBareSQL(path: builder.path)).render()) }
        for failure in failures { report.emit("  ERROR " + failure) }
        report.emit("  (p99 is nearest-rank: with 100 runs or fewer it is the slowest run; the goal is held to p99.")
        report.emit("   \"first run\" is the first call after opening the store, before the timed runs.)")
    }

    /// The dashboard's page sizes (PatchbayDashboard's `Dashboard.swift`): lists load this many rows at once.
    /// The failed list loads 200 and grows by 200 when the selection reaches its end; the retry
    /// queue loads 1,000.
    static let eventPage = 200
    static let failurePage = 200
    static let retryPage = 1000

    /// The dashboard's time windows and their buckets (`TimeWindow` in PatchbayDashboard).
    static let windows: [(label: String, seconds: TimeInterval, bucket: TimeInterval)] = [
        ("15m", 900, 60), ("1h", 3600, 60), ("6h", 21_600, 300), ("24h", 86_400, 900), ("7d", 604_800, 7200),
    ]

    private func reads(_ store: Store, now: Date, _ p: Parameters) -> [Read] {
        var reads: [Read] = []
        for window in Self.windows {
            let buckets = "\(Int(window.bucket / 60)) min buckets"
            reads.append(Read(name: "throughput \(window.label) (\(buckets))") {
                try store.throughput(window: window.seconds, bucket: window.bucket, now: now).count
            })
            reads.append(Read(name: "throughput \(window.label), every connector's series") {
                try store.throughputByConnector(window: window.seconds, bucket: window.bucket, now: now).count
            })
            reads.append(Read(name: "throughput \(window.label), one connector") {
                try store.throughput(window: window.seconds, bucket: window.bucket, connector: p.erp, now: now).count
            })
        }
        let midnight = Date(millis: p.end / 86_400_000 * 86_400_000)
        let page = Self.failurePage
        reads += [
            Read(name: "events today (rollups)") { try store.receivedCount(since: midnight) },
            Read(name: "connector status (counts by state)") { try store.connectorStatuses().count },
            Read(name: "failed list, first page (\(page))") { try store.failedDeliveries(limit: page).count },
            Read(name: "failed list, scrolled to 1,000 rows") { try store.failedDeliveries(limit: 1000).count },
            Read(name: "failed list, one connector") {
                try store.failedDeliveries(FailureFilter(connectorId: p.erp), limit: page).count
            },
            Read(name: "failed list, one error group") {
                try store.failedDeliveries(FailureFilter(errorGroupId: p.errorGroup), limit: page).count
            },
            Read(name: "failing count, all (R confirmation)") { try store.failingCount(FailureFilter()) },
            Read(name: "error groups") { try store.errorGroups(limit: 500).count },
            Read(name: "retry queue, first page (\(Self.retryPage))") { try store.retryQueue(limit: Self.retryPage).count },
            Read(name: "retry queue, one connector") {
                try store.retryQueue(connector: p.erp, limit: Self.retryPage).count
            },
            Read(name: "aging (\(Format.count(p.openInvoices)) open invoices)") { try store.aging(asOf: p.today).count },
        ]
        func events(_ name: String, isTextSearch: Bool = false, _ filter: EventFilter) -> Read {
            Read(name: "events\(name), first page (\(Self.eventPage))", isTextSearch: isTextSearch) {
                try store.events(filter, limit: Self.eventPage).events.count
            }
        }
        reads += [
            events("", EventFilter()),
            events(", topic", EventFilter(topic: "orders/create")),
            events(", connector erp-sync (35% of events)", EventFilter(connectorId: p.erp)),
            events(", connector quickbooks-ar (no events)", EventFilter(connectorId: p.quickbooks)),
            events(", state retrying", EventFilter(state: .retrying)),
            events(", state dead", EventFilter(state: .dead)),
            events(", state discarded (100 old ones)", EventFilter(state: .discarded)),
            events(", correlation id", EventFilter(correlationId: p.correlation)),
            events(", since 1 h ago", EventFilter(since: now.addingTimeInterval(-3600))),
            events(", text in many payloads", isTextSearch: true, EventFilter(text: "Hoffmann")),
            events(", text in errors", isTextSearch: true, EventFilter(text: "Insufficient stock")),
            events(", text in one payload", isTextSearch: true, EventFilter(text: p.rareText)),
            Read(name: "event detail (\(p.detailAttempts) attempts)") {
                try store.eventDetail(p.detailEvent)?.deliveries.count ?? 0
            },
        ]
        return reads
    }

    /// Everything the overview screen loads on each refresh (PatchbayDashboard's `overview(window:now:)`,
    /// which this target cannot import), for the default one-hour window. Like the dashboard it asks
    /// for the aging report through `agingCached`: after the first run, while no invoice changes, that
    /// is one read of `invoices_version`.
    private func overview(_ store: Store, now: Date, _ p: Parameters) -> Read {
        Read(name: "overview screen, all its reads together") {
            let midnight = Date(millis: p.end / 86_400_000 * 86_400_000)
            return try store.connectorStatuses().count + store.receivedCount(since: midnight)
                + store.throughput(window: 3600, bucket: 60, now: now).count
                + store.throughputByConnector(window: 3600, bucket: 60, now: now).count
                + store.errorGroups(limit: 50).count + store.retryQueue(limit: 50).count
                + store.agingCached(asOf: p.today).count
        }
    }

    /// The values the reads filter on, picked from the database the way an operator would meet them.
    struct Parameters {
        var erp: ConnectorID
        var quickbooks: ConnectorID
        var errorGroup: Int64
        var correlation: String
        var rareText: String
        var detailEvent: EventID
        var detailAttempts: Int
        var today: String
        /// When the history ends, milliseconds.
        var end: Int64
        var openInvoices: Int
        /// What the database holds, for the report.
        var contents: [String]

        init(store: Store, path: String, end: Int64) throws {
            guard let erp = try store.connector(named: "erp-sync"),
                  let quickbooks = try store.connector(named: "quickbooks-ar"),
                  let crm = try store.connector(named: "crm-sync") else {
                throw BenchError("\(path) lacks the demo connectors; delete it or pass --rebuild")
            }
            self.erp = erp.id
            self.quickbooks = quickbooks.id
            guard let group = try store.errorGroups(limit: 1).first else { throw BenchError("\(path) has no error group") }
            errorGroup = group.id
            // A delivery that used every attempt in the CRM outage: the longest history to drill into.
            guard let dead = try store.failedDeliveries(FailureFilter(connectorId: crm.id, states: [.dead]), limit: 1).first else {
                throw BenchError("\(path) has no dead CRM delivery")
            }
            detailEvent = dead.eventId
            detailAttempts = dead.attempts
            today = String(EventFactory.iso8601(millis: end).prefix(10))
            self.end = end

            let queue = try DatabaseQueue(path: path, configuration: HistoryBuilder.readOnly)
            let statuses = try store.connectorStatuses()
            var contents: [String] = []
            var correlation = ""
            var rareText = ""
            var openInvoices = 0
            try queue.read { db in
                let events = try Int.fetchOne(db, sql: "SELECT max(id) FROM events") ?? 0
                let middle = events / 2
                correlation = try String.fetchOne(db, sql: """
                    SELECT correlation_id FROM events WHERE id >= ? AND correlation_id IS NOT NULL ORDER BY id LIMIT 1
                    """, arguments: [middle]) ?? "order-0"
                rareText = try String.fetchOne(db, sql: """
                    SELECT json_extract(payload, '$.tracking_number') FROM events
                    WHERE topic = 'shipment_confirmed' AND id >= ? ORDER BY id LIMIT 1
                    """, arguments: [middle]) ?? "JD01460000"
                openInvoices = try Int.fetchOne(db, sql: "SELECT count(*) FROM invoices WHERE open_minor <> 0") ?? 0
                let attempts = try Int.fetchOne(db, sql: "SELECT max(id) FROM attempts") ?? 0
                let transitions = try Int.fetchOne(db, sql: "SELECT max(id) FROM transitions") ?? 0
                var byState: [DeliveryState: Int] = [:]
                for status in statuses {
                    for (state, count) in status.counts { byState[state, default: 0] += count }
                }
                let deliveries = byState.values.reduce(0, +)
                let states = DeliveryState.allCases.compactMap { state -> String? in
                    guard let count = byState[state], count > 0 else { return nil }
                    return "\(state.rawValue) \(Format.count(count)) (\(Format.fixed(Double(count) * 100 / Double(max(1, deliveries)), 2))%)"
                }
                contents = [
                    "events \(Format.count(events)), deliveries \(Format.count(deliveries)), attempts \(Format.count(attempts)), "
                        + "transitions \(Format.count(transitions)), \(Format.bytes(BenchFiles.size(path)))",
                    "deliveries: " + states.joined(separator: ", "),
                    "history ends \(EventFactory.iso8601(millis: end)); reads are timed as of then",
                ]
            }
            self.correlation = correlation
            self.rareText = rareText
            self.openInvoices = openInvoices
            self.contents = contents
        }
    }
}
