import AsyncHTTPClient
import Foundation
import Logging
import PatchbayConnectors
import PatchbayStore
import ServiceLifecycle

/// The live half of `patchbay demo`: the mock SaaS systems, the hub running the demo configuration
/// against them, and the senders. `start` returns once the hub listens; `stop` winds it all down.
public final class DemoWorld: Sendable {
    public let runtime: HubRuntime
    public let mocks: MockSaaS
    public let directory: URL
    private let tasks: TaskBox
    private let client: HTTPClient

    private init(runtime: HubRuntime, mocks: MockSaaS, directory: URL, tasks: TaskBox, client: HTTPClient) {
        self.runtime = runtime
        self.mocks = mocks
        self.directory = directory
        self.tasks = tasks
        self.client = client
    }

    /// Starts everything against `store`; exports and the warehouse files go under `directory`.
    public static func start(store: Store, directory: URL, logger: Logger) async throws -> DemoWorld {
        let exports = directory.appendingPathComponent("exports")
        try FileManager.default.createDirectory(at: exports, withIntermediateDirectories: true)
        let mocks = try MockSaaS(logger: logger)
        let hubPort = try MockSaaS.freePort()
        let yaml = DemoConfig.yaml(hubPort: hubPort, mocks: mocks.baseURL, exports: exports.path)
        var environment = ProcessInfo.processInfo.environment.merging(DemoConfig.secrets, uniquingKeysWith: { _, demo in demo })
        // The mock Slack's webhook URL is a credential, as a real one is: it comes from the environment.
        environment["DEMO_SLACK_WEBHOOK"] = mocks.baseURL + "/slack/services/T0DEMO/B0DEMO/" + UUID().uuidString.prefix(8)
        let config: HubConfig
        do {
            config = try HubConfig.parse(yaml: yaml, file: "demo configuration", context: ModuleContext(
                environment: environment, baseDirectory: directory, transport: nil))
        } catch {
            throw DemoError(message: "the built-in demo configuration is invalid: \(error)")
        }
        // Keep the demo's configuration beside the database, so a user can read and reuse it.
        try? Data(yaml.utf8).write(to: directory.appendingPathComponent("patchbay-demo.yaml"))
        let runtime = try HubRuntime(config: config, store: store, logger: logger)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let traffic = DemoTraffic(hubPort: hubPort, client: client, exports: exports, store: store, logger: logger)
        // The first export files are there before the batch jobs first look.
        do { try traffic.dropFiles() } catch {
            try? await client.shutdown()
            throw DemoError(message: "cannot write the demo's export files in \(exports.path): \(error)")
        }
        let tasks = TaskBox()
        let mocksService = mocks.service
        tasks.add(Task { try? await mocksService.run() })
        let listening = AsyncStream<Int>.makeStream()
        tasks.add(Task {
            do {
                try await runtime.run(handleSignals: false) { port in listening.continuation.yield(port) }
            } catch {
                logger.error("demo hub stopped", metadata: ["error": "\(error)"])
            }
            listening.continuation.finish()
        })
        var port: Int?
        for await p in listening.stream { port = p; break }
        guard port != nil else {
            tasks.all.forEach { $0.cancel() }
            try? await client.shutdown()
            throw DemoError(message: "the demo hub did not start; see the log")
        }
        tasks.add(Task { await traffic.run() })
        return DemoWorld(runtime: runtime, mocks: mocks, directory: directory, tasks: tasks, client: client)
    }

    /// Stops the senders, then the hub (in-flight deliveries finish), then the mocks.
    public func stop() async {
        let all = tasks.all
        all.last?.cancel()  // the senders
        await runtime.shutdown()
        if all.count > 1 { _ = await all[1].result }
        all.first?.cancel()
        try? await client.shutdown()
    }
}

public struct DemoError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

private final class TaskBox: @unchecked Sendable {
    private let lock = NSLock()
    private var tasks: [Task<Void, Never>] = []
    func add(_ task: Task<Void, Never>) { lock.withLock { tasks.append(task) } }
    var all: [Task<Void, Never>] { lock.withLock { tasks } }
}
