import Foundation

/// The measured traffic of an installation, read in one go: what the integration map and the
/// pattern advisor (PatchbayInsights) are computed from.
///
/// Volumes come from the hourly rollup (`throughput_hour`), never from the log; routes and delivery
/// latency from the newest deliveries of each sink within the window (a bounded sample); batch
/// activity from `batch_runs`. Times are milliseconds since 1970, UTC.
public struct TrafficSnapshot: Sendable, Equatable {
    /// When it was read.
    public var now: Int64
    /// Days the averages are taken over (the window).
    public var windowDays: Int
    /// Days of hourly rollups read for trends (the retained history, at most what was asked for).
    public var historyDays: Int
    /// Every connector, with `orphaned` health where the configuration no longer names it.
    public var connectors: [Connector]
    /// Per connector with any counted traffic in the history.
    public var traffic: [ConnectorTraffic]
    /// Measured routes: source connector → sink connector, per topic, within the window.
    public var routes: [Route]
    /// Delivery latency per (source, sink), within the window.
    public var latencies: [RouteLatency]
    /// Batch runs per job, within the window.
    public var batchJobs: [BatchJobActivity]

    public init(now: Int64, windowDays: Int, historyDays: Int, connectors: [Connector], traffic: [ConnectorTraffic],
                routes: [Route], latencies: [RouteLatency], batchJobs: [BatchJobActivity]) {
        self.now = now
        self.windowDays = windowDays
        self.historyDays = historyDays
        self.connectors = connectors
        self.traffic = traffic
        self.routes = routes
        self.latencies = latencies
        self.batchJobs = batchJobs
    }

    /// One day's counts of a connector (the day starts at midnight UTC).
    public struct DailyVolume: Sendable, Equatable {
        public var dayStart: Int64
        public var received: Int
        public var delivered: Int
        public var failed: Int
        public var dead: Int

        public init(dayStart: Int64, received: Int = 0, delivered: Int = 0, failed: Int = 0, dead: Int = 0) {
            self.dayStart = dayStart
            self.received = received
            self.delivered = delivered
            self.failed = failed
            self.dead = dead
        }

        /// What the connector carried that day: received for a source, delivered or dead-lettered
        /// for a sink (each routed event ends in one of those once).
        public func carried(as direction: ConnectorDirection) -> Int {
            direction == .source ? received : delivered + dead
        }
    }

    /// A connector's counts from `throughput_hour`.
    public struct ConnectorTraffic: Sendable, Equatable {
        public var connector: ConnectorID
        /// Oldest first, one entry per day with any count, over the history.
        public var daily: [DailyVolume]
        /// Sums over the window.
        public var windowReceived: Int
        public var windowDelivered: Int
        public var windowFailed: Int
        public var windowDead: Int
        /// The window's busiest hour (by what the connector carried) and its count.
        public var peakHourStart: Int64?
        public var peakHourEvents: Int
        /// The first hour with any count in the history.
        public var firstActivity: Int64?

        public init(connector: ConnectorID, daily: [DailyVolume], windowReceived: Int, windowDelivered: Int,
                    windowFailed: Int, windowDead: Int, peakHourStart: Int64?, peakHourEvents: Int,
                    firstActivity: Int64?) {
            self.connector = connector
            self.daily = daily
            self.windowReceived = windowReceived
            self.windowDelivered = windowDelivered
            self.windowFailed = windowFailed
            self.windowDead = windowDead
            self.peakHourStart = peakHourStart
            self.peakHourEvents = peakHourEvents
            self.firstActivity = firstActivity
        }
    }

    /// Deliveries of one topic from one source connector to one sink connector in the window.
    public struct Route: Sendable, Equatable {
        public var source: ConnectorID
        public var sink: ConnectorID
        public var topic: String
        /// Deliveries counted (in the sample when `sampled`).
        public var deliveries: Int
        public var delivered: Int
        /// Retrying or dead now.
        public var failing: Int
        /// True when the sink had more deliveries in the window than the sample read: the counts
        /// are then shares of the newest ones, and volumes come from the rollup.
        public var sampled: Bool

        public init(source: ConnectorID, sink: ConnectorID, topic: String, deliveries: Int, delivered: Int,
                    failing: Int, sampled: Bool) {
            self.source = source
            self.sink = sink
            self.topic = topic
            self.deliveries = deliveries
            self.delivered = delivered
            self.failing = failing
            self.sampled = sampled
        }
    }

    /// Receipt to delivery, for delivered deliveries of a route.
    public struct RouteLatency: Sendable, Equatable {
        public var source: ConnectorID
        public var sink: ConnectorID
        public var p50Ms: Int64
        public var p95Ms: Int64
        public var samples: Int

        public init(source: ConnectorID, sink: ConnectorID, p50Ms: Int64, p95Ms: Int64, samples: Int) {
            self.source = source
            self.sink = sink
            self.p50Ms = p50Ms
            self.p95Ms = p95Ms
            self.samples = samples
        }
    }

    /// The runs of one batch job in the window.
    public struct BatchJobActivity: Sendable, Equatable {
        public var job: String
        public var connector: ConnectorID?
        public var runs: Int
        public var failedRuns: Int
        public var rowsLoaded: Int
        public var firstStartedAt: Int64
        public var lastStartedAt: Int64
        /// Median time between consecutive runs' starts; nil with fewer than two runs.
        public var medianIntervalMs: Int64?

        public init(job: String, connector: ConnectorID?, runs: Int, failedRuns: Int, rowsLoaded: Int,
                    firstStartedAt: Int64, lastStartedAt: Int64, medianIntervalMs: Int64?) {
            self.job = job
            self.connector = connector
            self.runs = runs
            self.failedRuns = failedRuns
            self.rowsLoaded = rowsLoaded
            self.firstStartedAt = firstStartedAt
            self.lastStartedAt = lastStartedAt
            self.medianIntervalMs = medianIntervalMs
        }
    }

    /// Deliveries read per sink connector for routes and latency: the newest in the window (every
    /// backend reads the same sample).
    public static let sampleLimit = 20_000

    /// The nearest-rank percentile of sorted values (0 for none): how every backend computes the
    /// latency percentiles and the batch jobs' median interval.
    public static func percentile(_ sorted: [Int64], _ p: Double) -> Int64 {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    /// Per topic, the sink connectors it reached in the window (fan-out), sorted by topic.
    public var fanOut: [(topic: String, sinks: [ConnectorID])] {
        var byTopic: [String: Set<ConnectorID>] = [:]
        for route in routes { byTopic[route.topic, default: []].insert(route.sink) }
        return byTopic.keys.sorted().map { ($0, byTopic[$0]!.sorted()) }
    }
}
