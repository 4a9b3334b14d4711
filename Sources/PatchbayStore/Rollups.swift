import GRDB

/// What a write changes in the counters the dashboard reads, summed over the whole write and
/// applied once, in the same transaction, before it commits.
///
/// Up to migration v3 these counters were kept by row triggers: every delivery that changed state
/// ran three trigger programs (six statements), and every ingested event and delivery one more.
/// That was most of the write path's cost (docs/BENCHMARKS.md, "Where the time goes"). Since v4 the
/// store's write paths, which all work in batches, describe each change here and the sums are
/// written with one upsert per counter row. Deletes (only `prune`, and cascades) keep their trigger.
///
/// The rules are the triggers' rules, unchanged:
/// - `delivery_counts`: one per delivery, under its current state.
/// - `error_groups`: a delivery is in the group of its signature while it is `retrying` or `dead`;
///   a failed attempt (from `in_flight`) counts an occurrence; the group's sample, status and last
///   seen follow the newest failure.
/// - throughput per minute, quarter hour and hour, by the time of the change: `received` per event and source;
///   `delivered`; `failed` (an attempt failed: `in_flight` → `retrying` or `dead`); `retried`
///   (scheduled again: → `retrying`, or → `pending` by an operator); `dead`.
///
/// `Store.rollupDifferences` recounts every counter from the rows; the tests run every write path
/// and require it to find nothing.
struct RollupDelta {
    private struct CountKey: Hashable {
        var connector: ConnectorID
        var state: DeliveryState
    }

    private struct BucketKey: Hashable {
        var bucket: Int64
        var connector: ConnectorID
    }

    private struct Flow {
        var received = 0, delivered = 0, failed = 0, retried = 0, dead = 0
    }

    private struct GroupKey: Hashable {
        var connector: ConnectorID
        var signature: String
    }

    private struct GroupChange {
        var retrying = 0, dead = 0
        /// Set when a delivery entered the group in this write: then the row is created if missing.
        var entered: (occurrences: Int, sample: String, status: Int?, firstSeen: Int64, lastSeen: Int64)?
    }

    private var counts: [CountKey: Int] = [:]
    private var minutes: [BucketKey: Flow] = [:]
    private var quarters: [BucketKey: Flow] = [:]
    private var hours: [BucketKey: Flow] = [:]
    private var groups: [GroupKey: GroupChange] = [:]
    /// Groups in the order they were first touched, so the SQL is the same from run to run.
    private var groupOrder: [GroupKey] = []

    var isEmpty: Bool { counts.isEmpty && minutes.isEmpty && groups.isEmpty }

    /// An event stored at `at` from `source`.
    mutating func received(source: ConnectorID, at: Int64) {
        minutes[BucketKey(bucket: at / 60_000, connector: source), default: Flow()].received += 1
        quarters[BucketKey(bucket: at / 900_000, connector: source), default: Flow()].received += 1
        hours[BucketKey(bucket: at / 3_600_000, connector: source), default: Flow()].received += 1
    }

    /// A new delivery row (ingest creates them `pending`).
    mutating func inserted(connector: ConnectorID, state: DeliveryState) {
        counts[CountKey(connector: connector, state: state), default: 0] += 1
    }

    /// A delivery moved from one state to another (or kept its state and changed its signature).
    ///
    /// - Parameters:
    ///   - oldSignature: the row's `error_signature` before the change.
    ///   - newSignature, error, status: the row's `error_signature`, `last_error` and `last_status` after it.
    mutating func moved(connector: ConnectorID, from old: DeliveryState, to new: DeliveryState, at: Int64,
                        oldSignature: String?, newSignature: String?, error: String? = nil, status: Int? = nil) {
        let changed = old != new || oldSignature != newSignature
        guard changed else { return }
        if old != new {
            counts[CountKey(connector: connector, state: old), default: 0] -= 1
            counts[CountKey(connector: connector, state: new), default: 0] += 1
            var flow = Flow()
            flow.delivered = new == .delivered ? 1 : 0
            flow.failed = old == .inFlight && new.isFailing ? 1 : 0
            flow.retried = new == .retrying || (new == .pending && old != .inFlight) ? 1 : 0
            flow.dead = new == .dead ? 1 : 0
            if flow.delivered + flow.failed + flow.retried + flow.dead > 0 {
                add(flow, to: &minutes, key: BucketKey(bucket: at / 60_000, connector: connector))
                add(flow, to: &quarters, key: BucketKey(bucket: at / 900_000, connector: connector))
                add(flow, to: &hours, key: BucketKey(bucket: at / 3_600_000, connector: connector))
            }
        }
        if old.isFailing, let oldSignature {
            let key = GroupKey(connector: connector, signature: oldSignature)
            touch(key)
            groups[key]!.retrying -= old == .retrying ? 1 : 0
            groups[key]!.dead -= old == .dead ? 1 : 0
        }
        if new.isFailing, let newSignature {
            let key = GroupKey(connector: connector, signature: newSignature)
            touch(key)
            groups[key]!.retrying += new == .retrying ? 1 : 0
            groups[key]!.dead += new == .dead ? 1 : 0
            let occurrence = old == .inFlight ? 1 : 0
            if var entered = groups[key]!.entered {
                entered.occurrences += occurrence
                entered.sample = error ?? ""
                entered.status = status
                entered.firstSeen = min(entered.firstSeen, at)
                entered.lastSeen = max(entered.lastSeen, at)
                groups[key]!.entered = entered
            } else {
                groups[key]!.entered = (occurrence, error ?? "", status, at, at)
            }
        }
    }

    /// A delivery an operator moved from one connector to another and requeued there (`pending`).
    ///
    /// It leaves the old connector's count of its state and its error group, and enters the new
    /// connector's count as if it had always been there; the requeue then counts for the new
    /// connector (`retried`, unless it was pending already), as `Store.rollupDifferences` counts the
    /// move's transition. Its earlier transitions stay the old connector's (`transitions.connector_id`).
    mutating func retargeted(from oldConnector: ConnectorID, to newConnector: ConnectorID, state: DeliveryState,
                             signature: String?, at: Int64) {
        guard oldConnector != newConnector else { return }
        counts[CountKey(connector: oldConnector, state: state), default: 0] -= 1
        counts[CountKey(connector: newConnector, state: state), default: 0] += 1
        if state.isFailing, let signature {
            let key = GroupKey(connector: oldConnector, signature: signature)
            touch(key)
            groups[key]!.retrying -= state == .retrying ? 1 : 0
            groups[key]!.dead -= state == .dead ? 1 : 0
        }
        moved(connector: newConnector, from: state, to: .pending, at: at, oldSignature: nil, newSignature: nil)
    }

    private mutating func touch(_ key: GroupKey) {
        if groups[key] == nil {
            groups[key] = GroupChange()
            groupOrder.append(key)
        }
    }

    private func add(_ flow: Flow, to table: inout [BucketKey: Flow], key: BucketKey) {
        var sum = table[key, default: Flow()]
        sum.delivered += flow.delivered
        sum.failed += flow.failed
        sum.retried += flow.retried
        sum.dead += flow.dead
        table[key] = sum
    }

    /// Writes the sums: one statement per counter row touched.
    func apply(_ db: Database) throws {
        let count = try db.cachedStatement(sql: """
            INSERT INTO delivery_counts(connector_id, state, n) VALUES (?, ?, ?)
            ON CONFLICT(connector_id, state) DO UPDATE SET n = n + excluded.n
            """)
        for (key, n) in counts.sorted(by: { ($0.key.connector, $0.key.state.rawValue) < ($1.key.connector, $1.key.state.rawValue) })
        where n != 0 {
            try count.execute(arguments: [key.connector, key.state, n])
        }
        for (table, buckets) in [("throughput_minute", minutes), ("throughput_quarter", quarters), ("throughput_hour", hours)] {
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO \(table)(bucket, connector_id, received, delivered, failed, retried, dead)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(bucket, connector_id) DO UPDATE SET
                  received = received + excluded.received, delivered = delivered + excluded.delivered,
                  failed = failed + excluded.failed, retried = retried + excluded.retried, dead = dead + excluded.dead
                """)
            for (key, flow) in buckets.sorted(by: { ($0.key.bucket, $0.key.connector) < ($1.key.bucket, $1.key.connector) }) {
                try upsert.execute(arguments: [key.bucket, key.connector, flow.received, flow.delivered, flow.failed,
                                               flow.retried, flow.dead])
            }
        }
        let leave = try db.cachedStatement(sql: """
            UPDATE error_groups SET retrying = retrying + ?, dead = dead + ? WHERE connector_id = ? AND signature = ?
            """)
        let enter = try db.cachedStatement(sql: """
            INSERT INTO error_groups(connector_id, signature, sample_error, last_status,
                                     retrying, dead, occurrences, first_seen, last_seen)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(connector_id, signature) DO UPDATE SET
              retrying = retrying + excluded.retrying,
              dead = dead + excluded.dead,
              occurrences = occurrences + excluded.occurrences,
              sample_error = excluded.sample_error,
              last_status = excluded.last_status,
              last_seen = max(last_seen, excluded.last_seen)
            """)
        for key in groupOrder {
            let change = groups[key]!
            if let entered = change.entered {
                try enter.execute(arguments: [
                    key.connector, key.signature, entered.sample, entered.status, change.retrying, change.dead,
                    entered.occurrences, entered.firstSeen, entered.lastSeen,
                ])
            } else if change.retrying != 0 || change.dead != 0 {
                try leave.execute(arguments: [change.retrying, change.dead, key.connector, key.signature])
            }
        }
    }
}

extension DeliveryState {
    /// The states an error group counts.
    var isFailing: Bool { self == .retrying || self == .dead }
}

/// Integer rows or ids for one statement, as a JSON array the statement reads with `json_each`.
///
/// A batch write binds one text argument instead of thousands of placeholders, so its statement is
/// prepared once and cached, whatever the batch size (parsing a 400-row `VALUES` list every time was
/// a fifth of a claim's cost). Only integers go in: rows with text use `Store.insertRows`.
struct JSONRows {
    private(set) var text = "["
    private(set) var count = 0
    private var firstInRow = true

    init() {}

    mutating func row(_ build: (inout JSONRows) -> Void) {
        if count > 0 { text += "," }
        text += "["
        firstInRow = true
        build(&self)
        text += "]"
        count += 1
    }

    mutating func add(_ value: Int64) {
        if !firstInRow { text += "," }
        firstInRow = false
        text += String(value)
    }

    mutating func add(_ value: Int) { add(Int64(value)) }

    /// The finished array.
    var json: String { text + "]" }

    /// A JSON array of integers, for `id IN (SELECT value FROM json_each(?))`.
    static func ids<S: Sequence>(_ ids: S) -> String where S.Element == Int64 {
        var text = "["
        var first = true
        for id in ids {
            if !first { text += "," }
            first = false
            text += String(id)
        }
        return text + "]"
    }
}
