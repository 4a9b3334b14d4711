import Foundation
import PatchbayStore

/// The systems an installation connects and the integrations between them, from measured traffic.
///
/// Nodes are systems (the `system:` of each connector) plus the Patchbay hub itself. An edge is one
/// integration: events from a source system reaching a target system. Every event physically passes
/// through Patchbay; an edge whose pattern is `hub` or `event` is drawn *through* the hub node
/// (`via` is the hub's id), a `point_to_point` or `batch` edge is drawn directly between the two
/// systems. Figures are measured over the snapshot's window (7 days by default). Pure data: build
/// it with `IntegrationMap.build(from:)`.
public struct IntegrationMap: Sendable, Equatable {
    /// Systems first (sorted by name), then the hub.
    public var nodes: [Node]
    /// Sorted by source system, then target system.
    public var edges: [Edge]
    /// When the figures were read (milliseconds since 1970, UTC).
    public var generatedAt: Int64
    /// Days the volumes are averaged over.
    public var windowDays: Int

    public init(nodes: [Node], edges: [Edge], generatedAt: Int64, windowDays: Int) {
        self.nodes = nodes
        self.edges = edges
        self.generatedAt = generatedAt
        self.windowDays = windowDays
    }

    /// The node id of the Patchbay hub.
    public static let hubID = "patchbay"

    public func node(_ id: String) -> Node? { nodes.first { $0.id == id } }
    public func edges(touching nodeID: String) -> [Edge] {
        edges.filter { $0.from == nodeID || $0.to == nodeID || $0.via == nodeID }
    }

    /// A system, or the hub.
    public struct Node: Sendable, Equatable, Identifiable {
        public enum Kind: String, Sendable, Equatable { case system, hub }
        /// The system's name as configured (`system:`), or `IntegrationMap.hubID` for the hub.
        public var id: String
        public var kind: Kind
        /// The connectors that belong to this system, by name, sorted.
        public var connectors: [String]
        /// Worst health of its connectors (the hub: worst of all connectors).
        public var health: ConnectorHealth
        /// Events per day in and out of this node (7-day average), summed over its edges.
        public var eventsPerDay: Double

        public init(id: String, kind: Kind, connectors: [String], health: ConnectorHealth, eventsPerDay: Double) {
            self.id = id
            self.kind = kind
            self.connectors = connectors
            self.health = health
            self.eventsPerDay = eventsPerDay
        }
    }

    /// Whether the opposite edge (target back to source) exists too.
    public enum Direction: String, Sendable, Equatable {
        /// Events flow from `from` to `to` only.
        case oneWay = "one_way"
        /// Events also flow from `to` back to `from` (a separate edge carries them).
        case twoWay = "two_way"
    }

    /// One integration: events of `sourceConnector` (system `from`) delivered to `sinkConnector`
    /// (system `to`).
    public struct Edge: Sendable, Equatable, Identifiable {
        /// "SOURCE_CONNECTOR->SINK_CONNECTOR": stable across reads.
        public var id: String
        /// Source system (node id).
        public var from: String
        /// Target system (node id).
        public var to: String
        /// `IntegrationMap.hubID` when the edge passes through the hub (pattern hub or event), else nil.
        public var via: String?
        /// The source connector's name.
        public var sourceConnector: String
        /// The sink connector's name.
        public var sinkConnector: String
        /// Both, for listing: `[sourceConnector, sinkConnector]`.
        public var connectors: [String] { [sourceConnector, sinkConnector] }
        /// The topics seen on this route in the window, sorted.
        public var topics: [String]
        /// The pattern configured for the sink connector (the integration's pattern).
        public var pattern: IntegrationPattern
        public var direction: Direction
        /// Events delivered (or attempted) per day on this route, averaged over the window.
        public var eventsPerDay: Double
        /// The busiest hour of the window on this route, if it carried anything.
        public var peakHour: PeakHour?
        /// Delivery latency (delivered deliveries' last update minus the event's receipt), if any
        /// delivery was delivered in the window.
        public var latency: Latency?
        /// Failed attempts / (delivered + failed attempts) of the sink connector in the window, 0...1.
        public var failureRate: Double
        /// Worst health of the two connectors.
        public var health: ConnectorHealth

        public init(id: String, from: String, to: String, via: String?, sourceConnector: String,
                    sinkConnector: String, topics: [String], pattern: IntegrationPattern,
                    direction: Direction, eventsPerDay: Double, peakHour: PeakHour?, latency: Latency?,
                    failureRate: Double, health: ConnectorHealth) {
            self.id = id
            self.from = from
            self.to = to
            self.via = via
            self.sourceConnector = sourceConnector
            self.sinkConnector = sinkConnector
            self.topics = topics
            self.pattern = pattern
            self.direction = direction
            self.eventsPerDay = eventsPerDay
            self.peakHour = peakHour
            self.latency = latency
            self.failureRate = failureRate
            self.health = health
        }
    }

    /// The busiest hour of a window.
    public struct PeakHour: Sendable, Equatable {
        /// Start of the hour (milliseconds since 1970, UTC).
        public var start: Int64
        /// Events in that hour.
        public var events: Int

        public init(start: Int64, events: Int) {
            self.start = start
            self.events = events
        }

        /// Hour of day, 0...23, UTC.
        public var hourOfDay: Int { Int((start / 3_600_000) % 24) }
    }

    /// Delivery latency percentiles, in milliseconds.
    public struct Latency: Sendable, Equatable {
        public var p50Ms: Int64
        public var p95Ms: Int64
        /// How many delivered deliveries the percentiles were computed from.
        public var samples: Int

        public init(p50Ms: Int64, p95Ms: Int64, samples: Int) {
            self.p50Ms = p50Ms
            self.p95Ms = p95Ms
            self.samples = samples
        }
    }
}
