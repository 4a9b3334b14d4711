import Foundation

/// A target connector an event fans out to.
public struct DeliveryTarget: Sendable, Equatable {
    public var connectorId: ConnectorID
    public var maxAttempts: Int

    public init(connectorId: ConnectorID, maxAttempts: Int) {
        self.connectorId = connectorId
        self.maxAttempts = max(1, maxAttempts)
    }
}

/// An event as a source hands it to the store.
public struct NewEvent: Sendable, Equatable {
    public var topic: String
    public var sourceId: ConnectorID
    /// The sender's id for this message (a webhook delivery id, a row key): a second event with the
    /// same key from the same source is the same event.
    public var idempotencyKey: String
    /// JSON text.
    public var payload: String
    public var receivedAt: Date
    public var occurredAt: Date?
    public var correlationId: String?
    public var targets: [DeliveryTarget]
    /// For senders whose signature covers the body only: the same signed body from the same source
    /// within the window is a replay, stored as a duplicate whatever its key or topic says.
    public var replayGuard: ReplayGuard?

    public init(topic: String, sourceId: ConnectorID, idempotencyKey: String, payload: String,
                receivedAt: Date = Date(), occurredAt: Date? = nil, correlationId: String? = nil,
                targets: [DeliveryTarget], replayGuard: ReplayGuard? = nil) {
        self.topic = topic
        self.sourceId = sourceId
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.receivedAt = receivedAt
        self.occurredAt = occurredAt
        self.correlationId = correlationId
        self.targets = targets
        self.replayGuard = replayGuard
    }
}

/// A signed body's digest and how long a repeat of it counts as a replay.
public struct ReplayGuard: Sendable, Equatable {
    public var digest: String
    public var window: TimeInterval

    public init(digest: String, window: TimeInterval) {
        self.digest = digest
        self.window = window
    }
}

public enum IngestResult: Sendable, Equatable {
    /// Stored, with one pending delivery per target.
    case accepted(EventID, deliveries: [DeliveryID])
    /// The source had already sent this key; nothing was written.
    case duplicate(EventID)

    public var eventId: EventID {
        switch self {
        case .accepted(let id, _), .duplicate(let id): return id
        }
    }
}

/// A request a source refused, kept so that refusals are counted and visible, never silent.
public struct NewRejection: Sendable, Equatable {
    public var connectorId: ConnectorID?
    public var receivedAt: Date
    public var status: Int
    public var reason: String
    public var remote: String?
    public var path: String
    public var bodyBytes: Int
    /// The start of the body, as text; stored for the operator, never interpreted.
    public var bodyExcerpt: String?
    /// False for a refusal above the detail rate (a flood): it is counted in the per-minute
    /// rollups but no row is stored, so refused requests cannot grow the database without bound.
    public var keepDetail: Bool

    public init(connectorId: ConnectorID?, receivedAt: Date, status: Int, reason: String, remote: String?,
                path: String, bodyBytes: Int, bodyExcerpt: String?, keepDetail: Bool = true) {
        self.connectorId = connectorId
        self.receivedAt = receivedAt
        self.status = status
        self.reason = reason
        self.remote = remote
        self.path = path
        self.bodyBytes = bodyBytes
        self.bodyExcerpt = bodyExcerpt
        self.keepDetail = keepDetail
    }
}

public struct RejectedRequest: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var connectorId: ConnectorID?
    public var receivedAt: Int64
    public var status: Int
    public var reason: String
    public var remote: String?
    public var path: String
    public var bodyBytes: Int
    public var bodyExcerpt: String?

    public init(id: Int64, connectorId: ConnectorID? = nil, receivedAt: Int64, status: Int, reason: String,
                remote: String? = nil, path: String, bodyBytes: Int, bodyExcerpt: String? = nil) {
        self.id = id
        self.connectorId = connectorId
        self.receivedAt = receivedAt
        self.status = status
        self.reason = reason
        self.remote = remote
        self.path = path
        self.bodyBytes = bodyBytes
        self.bodyExcerpt = bodyExcerpt
    }
}

extension NewEvent {
    /// The largest payload a store accepts, in bytes. Sources enforce their own, smaller limits.
    public static let maxPayloadBytes = 4 * 1024 * 1024

    /// Checks what every backend refuses before it writes anything, naming the event by its place in
    /// the batch and its key.
    public func validate(index: Int) throws {
        let event = self
        func bad(_ what: String) -> StoreError {
            .invalidInput("event \(index + 1) (key '\(event.idempotencyKey.prefix(80))'): \(what)")
        }
        if event.topic.isEmpty || event.topic.utf8.count > 200 { throw bad("topic must be 1 to 200 bytes") }
        if event.idempotencyKey.isEmpty || event.idempotencyKey.utf8.count > 500 {
            throw bad("idempotency key must be 1 to 500 bytes")
        }
        if event.payload.utf8.count > Self.maxPayloadBytes {
            throw bad("payload is \(event.payload.utf8.count) bytes, over the store's limit of \(Self.maxPayloadBytes)")
        }
        if Set(event.targets.map(\.connectorId)).count != event.targets.count {
            throw bad("a target connector is listed twice")
        }
    }
}

extension NewEvent {
    /// Refuses a batch naming a connector the store does not have, naming the first bad event: a
    /// foreign key failure would only say that one row of a statement was wrong.
    public static func checkConnectors(_ events: [NewEvent], known: Set<ConnectorID>) throws {
        func bad(_ event: NewEvent, _ what: String) -> StoreError {
            .invalidInput("event '\(event.idempotencyKey.prefix(80))': \(what)")
        }
        for event in events {
            guard known.contains(event.sourceId) else { throw bad(event, "unknown source connector id \(event.sourceId)") }
            if let target = event.targets.first(where: { !known.contains($0.connectorId) }) {
                throw bad(event, "unknown target connector id \(target.connectorId)")
            }
        }
    }

    /// The oldest receipt (ms) of the same signed body that makes this event a replay: its window
    /// before it, at most 366 days. Nil for an event with no replay guard.
    public var replayWindowStart: Int64? {
        replayGuard.map { receivedAt.millis - Int64(min($0.window, 366 * 86400) * 1000) }
    }
}

/// How one ingest batch resolves, the same on every backend: which events replay a signed body,
/// which are stored now, which repeat a key, and what each returns. The backend reads and writes;
/// the decisions between its statements are made here.
public struct IngestBatch: Sendable {
    /// An event keyed as the store keys it: once per source and idempotency key.
    public struct SourceKey: Hashable, Sendable {
        public var source: ConnectorID
        public var key: String

        public init(source: ConnectorID, key: String) {
            self.source = source
            self.key = key
        }
    }

    public enum Replay: Sendable, Equatable {
        /// The body made this event, within the window.
        case stored(EventID)
        /// The body is that of an earlier event of the same batch (its index).
        case sameAs(Int)
    }

    /// A delivery to insert: pending, due at its event's receipt.
    public struct NewDelivery: Sendable, Equatable {
        public var event: EventID
        public var connector: ConnectorID
        public var maxAttempts: Int
        public var at: Int64
    }

    private struct DigestKey: Hashable {
        var source: ConnectorID
        var digest: String
    }

    public let events: [NewEvent]
    public let replays: [Int: Replay]
    /// The events to insert, in the batch's order: all but the replays.
    public let fresh: [NewEvent]
    /// The deliveries of the events stored now, target by target.
    public private(set) var deliveries: [NewDelivery] = []
    /// Events and deliveries stored now, counted.
    public private(set) var rollups = RollupDelta()
    /// Events whose key the source sent in an earlier batch: look up their ids, then `found(_:at:)`.
    public private(set) var missing: [Int] = []
    private var accepted: [(index: Int, id: EventID)] = []
    private var results: [IngestResult?]

    /// Finds the replays: an event whose signed body an earlier event of the batch had is that
    /// one's replay; else it is a replay when `stored` finds the body's event within its window.
    ///
    /// - Parameter stored: the event the same source's same body made since the event's
    ///   `replayWindowStart`, if any; asked only for the first event of the batch with each body.
    public init(_ events: [NewEvent], stored: (_ index: Int) throws -> EventID?) rethrows {
        var replays: [Int: Replay] = [:]
        var firstInBatch: [DigestKey: Int] = [:]
        for (index, event) in events.enumerated() {
            guard let guardian = event.replayGuard else { continue }
            let key = DigestKey(source: event.sourceId, digest: guardian.digest)
            if let first = firstInBatch[key] {
                replays[index] = .sameAs(first)
            } else if let id = try stored(index) {
                replays[index] = .stored(id)
            } else {
                firstInBatch[key] = index
            }
        }
        self.events = events
        self.replays = replays
        fresh = replays.isEmpty ? events : events.indices.filter { replays[$0] == nil }.map { events[$0] }
        results = Array(repeating: nil, count: events.count)
    }

    /// Sorts the events once the fresh ones are inserted (`inserted`: the ids the insert returned,
    /// by key). The first event with a key is the one stored, with one delivery per target; a
    /// repeat in the same batch is its duplicate; one whose key was taken before is `missing`.
    public mutating func inserted(_ inserted: [SourceKey: EventID]) {
        var seen = Set<SourceKey>()
        for (index, event) in events.enumerated() {
            if let replay = replays[index] {
                if case .stored(let id) = replay { results[index] = .duplicate(id) }
                continue
            }
            let key = SourceKey(source: event.sourceId, key: event.idempotencyKey)
            if let id = inserted[key], seen.insert(key).inserted {
                let received = event.receivedAt.millis
                rollups.received(source: event.sourceId, at: received)
                for target in event.targets {
                    deliveries.append(NewDelivery(event: id, connector: target.connectorId,
                                                  maxAttempts: target.maxAttempts, at: received))
                    rollups.inserted(connector: target.connectorId, state: .pending)
                }
                accepted.append((index, id))
            } else if let id = inserted[key] {
                results[index] = .duplicate(id)
            } else {
                missing.append(index)
            }
        }
    }

    /// A missing event's id, as stored by an earlier batch; nil is an error (it was neither stored
    /// now nor found).
    public mutating func found(_ existing: EventID?, at index: Int) throws {
        guard let existing else {
            throw StoreError.invalidInput("event '\(events[index].idempotencyKey.prefix(80))' was neither stored nor found")
        }
        results[index] = .duplicate(existing)
    }

    /// What each event of the batch returns, given the ids of the deliveries inserted (by event
    /// and connector). A replay of a body first seen in this batch is a duplicate of whatever that
    /// one became.
    public func results(deliveryIds: [EventID: [ConnectorID: DeliveryID]]) -> [IngestResult] {
        var results = results
        for (index, id) in accepted {
            let made = deliveryIds[id] ?? [:]
            results[index] = .accepted(id, deliveries: events[index].targets.compactMap { made[$0.connectorId] })
        }
        for (index, replay) in replays {
            if case .sameAs(let first) = replay { results[index] = .duplicate(results[first]!.eventId) }
        }
        return results.map { $0! }
    }
}
