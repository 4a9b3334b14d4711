import Foundation
import Logging
import PatchbayHub
import PatchbayStore

/// What a connector module is for.
public enum ModuleRole: String, Sendable {
    /// Receives events (webhooks).
    case source
    /// Receives deliveries.
    case sink
    /// Runs on a schedule: extract, transform, load.
    case batch
}

/// A scheduled extract-transform-load job.
public protocol BatchJob: Sendable {
    /// Runs once. Progress is committed as it goes, so a run that crashed resumes where it stopped.
    func run(_ context: BatchContext) async throws -> BatchReport
}

/// What a batch job asks of the store: its runs and cursors, invoice chunks, and events it publishes.
public typealias BatchStore = BatchLedger & EventIngest

public struct BatchContext: Sendable {
    public var store: any BatchStore
    public var connector: Connector
    public var now: Date
    public var logger: Logger
    /// The delivery targets of an event this job publishes on `topic` (its subscribers).
    public var targets: @Sendable (_ topic: String) -> [DeliveryTarget]

    public init(store: any BatchStore, connector: Connector, now: Date, logger: Logger,
                targets: @escaping @Sendable (String) -> [DeliveryTarget] = { _ in [] }) {
        self.store = store
        self.connector = connector
        self.now = now
        self.logger = logger
        self.targets = targets
    }
}

/// What one run did.
public struct BatchReport: Sendable, Equatable {
    public var runId: Int64?
    public var rowsRead: Int
    public var rowsLoaded: Int
    public var rowsRejected: Int
    public var resumed: Bool
    /// Set when there was nothing new to read (the file did not change).
    public var skipped: String?

    public init(runId: Int64?, rowsRead: Int, rowsLoaded: Int, rowsRejected: Int, resumed: Bool = false,
                skipped: String? = nil) {
        self.runId = runId
        self.rowsRead = rowsRead
        self.rowsLoaded = rowsLoaded
        self.rowsRejected = rowsRejected
        self.resumed = resumed
        self.skipped = skipped
    }
}

/// A built connector, ready for the runtime.
public enum BuiltConnector: Sendable {
    case source(any WebhookSource)
    case sink(any Sink)
    case batch(any BatchJob)
}

/// What a module may use while it builds a connector from its options.
public struct ModuleContext: Sendable {
    public var environment: [String: String]
    /// Relative paths in the configuration resolve against the file's directory.
    public var baseDirectory: URL
    /// HTTP out; nil while only checking a file.
    public var transport: (any HTTPTransport)?
    /// What HTTP modules send through when `transport` is nil; the runtime binds it at start.
    public let deferredTransport = DeferredTransport()
    public var transforms: TransformRegistry
    /// `server.max_body`: the limit of a webhook source that sets none of its own.
    public var defaultMaxBodyBytes = 1 << 20

    public init(environment: [String: String], baseDirectory: URL, transport: (any HTTPTransport)?,
                transforms: TransformRegistry = .builtIn) {
        self.environment = environment
        self.baseDirectory = baseDirectory
        self.transport = transport
        self.transforms = transforms
    }

    public func resolve(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : baseDirectory.appendingPathComponent(path)
    }
}

/// A connector module: its name in the configuration, its role, and how it builds from its options.
///
/// `build` reads its own keys from the reader (unknown keys are reported for it) and returns nil
/// when it found problems, which it reports on the reader.
public struct ConnectorModule: Sendable {
    public var name: String
    public var role: ModuleRole
    public var summary: String
    public var build: @Sendable (_ options: OptionReader, _ context: ModuleContext, _ name: String) -> BuiltConnector?

    public init(name: String, role: ModuleRole, summary: String,
                build: @escaping @Sendable (OptionReader, ModuleContext, String) -> BuiltConnector?) {
        self.name = name
        self.role = role
        self.summary = summary
        self.build = build
    }
}

/// Modules by name. Adding a module is one entry here (and its folder); the runtime never changes.
public struct ConnectorRegistry: Sendable {
    public private(set) var modules: [String: ConnectorModule]

    public init(_ modules: [ConnectorModule]) {
        self.modules = Dictionary(modules.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    public func module(named name: String) -> ConnectorModule? { modules[name] }

    public var names: [String] { modules.keys.sorted() }

    public mutating func register(_ module: ConnectorModule) { modules[module.name] = module }
}

/// Payload transforms by name: `transform: shopify-order` in a connector's options.
public struct TransformRegistry: Sendable {
    public typealias Factory = @Sendable (OptionReader?) -> (any PayloadTransform)?
    private var factories: [String: Factory]

    public init(_ factories: [String: Factory]) {
        self.factories = factories
    }

    public var names: [String] { factories.keys.sorted() }

    /// Reads `transform: NAME` or `transform: {name: NAME, ...options}` from `options`.
    public func transform(from options: OptionReader, key: String = "transform") -> (any PayloadTransform)?? {
        guard let node = options.node(key) else { return .some(nil) }
        switch node {
        case .scalar(let name, _):
            guard let factory = factories[name] else {
                options.problem(key, "no transform named '\(name)'; known: \(names.joined(separator: ", "))")
                return nil
            }
            return .some(factory(nil))
        case .mapping:
            guard let reader = options.child(key), let name = reader.string("name", required: true) else { return nil }
            guard let factory = factories[name] else {
                reader.problem("name", "no transform named '\(name)'; known: \(names.joined(separator: ", "))")
                return nil
            }
            let built = factory(reader)
            reader.finish()
            return built.map { .some($0) } ?? nil
        default:
            options.problem(key, "expected a transform name or a mapping with 'name'")
            return nil
        }
    }

    public mutating func register(_ name: String, _ factory: @escaping Factory) { factories[name] = factory }
}
