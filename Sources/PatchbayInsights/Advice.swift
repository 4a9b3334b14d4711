import Foundation
import PatchbayStore

/// What the pattern advisor recommends, for the whole installation and for each integration.
///
/// Every recommendation carries the measured figures it rests on and a reason that names them, so
/// an operator can check it ("5 systems wired directly: 10 possible integrations, 7 configured;
/// 3,800 events/day → hub-and-spoke"). Pure data: `Advisor(thresholds:).advise(_:)` builds it.
public struct Advice: Sendable, Equatable {
    /// The installation as a whole.
    public var installation: Recommendation
    /// One per integration (map edge), and one per batch job; ordered as the map's edges, then jobs.
    public var integrations: [Recommendation]
    /// The thresholds the advice was computed with.
    public var thresholds: AdvisorThresholds
    /// When the figures were read (milliseconds since 1970, UTC).
    public var generatedAt: Int64
    /// Days of history the volumes and trends were read from.
    public var historyDays: Int

    public init(installation: Recommendation, integrations: [Recommendation], thresholds: AdvisorThresholds,
                generatedAt: Int64, historyDays: Int) {
        self.installation = installation
        self.integrations = integrations
        self.thresholds = thresholds
        self.generatedAt = generatedAt
        self.historyDays = historyDays
    }

    /// What kind of change a recommendation asks for.
    public enum Verdict: String, Sendable, Equatable {
        /// The current pattern fits the traffic.
        case keep
        /// Move to `recommended`.
        case change
        /// Keep the pattern but remove the single point of failure (a second hub node).
        case addRedundancy = "add_redundancy"
        /// Too little traffic measured to say.
        case insufficientData = "insufficient_data"
    }

    /// One recommendation: for the installation (`subject` "installation", `edgeID` nil), an
    /// integration (`edgeID` is the map edge's id) or a batch job (`edgeID` nil, `subject` the job).
    public struct Recommendation: Sendable, Equatable {
        public var subject: String
        /// The map edge this is about, if any.
        public var edgeID: String?
        /// The pattern in use now (the configured one, or for the installation the one most of its
        /// traffic uses).
        public var current: IntegrationPattern
        /// The pattern the rules recommend for the measured traffic.
        public var recommended: IntegrationPattern
        public var verdict: Verdict
        /// One sentence naming the figures: "… → hub-and-spoke".
        public var reason: String
        /// The figures the reason rests on, each with where it was measured.
        public var figures: [Figure]
        /// Connections to maintain now and after the change (installation and point-to-point only).
        public var cost: ConnectionCost?
        /// The volume's trend over the retained history and when it crosses the next threshold.
        public var growth: Growth?

        public init(subject: String, edgeID: String?, current: IntegrationPattern, recommended: IntegrationPattern,
                    verdict: Verdict, reason: String, figures: [Figure], cost: ConnectionCost?, growth: Growth?) {
            self.subject = subject
            self.edgeID = edgeID
            self.current = current
            self.recommended = recommended
            self.verdict = verdict
            self.reason = reason
            self.figures = figures
            self.cost = cost
            self.growth = growth
        }
    }

    /// One measured figure: "events_per_day = 3,800 (throughput_hour, 7-day average)".
    public struct Figure: Sendable, Equatable {
        /// snake_case name with its unit, e.g. `events_per_day`, `systems`, `p95_latency_ms`,
        /// `failure_rate_basis_points`. Values are whole numbers in that unit.
        public var name: String
        public var value: Double
        /// Where it comes from, e.g. "throughput_hour, 7-day average".
        public var source: String

        public init(name: String, value: Double, source: String) {
            self.name = name
            self.value = value
            self.source = source
        }
    }

    /// What wiring systems costs, in integrations to maintain.
    public struct ConnectionCost: Sendable, Equatable {
        /// Systems connected.
        public var systems: Int
        /// N(N−1)/2: integrations possible when every system is wired to every other directly.
        public var possibleIntegrations: Int
        /// Integrations configured (distinct system pairs with traffic or a route).
        public var configuredIntegrations: Int
        /// Connections a new system adds with the current pattern (N for point-to-point, 1 via a hub).
        public var perNewSystemNow: Int
        /// Connections a new system adds with the recommended pattern.
        public var perNewSystemRecommended: Int
        /// Connections to maintain now (point-to-point: integrations configured; hub: systems).
        public var connectionsNow: Int
        /// Connections to maintain with the recommended pattern.
        public var connectionsRecommended: Int
        /// "a 6th system adds 5 integrations wired directly, 1 through the hub".
        public var summary: String

        public init(systems: Int, possibleIntegrations: Int, configuredIntegrations: Int, perNewSystemNow: Int,
                    perNewSystemRecommended: Int, connectionsNow: Int, connectionsRecommended: Int, summary: String) {
            self.systems = systems
            self.possibleIntegrations = possibleIntegrations
            self.configuredIntegrations = configuredIntegrations
            self.perNewSystemNow = perNewSystemNow
            self.perNewSystemRecommended = perNewSystemRecommended
            self.connectionsNow = connectionsNow
            self.connectionsRecommended = connectionsRecommended
            self.summary = summary
        }
    }

    /// A least-squares trend of daily volume over the retained history.
    public struct Growth: Sendable, Equatable {
        public enum Trend: String, Sendable, Equatable {
            case growing, flat, shrinking
            /// Fewer days of history than `AdvisorThresholds.growthMinDays`: no trend claimed.
            case tooShort = "too_short"
        }
        public var trend: Trend
        /// Days of history the fit used.
        public var days: Int
        /// The fitted volume today, events/day.
        public var eventsPerDayNow: Double
        /// Fitted change per week relative to today's fitted volume, in percent (nil when too short).
        public var weeklyGrowthPercent: Double?
        /// The next threshold above today's volume (events/day), if any.
        public var nextThreshold: Double?
        /// Weeks until the trend crosses `nextThreshold`; nil when not growing or no threshold.
        public var weeksToThreshold: Double?
        /// "at +12 %/week, crosses 50,000/day in about 9 weeks", or why no claim is made.
        public var summary: String

        public init(trend: Trend, days: Int, eventsPerDayNow: Double, weeklyGrowthPercent: Double?,
                    nextThreshold: Double?, weeksToThreshold: Double?, summary: String) {
            self.trend = trend
            self.days = days
            self.eventsPerDayNow = eventsPerDayNow
            self.weeklyGrowthPercent = weeklyGrowthPercent
            self.nextThreshold = nextThreshold
            self.weeksToThreshold = weeksToThreshold
            self.summary = summary
        }
    }
}

/// The rules of thumb, as numbers. The defaults are the well-known ones; `advisor:` in
/// patchbay.yaml overrides any of them.
public struct AdvisorThresholds: Sendable, Equatable {
    /// Point-to-point suits up to this many systems (2–3).
    public var pointToPointMaxSystems: Int = 3
    /// … and under this many events a day.
    public var pointToPointMaxEventsPerDay: Double = 1_000
    /// Hub-and-spoke suits up to this many systems (4–8); beyond, event-driven.
    public var hubMaxSystems: Int = 8
    /// At and above this many events a day, event-driven.
    public var eventDrivenMinEventsPerDay: Double = 50_000
    /// One event reaching this many targets in parallel is a fan-out (event-driven candidate).
    public var fanOutMinTargets: Int = 3
    /// A target whose p95 delivery latency is at most this is treated as needing events in seconds.
    public var realtimeLatencyMs: Int64 = 5_000
    /// Batch latency: runs at most this often are batch-shaped (15–60 minutes at best).
    public var batchMinIntervalMinutes: Double = 15
    /// A single hub node above this many events a day should get a second node.
    public var redundancyMinEventsPerDay: Double = 50_000
    /// Days of history a growth trend needs before it is claimed.
    public var growthMinDays: Int = 7
    /// Weekly growth within ±this percent is flat.
    public var flatGrowthPercent: Double = 2
    /// A crossing further away than this many weeks is not claimed (a line drawn through a small
    /// volume reaches anything eventually).
    public var growthHorizonWeeks: Double = 104

    public init() {}

    public static let defaults = AdvisorThresholds()
}
