import Foundation
import GRDB
import PatchbayStore

/// Every read the dashboard makes, timed on the large database: median and p99 over repeated runs.
struct ReadBenchmark {
    var builder: HistoryBuilder
    var repeatCount: Int
    var rebuild: Bool
    var explain: Bool

    static let goal = 0.010
    static let textGoal = 0.100
    /// A read that is slow gets fewer runs: at most this many seconds, but at least `minimumRuns`.
    static let budget = 30.0
    static let minimumRuns = 3

    /// One dashboard read; `body` returns how many rows (or buckets) it produced.
    struct Read {
        var name: String
        var isTextSearch = false
        var body: () throws -> Int
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
        for read in reads(store, now: now, parameters) {
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
            let goal = Goal.atMost(samples.p99, read.isTextSearch ? Self.textGoal : Self.goal)
            table.add([read.name, Format.count(rows), Format.duration(samples.median), Format.duration(samples.p99),
                       Format.duration(first), Format.count(samples.count), goal.text, goal.verdict])
            report.record("reads", read.name,
                          "p99 " + Format.duration(samples.p99) + " (median " + Format.duration(samples.median) + ")",
                          goal: goal)
        }
        report.emit(table.render())
        for failure in failures { report.emit("  ERROR " + failure) }
        report.emit("  (p99 is nearest-rank: with 100 runs or fewer it is the slowest run; the goal is held to p99.")
        report.emit("   \"first run\" is the first call after opening the store, before the timed runs.)")
    }

    private func reads(_ store: Store, now: Date, _ p: Parameters) -> [Read] {
        var reads: [Read] = []
        let windows: [(String, TimeInterval, TimeInterval)] = [
            ("15m", 900, 60), ("1h", 3600, 60), ("24h", 86_400, 1800), ("7d", 7 * 86_400, 3 * 3600),
        ]
        for (label, window, bucket) in windows {
            reads.append(Read(name: "throughput \(label) (\(Int(bucket / 60)) min buckets)") {
                try store.throughput(window: window, bucket: bucket, now: now).count
            })
            reads.append(Read(name: "throughput \(label), one connector") {
                try store.throughput(window: window, bucket: bucket, connector: p.erp, now: now).count
            })
        }
        reads += [
            Read(name: "connector status (counts by state)") { try store.connectorStatuses().count },
            Read(name: "failed list, first page") { try store.failedDeliveries(limit: 50).count },
            Read(name: "failed list, one connector") {
                try store.failedDeliveries(FailureFilter(connectorId: p.erp), limit: 50).count
            },
            Read(name: "failed list, one error group") {
                try store.failedDeliveries(FailureFilter(errorGroupId: p.errorGroup), limit: 50).count
            },
            Read(name: "error groups") { try store.errorGroups().count },
            Read(name: "retry queue, first page") { try store.retryQueue(limit: 50).count },
            Read(name: "retry queue, one connector") { try store.retryQueue(connector: p.erp, limit: 50).count },
            Read(name: "aging (\(Format.count(p.openInvoices)) open invoices)") { try store.aging(asOf: p.today).count },
            Read(name: "events, first page") { try store.events(limit: 50).events.count },
            Read(name: "events, topic") { try store.events(EventFilter(topic: "orders/create"), limit: 50).events.count },
            Read(name: "events, connector (erp-sync, 35% of events)") {
                try store.events(EventFilter(connectorId: p.erp), limit: 50).events.count
            },
            Read(name: "events, connector (quickbooks-ar, none)") {
                try store.events(EventFilter(connectorId: p.quickbooks), limit: 50).events.count
            },
            Read(name: "events, state retrying") { try store.events(EventFilter(state: .retrying), limit: 50).events.count },
            Read(name: "events, state dead") { try store.events(EventFilter(state: .dead), limit: 50).events.count },
            Read(name: "events, state discarded (100, oldest)") {
                try store.events(EventFilter(state: .discarded), limit: 50).events.count
            },
            Read(name: "events, correlation id") {
                try store.events(EventFilter(correlationId: p.correlation), limit: 50).events.count
            },
            Read(name: "events, since 1 h ago") {
                try store.events(EventFilter(since: now.addingTimeInterval(-3600)), limit: 50).events.count
            },
            Read(name: "events, text in many payloads (\"Hoffmann\")", isTextSearch: true) {
                try store.events(EventFilter(text: "Hoffmann"), limit: 50).events.count
            },
            Read(name: "events, text in errors (\"Insufficient stock\")", isTextSearch: true) {
                try store.events(EventFilter(text: "Insufficient stock"), limit: 50).events.count
            },
            Read(name: "events, text in one payload (\(p.rareText))", isTextSearch: true) {
                try store.events(EventFilter(text: p.rareText), limit: 50).events.count
            },
            Read(name: "event detail (\(p.detailAttempts) attempts)") {
                try store.eventDetail(p.detailEvent)?.deliveries.count ?? 0
            },
        ]
        return reads
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
