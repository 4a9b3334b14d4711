import Foundation

/// Counts for one bucket of a throughput series.
public struct ThroughputBucket: Sendable, Equatable {
    /// Start of the bucket, milliseconds since 1970.
    public var start: Int64
    public var received: Int
    public var delivered: Int
    public var failed: Int
    public var retried: Int
    public var dead: Int

    public init(start: Int64, received: Int = 0, delivered: Int = 0, failed: Int = 0, retried: Int = 0, dead: Int = 0) {
        self.start = start
        self.received = received
        self.delivered = delivered
        self.failed = failed
        self.retried = retried
        self.dead = dead
    }
}

/// A failing delivery, as the failed list shows it.
public struct FailedDelivery: Codable, Sendable, Equatable {
    public var id: DeliveryID
    public var eventId: EventID
    public var topic: String
    public var connectorId: ConnectorID
    public var connector: String
    public var state: DeliveryState
    public var attempts: Int
    public var maxAttempts: Int
    public var nextAttemptAt: Int64?
    public var lastError: String?
    public var lastStatus: Int?
    public var errorSignature: String?
    public var updatedAt: Int64

    public init(id: DeliveryID, eventId: EventID, topic: String, connectorId: ConnectorID, connector: String,
                state: DeliveryState, attempts: Int, maxAttempts: Int, nextAttemptAt: Int64? = nil,
                lastError: String? = nil, lastStatus: Int? = nil, errorSignature: String? = nil, updatedAt: Int64) {
        self.id = id
        self.eventId = eventId
        self.topic = topic
        self.connectorId = connectorId
        self.connector = connector
        self.state = state
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.lastStatus = lastStatus
        self.errorSignature = errorSignature
        self.updatedAt = updatedAt
    }
}

/// Keyset position in a newest-first list of failures.
public struct FailureCursor: Sendable, Equatable {
    public var updatedAt: Int64
    public var id: DeliveryID

    public init(updatedAt: Int64, id: DeliveryID) {
        self.updatedAt = updatedAt
        self.id = id
    }
}

/// What the event history shows for one event.
public struct EventSummary: Sendable, Equatable {
    public var event: Event
    public var source: String
    /// How many of its deliveries are in each state.
    public var deliveryStates: [DeliveryState: Int]

    public init(event: Event, source: String, deliveryStates: [DeliveryState: Int]) {
        self.event = event
        self.source = source
        self.deliveryStates = deliveryStates
    }
}

public struct EventFilter: Sendable, Equatable {
    public var topic: String?
    /// Source or target connector.
    public var connectorId: ConnectorID?
    /// Events with at least one delivery in this state.
    public var state: DeliveryState?
    public var correlationId: String?
    public var since: Date?
    public var until: Date?
    /// Text in the payload or in a delivery's last error.
    public var text: String?

    public init(topic: String? = nil, connectorId: ConnectorID? = nil, state: DeliveryState? = nil,
                correlationId: String? = nil, since: Date? = nil, until: Date? = nil, text: String? = nil) {
        self.topic = topic
        self.connectorId = connectorId
        self.state = state
        self.correlationId = correlationId
        self.since = since
        self.until = until
        self.text = text
    }
}

public struct EventPage: Sendable, Equatable {
    public var events: [EventSummary]
    /// Pass as `before` for the next (older) page; nil on the last page.
    public var nextCursor: EventID?
    /// True when a text search stopped at its time budget (`TextSearchBudget`) before it filled the
    /// page: `events` may be short or empty, and `nextCursor` searches on among older events.
    public var partial = false

    public init(events: [EventSummary], nextCursor: EventID?, partial: Bool = false) {
        self.events = events
        self.nextCursor = nextCursor
        self.partial = partial
    }
}

/// One event in full: what the drill-down shows.
public struct EventDetail: Sendable, Equatable {
    public struct DeliveryHistory: Sendable, Equatable {
        public var delivery: Delivery
        public var connector: String
        public var attempts: [Attempt]
        public var transitions: [Transition]

        public init(delivery: Delivery, connector: String, attempts: [Attempt], transitions: [Transition]) {
            self.delivery = delivery
            self.connector = connector
            self.attempts = attempts
            self.transitions = transitions
        }
    }

    public var event: Event
    public var source: String
    public var deliveries: [DeliveryHistory]

    public init(event: Event, source: String, deliveries: [DeliveryHistory]) {
        self.event = event
        self.source = source
        self.deliveries = deliveries
    }
}

/// How long one page of a text search may read the log before it returns what it found.
///
/// A substring can only be found by reading the text (`LIKE '%…%'` cannot use a b-tree), so a rare
/// term in a large log costs time in proportion to the log: 1.9 s on a million events. Rather than
/// index every payload and error (an FTS5 trigram index is 1.7× the events table and about 39 µs
/// more per ingested event, on the hub's hottest write), a text search reads the log newest first in
/// windows of ids and stops when its page is full, when the log ends, or after this budget. A page
/// that stopped on the budget is `partial`: its `nextCursor` continues the search with older events,
/// so paging through finds exactly the events `LIKE` finds, newest first.
public struct TextSearchBudget: Sendable, Equatable {
    /// Ids read per statement; the budget is checked between windows, so a page can run over it by
    /// one window. 2,000: at 10 M events a window of 4,000 searched for text in delivery errors
    /// took up to 50 ms with a cold cache, and the page's p99 was 104 ms against 100.
    public var window: Int64
    public var seconds: Double

    public init(window: Int64 = 2_000, seconds: Double = 0.05) {
        self.window = window
        self.seconds = seconds
    }

    /// For the dashboard: a page in about 50 ms however large the log.
    public static let standard = TextSearchBudget()
    /// No time limit: the whole log if need be (the command line, tests).
    public static let unbounded = TextSearchBudget(seconds: .infinity)
}

/// The buckets of a throughput window: which rollup table serves them and where they start and end.
/// The same on every backend (the tables are the same).
public struct ThroughputSpan: Sendable {
    public let bucketMs: Int64
    public let table: String
    /// Milliseconds per row of `table`.
    public let unit: Int64
    public let start: Int64
    /// Exclusive; the current, partial bucket is the last one.
    public let end: Int64

    public init(window: TimeInterval, bucket: TimeInterval, now: Date) {
        bucketMs = max(60_000, Int64(bucket * 1000) / 60_000 * 60_000)
        let windowMs = max(bucketMs, Int64(window * 1000))
        // The coarsest rollup whose rows make whole buckets: a day in 15-minute bars reads 96
        // quarter rows per connector instead of 1,440 minute rows.
        (table, unit) = switch bucketMs {
        case let ms where ms % 3_600_000 == 0: ("throughput_hour", 3_600_000)
        case let ms where ms % 900_000 == 0: ("throughput_quarter", 900_000)
        default: ("throughput_minute", 60_000)
        }
        end = (now.millis / bucketMs + 1) * bucketMs
        start = end - (windowMs + bucketMs - 1) / bucketMs * bucketMs
    }

    public var starts: [Int64] { Array(stride(from: start, to: end, by: Int(bucketMs))) }

    /// Rows of `table` per bucket (a bucket is a whole number of them).
    public var rowsPerBucket: Int64 { bucketMs / unit }

    /// Position in `starts` of the bucket numbered `bucket / rowsPerBucket` in the table's rows.
    public func index(ofBucket number: Int64) -> Int { Int((number * bucketMs - start) / bucketMs) }
}

