import Foundation

/// Which stored events an operator sends again to one connector (`patchbay replay`): after a
/// mapping bug, "every `order_created` since Monday 09:00 to xero-invoices again"; after adding a
/// connector, "the last 7 days".
public struct ReplayFilter: Sendable, Equatable {
    public var topic: String?
    /// Only events from this source connector.
    public var sourceId: ConnectorID?
    /// Received at or after.
    public var since: Date?
    /// Received before.
    public var until: Date?
    /// Only events whose payload contains this text, byte for byte (case-sensitive).
    public var text: String?
    /// Only events whose delivery to the target is in one of these states; empty: any, and events
    /// that have no delivery to the target yet (a backfill).
    public var states: Set<DeliveryState>

    public init(topic: String? = nil, sourceId: ConnectorID? = nil, since: Date? = nil, until: Date? = nil,
                text: String? = nil, states: Set<DeliveryState> = []) {
        self.topic = topic
        self.sourceId = sourceId
        self.since = since
        self.until = until
        self.text = text
        self.states = states
    }

    /// At least one condition: a replay of the whole log must be asked for by naming a time.
    public var isBounded: Bool {
        topic != nil || sourceId != nil || since != nil || until != nil || text != nil || !states.isEmpty
    }
}

/// What a replay did, or would do (`dryRun`).
public struct ReplayResult: Sendable, Equatable {
    /// Events the filter matched.
    public var matched = 0
    /// Events that have no delivery to the target: each gets a new one.
    public var toCreate = 0
    /// The new deliveries (empty on a dry run).
    public var created: [DeliveryID] = []
    /// Finished deliveries (delivered, dead, discarded) sent again, with a fresh set of attempts.
    public var requeued: [DeliveryID] = []
    /// Deliveries already waiting or in flight: left as they are, they will be sent anyway.
    public var skipped: [OperatorResult.Skip] = []
    /// Nothing was written: the counts say what a replay would do.
    public var dryRun = false

    public init() {}

    /// Deliveries that are (or would be) sent because of this replay.
    public var queued: Int { toCreate + requeued.count }

    /// Sorts the matched rows: an event with no delivery to the target is to be created, a
    /// finished delivery requeued, a waiting or in-flight one skipped. Rows come as (event, the
    /// delivery to the target if any, its state).
    public static func plan(_ rows: [(event: EventID, delivery: DeliveryID?, state: DeliveryState?)], dryRun: Bool)
        -> (result: ReplayResult, create: [EventID], requeue: [DeliveryID])
    {
        var result = ReplayResult()
        result.dryRun = dryRun
        result.matched = rows.count
        var create: [EventID] = []
        for row in rows {
            guard let delivery = row.delivery, let state = row.state else {
                create.append(row.event)
                continue
            }
            if state.isReplayable {
                result.requeued.append(delivery)
            } else {
                result.skipped.append(OperatorResult.Skip(id: delivery, reason: "already \(state.rawValue): it will be sent"))
            }
        }
        result.toCreate = create.count
        return (result, create, result.requeued)
    }

    /// The transition reason every replayed delivery records.
    public static func transitionReason(_ reason: String?) -> String {
        "replayed by operator" + (reason.map { ": \($0)" } ?? "")
    }
}

/// The attempt limit of deliveries a replay creates when the target connector names none (the
/// retry policy's default).
public let replayDefaultMaxAttempts = 20

extension Claim {
    /// The key a delivery's requests carry, the same on every attempt: `patchbay-delivery-<id>`, and
    /// `…-replay-<n>` once an operator replayed it, so a target that dedupes by key takes a replay
    /// as new instead of dropping it silently.
    public static func idempotencyKey(delivery id: DeliveryID, replays: Int) -> String {
        replays > 0 ? "patchbay-delivery-\(id)-replay-\(replays)" : "patchbay-delivery-\(id)"
    }
}

extension DeliveryState {
    /// States a replay sends again; the others (pending, retrying, in flight) are already going out.
    public var isReplayable: Bool { self == .delivered || self == .dead || self == .discarded }
}
