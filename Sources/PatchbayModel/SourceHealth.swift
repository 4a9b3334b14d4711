import Foundation

/// Whether a source receives what it usually does at this time of the week.
public enum SourceActivity: String, Sendable, Codable, CaseIterable {
    /// About as much as usual, or more.
    case usual
    /// Well below usual: the sender may have stopped, or its webhooks may not reach the hub.
    case quiet
    /// Too little history (or too little usual traffic) to tell.
    case unknown
}

/// What a source (a webhook receiver or a batch job that publishes) shows: its traffic and whether
/// it is as busy as usual.
public struct SourceHealth: Sendable, Equatable {
    public var connectorId: ConnectorID
    /// Events received and webhooks refused since midnight UTC.
    public var receivedToday: Int
    public var refusedToday: Int
    /// The same in the window asked for (the dashboard's, or the last hour).
    public var receivedInWindow: Int
    public var refusedInWindow: Int
    /// When its last stored event arrived (ms), if it has one.
    public var lastReceivedAt: Int64?
    /// Events received in the last 60 minutes.
    public var lastHour: Int
    /// What the same 60 minutes of the week usually bring: the median over the previous weeks that
    /// have history; nil without enough of it.
    public var usual: Int?
    public var activity: SourceActivity

    public init(connectorId: ConnectorID, receivedToday: Int = 0, refusedToday: Int = 0, receivedInWindow: Int = 0,
                refusedInWindow: Int = 0, lastReceivedAt: Int64? = nil, lastHour: Int = 0, usual: Int? = nil,
                activity: SourceActivity = .unknown) {
        self.connectorId = connectorId
        self.receivedToday = receivedToday
        self.refusedToday = refusedToday
        self.receivedInWindow = receivedInWindow
        self.refusedInWindow = refusedInWindow
        self.lastReceivedAt = lastReceivedAt
        self.lastHour = lastHour
        self.usual = usual
        self.activity = activity
    }
}

/// The rule both backends apply to tell quiet from usual, from the rollups they keep.
///
/// The last 60 minutes (per-minute rollups) are compared with the same 60 minutes of the week in
/// each of the previous `weeks` weeks (hourly rollups; an hour bucket the window covers in part
/// counts for that part). A week counts only if the source's hourly history reaches back to it.
/// With at least `minimumWeeks` such weeks, the usual figure is their median; a source is quiet
/// when it received less than `quietFraction` of a usual figure of at least `minimumUsual`
/// events. Otherwise it is usual, or unknown when there is too little history or traffic to tell.
public enum SourceActivityRule {
    public static let weeks = 4
    public static let minimumWeeks = 2
    public static let minimumUsual = 10
    /// Quiet below a quarter of usual.
    public static let quietNumerator = 1
    public static let quietDenominator = 4

    static let minuteMs: Int64 = 60_000
    static let hourMs: Int64 = 3_600_000
    static let weekMs: Int64 = 7 * 86_400_000

    /// The last 60 minutes as minute buckets: `first...last` (the current minute included).
    public static func lastHourMinutes(now: Date) -> ClosedRange<Int64> {
        let current = now.millis / minuteMs
        return (current - 59)...current
    }

    /// The same 60 minutes, `k` weeks back, for k in 1...weeks: [start, end) in ms.
    public static func previousWindows(now: Date) -> [Range<Int64>] {
        let minutes = lastHourMinutes(now: now)
        let start = minutes.lowerBound * minuteMs
        let end = (minutes.upperBound + 1) * minuteMs
        return (1...Int64(weeks)).map { (start - $0 * weekMs)..<(end - $0 * weekMs) }
    }

    /// The hour buckets (`ms / 3_600_000`) the previous windows touch: what a backend reads.
    public static func hourBuckets(now: Date) -> [Int64] {
        var buckets: [Int64] = []
        for window in previousWindows(now: now) {
            for bucket in (window.lowerBound / hourMs)...((window.upperBound - 1) / hourMs) where !buckets.contains(bucket) {
                buckets.append(bucket)
            }
        }
        return buckets.sorted()
    }

    /// Received in `window`, from hourly counts: each hour bucket for the part of it the window covers.
    static func received(in window: Range<Int64>, hours: [Int64: Int]) -> Int {
        var weighted: Int64 = 0
        for bucket in (window.lowerBound / hourMs)...((window.upperBound - 1) / hourMs) {
            let start = bucket * hourMs
            let overlap = min(window.upperBound, start + hourMs) - max(window.lowerBound, start)
            weighted += Int64(hours[bucket] ?? 0) * overlap
        }
        return Int(weighted / hourMs)
    }

    /// Quiet, usual or unknown, and the usual figure, for a source that received `lastHour` events in
    /// the last 60 minutes, whose hourly counts are `hours` (bucket → received) and whose hourly
    /// history starts at bucket `firstHour` (nil: none).
    public static func assess(lastHour: Int, hours: [Int64: Int], firstHour: Int64?, now: Date)
        -> (activity: SourceActivity, usual: Int?)
    {
        guard let firstHour else { return (.unknown, nil) }
        let counted = previousWindows(now: now).filter { $0.lowerBound / hourMs >= firstHour }
        guard counted.count >= minimumWeeks else { return (.unknown, nil) }
        let values = counted.map { received(in: $0, hours: hours) }.sorted()
        let middle = values.count / 2
        let usual = values.count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2
        guard usual >= minimumUsual else { return (.unknown, usual) }
        let quiet = lastHour * quietDenominator < usual * quietNumerator
        return (quiet ? .quiet : .usual, usual)
    }
}

/// What a batch job shows: its last run, and whether an operator asked for one now.
public struct BatchJobHealth: Sendable, Equatable {
    public var connectorId: ConnectorID
    /// The job's name: its connector's.
    public var job: String
    /// The latest run (running, succeeded or failed), if it ever ran.
    public var lastRun: BatchRun?
    /// When a run was asked for and has not started yet (ms).
    public var runRequestedAt: Int64?

    public init(connectorId: ConnectorID, job: String, lastRun: BatchRun? = nil, runRequestedAt: Int64? = nil) {
        self.connectorId = connectorId
        self.job = job
        self.lastRun = lastRun
        self.runRequestedAt = runRequestedAt
    }

    /// A batch job: a source connector of the batch pattern, or one that has runs under its name.
    public static func isBatchJob(_ connector: Connector, hasRuns: Bool) -> Bool {
        connector.direction == .source && (connector.pattern == .batch || hasRuns)
    }
}

extension SourceHealth {
    /// Events received and webhooks refused by one source over a span.
    public typealias Counts = (received: Int, refused: Int)

    /// Every source's health from what a backend read: counts since midnight UTC (`today`) and in the
    /// window, the last 60 minutes' events (`lastHour`), the hourly counts of the previous weeks'
    /// same hour (`hours`), where each source's hourly history starts (`firstHour`) and when its last
    /// event arrived (`lastReceivedAt`). A source missing from a map has none of that. Both backends
    /// read the rows; this applies `SourceActivityRule` to them the same way.
    public static func assemble(
        sources: [ConnectorID], today: [ConnectorID: Counts], inWindow: [ConnectorID: Counts],
        lastHour: [ConnectorID: Int], hours: [ConnectorID: [Int64: Int]], firstHour: [ConnectorID: Int64],
        lastReceivedAt: [ConnectorID: Int64], now: Date
    ) -> [ConnectorID: SourceHealth] {
        var result: [ConnectorID: SourceHealth] = [:]
        for id in sources {
            let received = lastHour[id] ?? 0
            let (activity, usual) = SourceActivityRule.assess(
                lastHour: received, hours: hours[id] ?? [:], firstHour: firstHour[id], now: now)
            result[id] = SourceHealth(
                connectorId: id, receivedToday: today[id]?.received ?? 0, refusedToday: today[id]?.refused ?? 0,
                receivedInWindow: inWindow[id]?.received ?? 0, refusedInWindow: inWindow[id]?.refused ?? 0,
                lastReceivedAt: lastReceivedAt[id], lastHour: received, usual: usual, activity: activity)
        }
        return result
    }
}
