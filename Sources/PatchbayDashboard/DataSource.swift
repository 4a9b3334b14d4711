import Foundation
import PatchbayInsights
import PatchbayPostgres
import PatchbayStore

/// What the overview shows, read in one go.
public struct OverviewSnapshot: Sendable, Equatable {
    public var statuses: [ConnectorStatus]
    public var eventsToday: Int
    public var throughput: [ThroughputBucket]
    public var byConnector: [ConnectorID: [ThroughputBucket]]
    public var groups: [ErrorGroup]
    public var retryQueue: [FailedDelivery]
    public var aging: [CurrencyAging]
    /// Webhooks the hub refused today (bad signatures, malformed, too large).
    public var refusedToday: Int
    /// Alerts firing now, for the header.
    public var alertsFiring: Int

    public init(statuses: [ConnectorStatus], eventsToday: Int, throughput: [ThroughputBucket],
                byConnector: [ConnectorID: [ThroughputBucket]], groups: [ErrorGroup],
                retryQueue: [FailedDelivery], aging: [CurrencyAging], refusedToday: Int = 0, alertsFiring: Int = 0) {
        self.refusedToday = refusedToday
        self.alertsFiring = alertsFiring
        self.statuses = statuses
        self.eventsToday = eventsToday
        self.throughput = throughput
        self.byConnector = byConnector
        self.groups = groups
        self.retryQueue = retryQueue
        self.aging = aging
    }
}

/// What the map view shows, read in one go: the map and the advice computed from the same traffic.
public struct MapSnapshot: Sendable, Equatable {
    public var map: IntegrationMap
    public var advice: Advice

    public init(map: IntegrationMap, advice: Advice) {
        self.map = map
        self.advice = advice
    }
}

/// The reads the dashboard makes. Declared here, where it is used; the store conforms.
public protocol DashboardReading: Sendable {
    func overview(window: TimeWindow, now: Date) throws -> OverviewSnapshot
    func connectorRows(window: TimeWindow, now: Date) throws -> (statuses: [ConnectorStatus], series: [ConnectorID: [ThroughputBucket]])
    func failures(_ filter: FailureFilter, limit: Int) throws -> [FailedDelivery]
    func groups(connector: ConnectorID?) throws -> [ErrorGroup]
    func retries(limit: Int) throws -> [FailedDelivery]
    func eventPage(_ filter: EventFilter, before: EventID?, limit: Int) throws -> EventPage
    func event(_ id: EventID) throws -> EventDetail?
    func agingReport(asOf: String, by: AgingBasis) throws -> [CurrencyAging]
    func customerInvoices(customer: String, currency: String) throws -> [Invoice]
    /// The integration map and its advice over the last `days` days of traffic. Slow (it reads days of
    /// rollups): the map view calls it when it opens and then every few minutes, never per frame.
    func mapSnapshot(now: Date, days: Int) throws -> MapSnapshot
    /// Money at risk in failing deliveries, per connector and error group, per currency. Reads every
    /// failing delivery's payload (about 0.4 s for 100,000 on SQLite): the dashboard asks for it at
    /// most every `DashboardState.moneyRefresh` seconds, never per frame.
    func moneyAtRisk() throws -> MoneyAtRiskReport
    /// Sources' traffic in the window and today, and batch jobs' last runs, for the connectors view.
    func connectorHealth(window: TimeWindow, now: Date) throws -> ConnectorHealthSnapshot
    /// The alerts view: firing alerts first, then the newest resolved, at most `limit`.
    func alerts(limit: Int) throws -> [AlertRecord]
}

/// What the connectors view shows of sources, batch jobs and SaaS connections.
public struct ConnectorHealthSnapshot: Sendable, Equatable {
    public var sources: [ConnectorID: SourceHealth]
    public var jobs: [ConnectorID: BatchJobHealth]
    /// The last quota reading of connectors to rate-limited APIs (Xero's daily limit).
    public var quotas: [ConnectorID: APIQuota]
    /// The OAuth token state of connectors with `auth: oauth2`, without the tokens.
    public var tokens: [ConnectorID: TokenState]

    public init(sources: [ConnectorID: SourceHealth] = [:], jobs: [ConnectorID: BatchJobHealth] = [:],
                quotas: [ConnectorID: APIQuota] = [:], tokens: [ConnectorID: TokenState] = [:]) {
        self.sources = sources
        self.jobs = jobs
        self.quotas = quotas
        self.tokens = tokens
    }
}

/// What the dashboard shows of a connector's OAuth tokens: never a token, only their state.
public struct TokenState: Sendable, Equatable {
    public var accessExpiresAt: Int64?
    public var hasAccessToken: Bool
    public var hasRefreshToken: Bool
    /// When the tokens were last written (a refresh or a sign-in).
    public var updatedAt: Int64
    /// How many refreshes were committed.
    public var version: Int64
    public var lastError: String?

    public init(accessExpiresAt: Int64?, hasAccessToken: Bool, hasRefreshToken: Bool, updatedAt: Int64, version: Int64,
                lastError: String?) {
        self.accessExpiresAt = accessExpiresAt
        self.hasAccessToken = hasAccessToken
        self.hasRefreshToken = hasRefreshToken
        self.updatedAt = updatedAt
        self.version = version
        self.lastError = lastError
    }

    public init(_ record: OAuthTokenRecord) {
        self.init(accessExpiresAt: record.accessExpiresAt, hasAccessToken: record.accessToken != nil,
                  hasRefreshToken: record.refreshToken != nil, updatedAt: record.updatedAt, version: record.version,
                  lastError: record.lastError)
    }
}

/// The writes an operator makes from the dashboard.
public protocol DashboardActing: Sendable {
    func requeue(_ ids: [DeliveryID]) throws -> OperatorResult
    func requeue(matching filter: FailureFilter) throws -> OperatorResult
    func discardDeliveries(_ ids: [DeliveryID]) throws -> OperatorResult
    func pause(_ connector: String, paused: Bool) throws -> Bool
    func countFailing(_ filter: FailureFilter) throws -> Int
    /// Sends the events `filter` matches to the sink `connector` again (`:replay to=…` from the event
    /// history); `dryRun` only counts, for the confirmation.
    func replay(_ filter: ReplayFilter, to connector: String, dryRun: Bool) throws -> ReplayResult
    /// Asks the hub to run a batch job now (`x`).
    func requestRun(_ job: String) throws
}

/// The time windows of the throughput panel, with the bucket each is drawn in.
public enum TimeWindow: Int, CaseIterable, Sendable {
    case fifteenMinutes, hour, sixHours, day, week

    public var seconds: TimeInterval {
        switch self {
        case .fifteenMinutes: return 900
        case .hour: return 3600
        case .sixHours: return 21_600
        case .day: return 86_400
        case .week: return 604_800
        }
    }

    public var bucket: TimeInterval {
        switch self {
        case .fifteenMinutes, .hour: return 60
        case .sixHours: return 300
        case .day: return 900
        case .week: return 7200
        }
    }

    public var label: String {
        switch self {
        case .fifteenMinutes: return "15m"
        case .hour: return "1h"
        case .sixHours: return "6h"
        case .day: return "24h"
        case .week: return "7d"
        }
    }

    public var wider: TimeWindow { TimeWindow(rawValue: rawValue + 1) ?? self }
    public var narrower: TimeWindow { TimeWindow(rawValue: rawValue - 1) ?? self }
}

/// What a backend offers for the dashboard to be built on: its reads and the operator's actions.
/// Both stores conform (SQLite's `Store`, `PostgresStore`), and the dashboard's reads and actions
/// below are written once over these.
public protocol DashboardBacking: DashboardReading, DashboardActing, OperatorActions, TrafficReading, HealthReading,
    BatchRunRequests, QuotaLedger, TokenVault {
    func connectorStatuses() throws -> [ConnectorStatus]
    func receivedCount(since date: Date) throws -> Int
    func rejectedCount(since: Date) throws -> Int
    func throughput(window: TimeInterval, bucket: TimeInterval, connector: ConnectorID?, now: Date) throws
        -> [ThroughputBucket]
    func throughputByConnector(window: TimeInterval, bucket: TimeInterval, now: Date) throws
        -> [ConnectorID: [ThroughputBucket]]
    func errorGroups(connector: ConnectorID?, limit: Int) throws -> [ErrorGroup]
    func retryQueue(connector: ConnectorID?, limit: Int, after cursor: (nextAttemptAt: Int64, id: DeliveryID)?) throws
        -> [FailedDelivery]
    func failedDeliveries(_ filter: FailureFilter, limit: Int, before cursor: FailureCursor?) throws -> [FailedDelivery]
    func failingCount(_ filter: FailureFilter) throws -> Int
    func events(_ filter: EventFilter, limit: Int, before: EventID?, textBudget: TextSearchBudget) throws -> EventPage
    func eventDetail(_ id: EventID) throws -> EventDetail?
    func agingCached(asOf: String, by basis: AgingBasis) throws -> [CurrencyAging]
    func openInvoices(customer: String, currency: String?) throws -> [Invoice]
    func firingAlerts() throws -> [AlertRecord]
    func recentAlerts(limit: Int) throws -> [AlertRecord]
}

extension Store: DashboardBacking {}
extension PostgresStore: DashboardBacking {}

extension DashboardBacking {
    public func overview(window: TimeWindow, now: Date) throws -> OverviewSnapshot {
        let midnight = now.startOfUTCDay
        return OverviewSnapshot(
            statuses: try connectorStatuses(),
            eventsToday: try receivedCount(since: midnight),
            throughput: try throughput(window: window.seconds, bucket: window.bucket, connector: nil, now: now),
            byConnector: try throughputByConnector(window: window.seconds, bucket: window.bucket, now: now),
            groups: try errorGroups(connector: nil, limit: 50),
            retryQueue: try retryQueue(connector: nil, limit: 50, after: nil),
            aging: try agingCached(asOf: now.isoDay, by: .due),
            refusedToday: try rejectedCount(since: midnight),
            alertsFiring: try firingAlerts().count)
    }

    public func connectorRows(window: TimeWindow, now: Date) throws
        -> (statuses: [ConnectorStatus], series: [ConnectorID: [ThroughputBucket]])
    {
        (try connectorStatuses(), try throughputByConnector(window: window.seconds, bucket: window.bucket, now: now))
    }

    public func failures(_ filter: FailureFilter, limit: Int) throws -> [FailedDelivery] {
        try failedDeliveries(filter, limit: limit, before: nil)
    }

    public func groups(connector: ConnectorID?) throws -> [ErrorGroup] {
        try errorGroups(connector: connector, limit: 500)
    }

    public func retries(limit: Int) throws -> [FailedDelivery] { try retryQueue(connector: nil, limit: limit, after: nil) }

    public func eventPage(_ filter: EventFilter, before: EventID?, limit: Int) throws -> EventPage {
        try events(filter, limit: limit, before: before, textBudget: .standard)
    }

    public func event(_ id: EventID) throws -> EventDetail? { try eventDetail(id) }

    public func agingReport(asOf: String, by: AgingBasis) throws -> [CurrencyAging] {
        try agingCached(asOf: asOf, by: by)
    }

    public func customerInvoices(customer: String, currency: String) throws -> [Invoice] {
        try openInvoices(customer: customer, currency: currency)
    }

    public func requeue(_ ids: [DeliveryID]) throws -> OperatorResult { try retry(ids, reason: "requeued from the dashboard") }

    public func requeue(matching filter: FailureFilter) throws -> OperatorResult {
        try retry(matching: filter, reason: "requeued from the dashboard (bulk)")
    }

    public func discardDeliveries(_ ids: [DeliveryID]) throws -> OperatorResult {
        try discard(ids, reason: "discarded from the dashboard")
    }

    public func pause(_ connector: String, paused: Bool) throws -> Bool {
        try setPaused(connector, paused: paused, reason: paused ? "paused from the dashboard" : nil)
    }

    public func countFailing(_ filter: FailureFilter) throws -> Int { try failingCount(filter) }

    public func replay(_ filter: ReplayFilter, to connector: String, dryRun: Bool) throws -> ReplayResult {
        try replay(filter, to: connector, reason: "replayed from the dashboard", dryRun: dryRun, now: Date())
    }

    public func moneyAtRisk() throws -> MoneyAtRiskReport { try moneyAtRiskReport() }

    public func alerts(limit: Int) throws -> [AlertRecord] { try recentAlerts(limit: limit) }

    public func requestRun(_ job: String) throws { try requestBatchRun(job: job, now: Date()) }

    public func connectorHealth(window: TimeWindow, now: Date) throws -> ConnectorHealthSnapshot {
        ConnectorHealthSnapshot(
            sources: try sourceHealth(window: window.seconds, now: now), jobs: try batchJobHealth(),
            quotas: Dictionary(try quotas().map { ($0.connector, $0) }, uniquingKeysWith: { a, b in a.observedAt >= b.observedAt ? a : b }),
            tokens: Dictionary(try oauthTokens().map { ($0.connector, TokenState($0)) }, uniquingKeysWith: { a, _ in a }))
    }

    /// One traffic read serves both: the map of the last `days` days, and the advice, whose growth
    /// trends read the retained history's hourly rollups (up to `mapHistoryDays`). The advisor uses
    /// its default thresholds: the dashboard does not read the hub's configuration.
    public func mapSnapshot(now: Date, days: Int) throws -> MapSnapshot {
        let traffic = try trafficSnapshot(now: now, days: days, historyDays: mapHistoryDays)
        return MapSnapshot(map: IntegrationMap.build(from: traffic), advice: Advisor().advise(traffic))
    }
}

/// Days of hourly rollups the advisor's growth trends read.
let mapHistoryDays = 90
