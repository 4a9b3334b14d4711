import Foundation

/// What an alert rule watches (`alerts.rules[].kind` in patchbay.yaml).
public enum AlertKind: String, Codable, Sendable, CaseIterable {
    /// A sink's failure rate over the last hour above N times its usual rate for that hour of the week.
    case failureRate = "failure_rate"
    /// Dead deliveries (of one connector, or all) above a count.
    case deadLetters = "dead_letters"
    /// A sink with failures and no success for longer than a span.
    case connectorFailing = "connector_failing"
    /// A source receiving well below its usual volume for that hour of the week.
    case sourceQuiet = "source_quiet"
    /// The oldest waiting delivery of a sink older than a span.
    case queueAge = "queue_age"
    /// A batch job without a successful run for longer than a span.
    case batchLate = "batch_late"
    /// Open invoices more than 90 days past due above an amount, per currency.
    case invoicesOverdue = "invoices_overdue"
    /// A connector paused by the hub itself (the circuit breaker, or a 410 Gone).
    case connectorPaused = "connector_paused"
    /// A SaaS API's daily quota (Xero's 5,000 calls) running low, from its last answer's headers.
    case quotaLow = "quota_low"
}

/// The hub's own source whose events are alert notifications. Configuration names cannot contain a
/// dot, so it never meets a connector of the file.
public let alertSourceName = "patchbay.alerts"

public enum AlertState: String, Codable, Sendable {
    case firing, resolved
}

/// An alert as stored: one row per firing, from its first notice to its resolution.
public struct AlertRecord: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var rule: String
    public var kind: AlertKind
    /// What it is about: a connector's name, a currency, or `*` for the whole hub.
    public var subject: String
    public var state: AlertState
    public var summary: String
    public var value: String?
    public var threshold: String?
    public var firedAt: Int64
    public var lastNotifiedAt: Int64?
    /// Notifications enqueued so far (the first, repeats, the resolution).
    public var notifications: Int
    public var resolvedAt: Int64?
    public var updatedAt: Int64

    public init(id: Int64, rule: String, kind: AlertKind, subject: String, state: AlertState, summary: String,
                value: String?, threshold: String?, firedAt: Int64, lastNotifiedAt: Int64?, notifications: Int,
                resolvedAt: Int64?, updatedAt: Int64) {
        self.id = id
        self.rule = rule
        self.kind = kind
        self.subject = subject
        self.state = state
        self.summary = summary
        self.value = value
        self.threshold = threshold
        self.firedAt = firedAt
        self.lastNotifiedAt = lastNotifiedAt
        self.notifications = notifications
        self.resolvedAt = resolvedAt
        self.updatedAt = updatedAt
    }
}

/// What one evaluation found to hold: a rule, a subject, and the words for people.
public struct AlertFinding: Sendable, Equatable {
    public var rule: String
    public var kind: AlertKind
    public var subject: String
    public var summary: String
    public var value: String?
    public var threshold: String?

    public init(rule: String, kind: AlertKind, subject: String, summary: String, value: String? = nil,
                threshold: String? = nil) {
        self.rule = rule
        self.kind = kind
        self.subject = subject
        self.summary = summary
        self.value = value
        self.threshold = threshold
    }
}

/// The stored alerts (`alerts` table). Each write is its own transaction; the hub that evaluates
/// holds the `alerts` job lock on a shared store, so one node writes them at a time.
public protocol AlertLedger: Sendable {
    /// Firing alerts, oldest first.
    func firingAlerts() throws -> [AlertRecord]
    /// The newest alerts, firing ones first, at most `limit`.
    func recentAlerts(limit: Int) throws -> [AlertRecord]
    /// Stores a new firing alert. A rule and subject already firing is returned as it is.
    func fireAlert(_ finding: AlertFinding, now: Date) throws -> AlertRecord
    /// Updates a firing alert's words and, when `notified`, counts a notification sent now.
    func updateAlert(_ id: Int64, summary: String, value: String?, notified: Bool, now: Date) throws
    /// Marks a firing alert resolved now, counting its resolution notice.
    func resolveAlert(_ id: Int64, summary: String, now: Date) throws
}

/// Per connector and hour (or minute): what the rollups counted.
public struct RollupCounts: Sendable, Equatable {
    public var received = 0
    public var delivered = 0
    public var failed = 0
    public var dead = 0
    public var rejected = 0

    public init(received: Int = 0, delivered: Int = 0, failed: Int = 0, dead: Int = 0, rejected: Int = 0) {
        self.received = received
        self.delivered = delivered
        self.failed = failed
        self.dead = dead
        self.rejected = rejected
    }

    public static func + (a: Self, b: Self) -> Self {
        Self(received: a.received + b.received, delivered: a.delivered + b.delivered, failed: a.failed + b.failed,
             dead: a.dead + b.dead, rejected: a.rejected + b.rejected)
    }
}

/// A batch job's newest run and newest successful run.
public struct BatchJobRuns: Sendable, Equatable {
    public var job: String
    public var lastStartedAt: Int64?
    public var lastStatus: BatchRunStatus?
    public var lastSucceededAt: Int64?

    public init(job: String, lastStartedAt: Int64?, lastStatus: BatchRunStatus?, lastSucceededAt: Int64?) {
        self.job = job
        self.lastStartedAt = lastStartedAt
        self.lastStatus = lastStatus
        self.lastSucceededAt = lastSucceededAt
    }
}

/// The reads alert rules are evaluated from: counters and small indexed reads, never the event log.
public protocol AlertReading: Sendable {
    /// `throughput_hour` counts per connector for the given hour buckets (milliseconds / 3,600,000).
    func hourlyCounts(buckets: [Int64]) throws -> [Int64: [ConnectorID: RollupCounts]]
    /// `throughput_minute` counts per connector since the given minute bucket (inclusive).
    func minuteCounts(sinceMinute: Int64) throws -> [ConnectorID: RollupCounts]
    /// When the oldest waiting (pending or retrying) delivery of each sink with any was created.
    func oldestWaiting() throws -> [ConnectorID: Int64]
    /// Per batch job that has run.
    func batchJobRuns() throws -> [BatchJobRuns]
    /// Every connector with its deliveries by state.
    func connectorStatuses() throws -> [ConnectorStatus]
    func aging(asOf: String, by basis: AgingBasis) throws -> [CurrencyAging]
}
