import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import PatchbayConnectors
import PatchbayHub
import PatchbayStore
import ServiceLifecycle
import Synchronization

/// `patchbay run`: everything a configuration declares, running.
///
/// - an HTTP server with one webhook path per source connector, `/metrics` and `/healthz`;
/// - one delivery worker per sink connector (claims in batches with leases, bounded concurrency,
///   token-bucket rate limit, outcomes recorded through the retry policy);
/// - lease recovery, batch job schedules, and retention.
///
/// Webhooks are answered 2xx only after the commit that stores them (group commit: requests that
/// arrive while one commit runs share the next). Shutdown (SIGINT, SIGTERM, or `shutdown()`) stops
/// accepting, lets in-flight deliveries finish and record, and returns.
public final class HubRuntime: Sendable {
    public let config: HubConfig
    public let store: any HubStore
    let logger: Logger
    let owner: String
    let connectorIds: [String: ConnectorID]
    /// The internal source alert notifications are events of (when the configuration has rules).
    let alertSource: ConnectorID?
    let metrics: HubMetrics
    let ingest: GroupCommitter<NewEvent, IngestResult>
    let outcomes: GroupCommitter<DeliveryOutcome, OutcomeRecord>
    let rejections: GroupCommitter<NewRejection, Void>
    let wakes: [ConnectorID: Wake]
    /// Per source: how many refusals a second are stored in full (`retention.rejected_detail`).
    let rejectionDetail: [ConnectorID: TokenBucket]
    let stop = StopFlag()
    private let changeFeedActive = Atomic<Bool>(false)
    private let group = GroupBox()
    private let boundPort = PortBox()

    /// Stores the configuration's connectors (creating or updating them) and prepares the services.
    public init(config: HubConfig, store: any HubStore, logger: Logger) throws {
        self.config = config
        self.store = store
        self.logger = logger
        self.owner = "hub-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        var ids: [String: ConnectorID] = [:]
        for definition in config.connectors {
            ids[definition.name] = try store.saveConnector(definition.spec).id
        }
        try Self.markOrphans(config: config, store: store, logger: logger)
        // Several nodes on one database: each sink's limits hold in total, so they live there.
        if let shared = store as? any SharedDeliveryLimits {
            for definition in config.connectors where definition.role == .sink {
                try shared.setDeliveryLimits(connector: ids[definition.name]!, concurrency: definition.concurrency,
                                             ratePerSecond: definition.rateLimit?.perSecond,
                                             burst: definition.rateLimit.map { Double($0.burst) })
            }
        }
        self.connectorIds = ids
        self.alertSource = config.alerts.rules.isEmpty ? nil : try store.saveConnector(ConnectorSpec(
            name: AlertService.sourceName, module: "alerts", pattern: .hub, system: "patchbay", direction: .source)).id
        self.metrics = HubMetrics(connectors: config.connectors.compactMap { c in
            ids[c.name].map { ($0, c.name, c.role == .sink) }
        })
        let store = store
        self.ingest = GroupCommitter(maxBatch: 500) { events in try store.ingest(events) }
        self.outcomes = GroupCommitter(maxBatch: 500) { outcomes in try store.record(outcomes) }
        self.rejections = GroupCommitter(maxBatch: 500) { items in
            try store.recordRejections(items)
            return items.map { _ in () }
        }
        self.wakes = Dictionary(uniqueKeysWithValues: ids.values.map { ($0, Wake()) })
        self.rejectionDetail = Dictionary(uniqueKeysWithValues: ids.values.map {
            ($0, TokenBucket(rate: config.rejectedDetail.perSecond, burst: config.rejectedDetail.burst))
        })
    }

    /// The port the server listens on, once it does (useful with port 0).
    public var port: Int? { boundPort.value }

    /// Runs until SIGINT/SIGTERM (when `handleSignals`) or `shutdown()`.
    public func run(handleSignals: Bool = true, onListening: (@Sendable (Int) -> Void)? = nil) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClientTransport.configuration())
        // Sinks were built while loading the file; those that send HTTP send through this client.
        let transport = HTTPClientTransport(client: client)
        config.transport.bind(transport)
        let sinks = config.connectors.compactMap { definition -> (ConnectorDefinition, any Sink)? in
            guard case .sink(let sink) = definition.built else { return nil }
            return (definition, sink)
        }
        do {
            try bindTokenServices(config.connectors, transport: transport)
        } catch {
            try? await client.shutdown()
            throw error
        }

        let server = makeServer(onListening: onListening)
        let delivery = DeliveryService(runtime: self, sinks: sinks)
        let maintenance = MaintenanceService(runtime: self)
        let batches = BatchService(runtime: self)
        let alerts = AlertService(runtime: self)
        let serviceGroup = ServiceGroup(configuration: .init(
            services: [
                // Shutdown runs in reverse order: the server stops accepting first, then in-flight
                // deliveries finish and record, then batch jobs and maintenance stop. Services other
                // than the server may end early (no batch jobs) without ending the group.
                .init(service: maintenance, successTerminationBehavior: .ignore),
                .init(service: alerts, successTerminationBehavior: .ignore),
                .init(service: batches, successTerminationBehavior: .ignore),
                .init(service: delivery, successTerminationBehavior: .ignore),
                .init(service: server),
            ],
            gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
            cancellationSignals: [],
            logger: logger))
        group.set(serviceGroup)
        let feed = watchChanges()
        changeFeedActive.store(feed != nil, ordering: .relaxed)
        defer { feed?.cancel() }
        logger.info("hub starting", metadata: [
            "listen": "\(config.host):\(config.port)", "connectors": "\(config.connectors.count)", "owner": "\(owner)",
        ])
        do {
            try await serviceGroup.run()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        logger.info("hub stopped")
    }

    /// Starts a graceful shutdown (what SIGTERM does).
    public func shutdown() async {
        stop.raise()
        for wake in wakes.values { await wake.signal() }
        await group.get()?.triggerGracefulShutdown()
    }

    func id(of name: String) -> ConnectorID { connectorIds[name]! }

    /// Whether another node's work reaches this one's workers as it happens (see `watchChanges`).
    var hasChangeFeed: Bool { changeFeedActive.load(ordering: .relaxed) }

    /// On a store with a change feed (PostgreSQL's LISTEN/NOTIFY), another node's ingest wakes this
    /// node's workers at once. Without one (SQLite, or the feed failing) workers still look at least
    /// once a second.
    private func watchChanges() -> (any ChangeSubscription)? {
        guard let feed = store as? any ChangeFeed else { return nil }
        let wakes = self.wakes
        do {
            return try feed.watchChanges { change in
                // After a gap in the feed notices may have been missed, so every worker looks; other
                // writes (outcomes, imports) bring no work and wake nobody.
                let woken: [Wake]
                switch change {
                case .due(let connectors): woken = connectors.compactMap { wakes[$0] }
                case .reconnected: woken = Array(wakes.values)
                case .other: woken = []
                }
                guard !woken.isEmpty else { return }
                Task { for wake in woken { await wake.signal() } }
            }
        } catch {
            logger.warning("no change feed; workers poll once a second", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Whether loops should wind down: `shutdown()` was called, the service group is shutting down,
    /// or the task was cancelled (the group cancels every service when one of them fails, the
    /// server that cannot bind its port among them).
    var stopping: Bool { stop.isSet || Task.isShuttingDownGracefully || Task.isCancelled }

    func wake(_ connector: ConnectorID) async { await wakes[connector]?.signal() }

    /// Wakes a connector's worker now (after an operator resumed it in this process, say).
    public func nudge(connector name: String) async {
        if let id = connectorIds[name] { await wake(id) }
    }
}

/// Holds the service group once it exists, for `shutdown()`.
private final class GroupBox: @unchecked Sendable {
    private let lock = NSLock()
    private var group: ServiceGroup?
    func set(_ g: ServiceGroup) { lock.withLock { group = g } }
    func get() -> ServiceGroup? { lock.withLock { group } }
}

final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?
    var value: Int? { lock.withLock { port } }
    func set(_ p: Int) { lock.withLock { port = p } }
}

extension HubRuntime {
    func setPort(_ port: Int) { boundPort.set(port) }
}
