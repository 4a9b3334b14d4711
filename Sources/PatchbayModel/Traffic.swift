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

extension TrafficSnapshot {
    /// A snapshot assembled from the rows every backend reads: hourly rollup rows, each sink's
    /// newest deliveries, the window's batch runs. The backends keep their SQL and decoding; the
    /// sums, the peak hour, the percentiles and the order of every list are decided here, once, so
    /// that the same rows make the same snapshot on each.
    public struct Builder: Sendable {
        public let now: Int64
        public let windowDays: Int
        public let historyDays: Int
        public let connectors: [Connector]
        /// The window's first millisecond: sums, routes and batch runs count from here.
        public let windowStart: Int64
        /// The history's first millisecond: daily volumes count from here.
        public let historyStart: Int64
        private let directions: [ConnectorID: ConnectorDirection]
        private var perConnector: [ConnectorID: (daily: [Int64: DailyVolume], traffic: ConnectorTraffic)] = [:]
        private var routes: [Route] = []
        private var latencies: [RouteLatency] = []
        private var byJob: [String: BatchJobActivity] = [:]
        private var starts: [String: [Int64]] = [:]

        /// At least one day of window, and at least the window of history.
        public init(now: Int64, days: Int, historyDays: Int, connectors: [Connector]) {
            self.now = now
            windowDays = max(1, days)
            self.historyDays = max(windowDays, historyDays)
            self.connectors = connectors
            windowStart = now - Int64(windowDays) * 86_400_000
            historyStart = now - Int64(self.historyDays) * 86_400_000
            directions = Dictionary(uniqueKeysWithValues: connectors.map { ($0.id, $0.direction) })
        }

        /// The `throughput_hour` buckets to read, both ends included.
        public var hourBuckets: ClosedRange<Int64> { historyStart / 3_600_000...now / 3_600_000 }

        /// The connectors whose deliveries are sampled, in the order given: routes come out in it.
        public var sinks: [Connector] { connectors.filter { $0.direction == .sink } }

        /// One `throughput_hour` row. Rows come in key order (bucket, then connector): of equal
        /// hours, the first is the peak.
        public mutating func addHour(bucket: Int64, connector: ConnectorID, received: Int, delivered: Int,
                                     failed: Int, dead: Int) {
            if received + delivered + failed + dead == 0 { return }
            let hourStart = bucket * 3_600_000
            let dayStart = hourStart / 86_400_000 * 86_400_000
            var entry = perConnector[connector] ?? ([:], ConnectorTraffic(
                connector: connector, daily: [], windowReceived: 0, windowDelivered: 0, windowFailed: 0,
                windowDead: 0, peakHourStart: nil, peakHourEvents: 0, firstActivity: nil))
            var day = entry.daily[dayStart] ?? DailyVolume(dayStart: dayStart)
            day.received += received
            day.delivered += delivered
            day.failed += failed
            day.dead += dead
            entry.daily[dayStart] = day
            entry.traffic.firstActivity = min(entry.traffic.firstActivity ?? hourStart, hourStart)
            if hourStart + 3_600_000 > windowStart {
                entry.traffic.windowReceived += received
                entry.traffic.windowDelivered += delivered
                entry.traffic.windowFailed += failed
                entry.traffic.windowDead += dead
                let carried = directions[connector] == .source ? received : delivered + dead
                if carried > entry.traffic.peakHourEvents {
                    entry.traffic.peakHourEvents = carried
                    entry.traffic.peakHourStart = hourStart
                }
            }
            perConnector[connector] = entry
        }

        /// The routes and latencies one sink's sample makes; add the sinks in the order of `sinks`.
        public mutating func add(_ sample: SinkSample) {
            let sampled = sample.read >= TrafficSnapshot.sampleLimit
            for source in sample.counts.keys.sorted() {
                for topic in sample.counts[source]!.keys.sorted() {
                    let count = sample.counts[source]![topic]!
                    routes.append(Route(source: source, sink: sample.sink, topic: topic, deliveries: count.n,
                                        delivered: count.delivered, failing: count.failing, sampled: sampled))
                }
            }
            for source in sample.waits.keys.sorted() {
                let sorted = sample.waits[source]!.sorted()
                latencies.append(RouteLatency(source: source, sink: sample.sink,
                                              p50Ms: TrafficSnapshot.percentile(sorted, 0.50),
                                              p95Ms: TrafficSnapshot.percentile(sorted, 0.95), samples: sorted.count))
            }
        }

        /// One batch run of the window. Runs come ordered by job, then start: the intervals are
        /// taken between consecutive rows.
        public mutating func addBatchRun(job: String, connector: ConnectorID?, startedAt started: Int64, status: String,
                                         rowsLoaded loaded: Int) {
            var activity = byJob[job] ?? BatchJobActivity(
                job: job, connector: connector, runs: 0, failedRuns: 0, rowsLoaded: 0, firstStartedAt: started,
                lastStartedAt: started, medianIntervalMs: nil)
            activity.connector = activity.connector ?? connector
            activity.runs += 1
            activity.failedRuns += status == "failed" ? 1 : 0
            activity.rowsLoaded += loaded
            activity.lastStartedAt = max(activity.lastStartedAt, started)
            byJob[job] = activity
            starts[job, default: []].append(started)
        }

        public func build() -> TrafficSnapshot {
            let traffic = perConnector.keys.sorted().map { id -> ConnectorTraffic in
                var entry = perConnector[id]!
                entry.traffic.daily = entry.daily.keys.sorted().map { entry.daily[$0]! }
                return entry.traffic
            }
            var batchJobs: [BatchJobActivity] = []
            for job in byJob.keys.sorted() {
                var activity = byJob[job]!
                let times = starts[job]!
                if times.count >= 2 {
                    let gaps = zip(times.dropFirst(), times).map { $0 - $1 }.sorted()
                    activity.medianIntervalMs = TrafficSnapshot.percentile(gaps, 0.5)
                }
                batchJobs.append(activity)
            }
            // The history actually retained: from the first hour with any count, at most what was asked.
            let oldest = traffic.compactMap(\.firstActivity).min()
            let retained = oldest.map { Int(min(Int64(historyDays), (now - $0) / 86_400_000 + 1)) } ?? 0
            return TrafficSnapshot(now: now, windowDays: windowDays, historyDays: retained, connectors: connectors,
                                   traffic: traffic, routes: routes, latencies: latencies, batchJobs: batchJobs)
        }
    }

    /// One sink's newest deliveries in the window (at most `sampleLimit`), counted per source and
    /// topic as they are read, so a backend can stream them.
    public struct SinkSample: Sendable {
        public let sink: ConnectorID
        fileprivate var counts: [ConnectorID: [String: (n: Int, delivered: Int, failing: Int)]] = [:]
        fileprivate var waits: [ConnectorID: [Int64]] = [:]
        fileprivate var read = 0

        public init(sink: ConnectorID) { self.sink = sink }

        /// One delivery: its event's source and topic, its state, and receipt to its last update.
        public mutating func add(source: ConnectorID, topic: String, state: String, waitMs: Int64) {
            read += 1
            var count = counts[source, default: [:]][topic] ?? (0, 0, 0)
            count.n += 1
            if state == "delivered" {
                count.delivered += 1
                waits[source, default: []].append(max(0, waitMs))
            } else if state == "retrying" || state == "dead" {
                count.failing += 1
            }
            counts[source, default: [:]][topic] = count
        }
    }
}
