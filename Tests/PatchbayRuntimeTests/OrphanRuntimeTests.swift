import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// Log records kept in memory, for a test to read what the hub warned about.
private final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(Logger.Level, String)] = []
    func append(_ level: Logger.Level, _ line: String) { lock.withLock { lines.append((level, line)) } }
    var all: [(Logger.Level, String)] { lock.withLock { lines } }
}

private struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { lines.append(event.level, "\(event.message)") }
}

/// A hub on a database a test keeps between runs, so a second configuration can follow a first.
private struct HubOnFile {
    let runtime: HubRuntime
    let task: Task<Void, Never>

    static func start(yaml: String, store: Store, directory: TemporaryDirectory, lines: LogLines) async throws -> HubOnFile {
        let port = try MockSaaS.freePort()
        let config = try HubConfig.parse(
            yaml: "server:\n  listen: 127.0.0.1:\(port)\n" + yaml, file: "test.yaml",
            context: ModuleContext(environment: RunningHub.environment, baseDirectory: directory.url, transport: nil))
        let logger = Logger(label: "test-hub") { _ in CapturingLogHandler(lines: lines) }
        let runtime = try HubRuntime(config: config, store: store, logger: logger)
        let ready = AsyncStream<Int>.makeStream()
        let task = Task {
            try? await runtime.run(handleSignals: false) { ready.continuation.yield($0) }
            ready.continuation.finish()
        }
        for await _ in ready.stream { break }
        return HubOnFile(runtime: runtime, task: task)
    }

    func stop() async {
        await runtime.shutdown()
        _ = await task.value
    }
}

private func wait(timeout: TimeInterval = 20, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
}

@Suite("A connector removed from the configuration", .serialized)
struct OrphanRuntimeTests {
    @Test("run warns about the old connector and marks it orphaned; moved to the new one, its deliveries are sent once")
    func renamedSinkIsNamedThenMovedAndDelivered() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        target.script("/old") { _, _ in Reply(status: 503, body: #"{"error":"down"}"#) }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.open(at: directory.path("hub.sqlite"), mode: .create(homeCurrency: "EUR"))
        let lines = LogLines()

        // First configuration: old-erp fails every delivery, which waits an hour to retry.
        let first = try await HubOnFile.start(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              old-erp: {module: http, url: "\(target.url)/old", subscribe: [order_created], retry: {base_delay: 1h, jitter: 0}}
            """, store: store, directory: directory, lines: lines)
        let hub = try await RunningHubClient(port: first.runtime.port!)
        for n in 0..<3 {
            #expect(try await hub.postEvent("order_created", body: #"{"order":"SF-\#(n)"}"#).0 == 200)
        }
        let oldId = try #require(try store.connector(named: "old-erp")).id
        try await wait { try store.deliveries(connector: oldId).filter { $0.state == .retrying }.count == 3 }
        await first.stop()
        await hub.shutdown()
        // A fourth delivery was in flight when that hub died: its lease has expired since.
        let source = try #require(try store.connector(named: "events")).id
        let past = Date().addingTimeInterval(-120)
        _ = try store.ingest(NewEvent(topic: "order_created", sourceId: source, idempotencyKey: "SF-3",
                                      payload: #"{"order":"SF-3"}"#, receivedAt: past,
                                      targets: [DeliveryTarget(connectorId: oldId, maxAttempts: 20)]))
        #expect(try store.claimDueDeliveries(connector: oldId, limit: 1, lease: 30, owner: "dead-hub", now: past).count == 1)

        // Second configuration: old-erp renamed new-erp.
        let second = try await HubOnFile.start(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              new-erp: {module: http, url: "\(target.url)/new", subscribe: [order_created]}
            """, store: store, directory: directory, lines: lines)
        let warnings = lines.all.filter { $0.0 == .warning }.map(\.1)
        #expect(warnings == [
            "connector 'old-erp' is not in this configuration but has 4 unfinished deliveries (1 in flight, 3 retrying); "
                + "they will not be sent: retry them to another connector "
                + "(patchbay retry --all --connector old-erp --to NEW --db \(store.path)) "
                + "or discard them (patchbay discard --all --connector old-erp --db \(store.path))",
        ])
        let health = try store.connectorStatuses().map { "\($0.connector.name) \($0.connector.health.rawValue)" }
        #expect(health.contains("old-erp orphaned"))
        #expect(!health.contains("new-erp orphaned") && !health.contains("events orphaned"))
        // Lease recovery still covers the orphan: the in-flight one becomes retrying, visible and movable.
        try await wait { try store.deliveries(connector: oldId).allSatisfy { $0.state == .retrying } }
        let stranded = try store.deliveries(connector: oldId).map(\.id)
        #expect(stranded.count == 4)
        #expect(target.requests("/new").isEmpty)

        // The operator moves them, twice: each is requeued once and sent once, with its own key.
        let moved = try store.retarget(matching: FailureFilter(connectorId: oldId), to: "new-erp")
        #expect(Set(moved.changed) == Set(stranded))
        #expect(try store.retarget(matching: FailureFilter(connectorId: oldId), to: "new-erp").changed.isEmpty)
        #expect(try store.retarget(stranded, to: "new-erp").changed.isEmpty)
        await second.runtime.nudge(connector: "new-erp")
        let newId = try #require(try store.connector(named: "new-erp")).id
        try await wait { try store.deliveries(connector: newId).filter { $0.state == .delivered }.count == 4 }
        try await Task.sleep(for: .milliseconds(500))
        let sent = target.requests("/new")
        #expect(sent.count == 4)
        #expect(Set(sent.compactMap { $0.headers["idempotency-key"] }) == Set(stranded.map { "patchbay-delivery-\($0)" }))
        #expect(try store.rollupDifferences(since: Date(millis: 0)).isEmpty)
        await second.stop()
    }
}

/// Posts signed webhooks to a hub that a test started itself.
private struct RunningHubClient {
    let port: Int
    let client = HTTPClient(eventLoopGroupProvider: .singleton)

    init(port: Int) async throws { self.port = port }

    func postEvent(_ topic: String, body: String, id: String = UUID().uuidString) async throws -> (Int, String) {
        let bytes = Array(body.utf8)
        let mac = HMAC<SHA256>.authenticationCode(
            for: bytes, using: SymmetricKey(data: Data(RunningHub.environment["GITHUB_SECRET"]!.utf8)))
        let hex = mac.map { String(format: "%02x", $0) }.joined()
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/webhooks/events")
        request.method = .POST
        for (name, value) in [("Content-Type", "application/json"), ("X-GitHub-Event", topic), ("X-GitHub-Delivery", id),
                              ("X-Hub-Signature-256", "sha256=\(hex)")] {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: data))
    }

    func shutdown() async { try? await client.shutdown() }
}
