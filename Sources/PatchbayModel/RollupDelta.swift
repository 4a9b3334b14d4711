import Foundation

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
/// Each backend's `rollupDifferences` recounts every counter from the rows; the tests run every write path
/// and require it to find nothing.
public struct RollupDelta: Sendable {
    public init() {}

    private struct CountKey: Hashable {
        var connector: ConnectorID
        var state: DeliveryState
    }

    private struct BucketKey: Hashable {
        var bucket: Int64
        var connector: ConnectorID
    }

    /// The throughput one counter row gains.
    public struct Flow: Sendable, Equatable {
        public var received = 0, delivered = 0, failed = 0, retried = 0, dead = 0
    }

    private struct GroupKey: Hashable {
        var connector: ConnectorID
        var signature: String
    }

    /// What one error group gains or loses.
    public struct GroupChange: Sendable {
        public var retrying = 0, dead = 0
        /// Set when a delivery entered the group in this write: then the row is created if missing.
        public var entered: (occurrences: Int, sample: String, status: Int?, firstSeen: Int64, lastSeen: Int64)?
    }

    private var counts: [CountKey: Int] = [:]
    private var minutes: [BucketKey: Flow] = [:]
    private var quarters: [BucketKey: Flow] = [:]
    private var hours: [BucketKey: Flow] = [:]
    private var groups: [GroupKey: GroupChange] = [:]
    /// Groups in the order they were first touched, so the SQL is the same from run to run.
    private var groupOrder: [GroupKey] = []

    public var isEmpty: Bool { counts.isEmpty && minutes.isEmpty && groups.isEmpty }

    /// An event stored at `at` from `source`.
    public mutating func received(source: ConnectorID, at: Int64) {
        minutes[BucketKey(bucket: at / 60_000, connector: source), default: Flow()].received += 1
        quarters[BucketKey(bucket: at / 900_000, connector: source), default: Flow()].received += 1
        hours[BucketKey(bucket: at / 3_600_000, connector: source), default: Flow()].received += 1
    }

    /// A new delivery row (ingest creates them `pending`).
    public mutating func inserted(connector: ConnectorID, state: DeliveryState) {
        counts[CountKey(connector: connector, state: state), default: 0] += 1
    }

    /// A delivery moved from one state to another (or kept its state and changed its signature).
    ///
    /// - Parameters:
    ///   - oldSignature: the row's `error_signature` before the change.
    ///   - newSignature, error, status: the row's `error_signature`, `last_error` and `last_status` after it.
    public mutating func moved(connector: ConnectorID, from old: DeliveryState, to new: DeliveryState, at: Int64,
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
    /// connector (`retried`, unless it was pending already), as `rollupDifferences` counts the
    /// move's transition. Its earlier transitions stay the old connector's (`transitions.connector_id`).
    public mutating func retargeted(from oldConnector: ConnectorID, to newConnector: ConnectorID, state: DeliveryState,
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

    /// The counter tables of throughput, by the width of their buckets.
    public enum Granularity: String, Sendable, CaseIterable {
        case minute = "throughput_minute", quarter = "throughput_quarter", hour = "throughput_hour"
        /// The table that holds the counters.
        public var table: String { rawValue }
    }

    /// Each changed `delivery_counts` row, in (connector, state) order: the order every backend
    /// writes them, so two writers lock counter rows in the same order.
    public var countChanges: [(connector: ConnectorID, state: DeliveryState, n: Int)] {
        counts.filter { $0.value != 0 }
            .sorted { ($0.key.connector, $0.key.state.rawValue) < ($1.key.connector, $1.key.state.rawValue) }
            .map { ($0.key.connector, $0.key.state, $0.value) }
    }

    /// Each changed throughput row of one granularity, in (bucket, connector) order.
    public func flowChanges(_ granularity: Granularity) -> [(bucket: Int64, connector: ConnectorID, flow: Flow)] {
        let table: [BucketKey: Flow]
        switch granularity {
        case .minute: table = minutes
        case .quarter: table = quarters
        case .hour: table = hours
        }
        return table.sorted { ($0.key.bucket, $0.key.connector) < ($1.key.bucket, $1.key.connector) }
            .map { ($0.key.bucket, $0.key.connector, $0.value) }
    }

    /// Each touched error group, in (connector, signature) order.
    public var groupChanges: [(connector: ConnectorID, signature: String, change: GroupChange)] {
        groupOrder.sorted { ($0.connector, $0.signature) < ($1.connector, $1.signature) }
            .map { ($0.connector, $0.signature, groups[$0]!) }
    }
}

extension DeliveryState {
    /// The states an error group counts.
    public var isFailing: Bool { self == .retrying || self == .dead }
}
