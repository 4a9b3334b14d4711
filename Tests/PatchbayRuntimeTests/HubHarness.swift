import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import TestSupport

/// Serves `router` on 127.0.0.1:`port`, logging only what is critical, until the task is cancelled;
/// returns once the server listens.
func serveOnLoopback(_ router: sending Router<BasicRequestContext>, port: Int, label: String) async -> Task<Void, Never> {
    var logger = Logger(label: label)
    logger.logLevel = .critical
    let ready = AsyncStream<Void>.makeStream()
    let task = Task<Void, Never> {
        try? await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                               onServerRunning: { _ in ready.continuation.yield() }, logger: logger).runService()
    }
    for await _ in ready.stream { break }
    return task
}

/// A request a scripted target received.
struct Received: Sendable {
    var path: String
    var headers: [String: String]
    var body: [UInt8]
    var at: Date
    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
}

/// What a scripted target answers.
struct Reply: Sendable {
    var status: Int
    var headers: [String: String] = [:]
    var body: String = ""
    static let ok = Reply(status: 200, body: #"{"ok":true}"#)
}

/// An HTTP target on 127.0.0.1 whose answers a test scripts per path, recording every request.
final class ScriptedTarget: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [Received] = []
    private var scripts: [String: @Sendable (Received, Int) async -> Reply] = [:]
    let port: Int
    private var task: Task<Void, Never>?

    init() async throws {
        port = try MockSaaS.freePort()
        let router = Router()
        router.post("/{a}") { request, _ in try await self.handle(request) }
        router.post("/{a}/{b}") { request, _ in try await self.handle(request) }
        // GETs are recorded too: a client that followed a redirect would arrive as one.
        router.get("/{a}") { request, _ in try await self.handle(request) }
        router.get("/{a}/{b}") { request, _ in try await self.handle(request) }
        task = await serveOnLoopback(router, port: port, label: "scripted-target")
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// `script(path) { request, n in ... }`: n counts this path's requests from 1.
    func script(_ path: String, _ reply: @escaping @Sendable (Received, Int) async -> Reply) {
        lock.withLock { scripts[path] = reply }
    }

    func requests(_ path: String) -> [Received] { lock.withLock { log.filter { $0.path == path } } }

    private func handle(_ request: Request) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1 << 22)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let received = Received(path: request.uri.path, headers: headers, body: Array(buffer: buffer), at: Date())
        let (n, script) = lock.withLock { () -> (Int, (@Sendable (Received, Int) async -> Reply)?) in
            log.append(received)
            return (log.filter { $0.path == received.path }.count, scripts[received.path])
        }
        let reply = await script?(received, n) ?? .ok
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (name, value) in reply.headers { fields[HTTPField.Name(name)!] = value }
        return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: reply.body)))
    }

    func stop() { task?.cancel() }
}

/// A hub running a configuration in this process, on a fresh database.
final class RunningHub: @unchecked Sendable {
    let runtime: HubRuntime
    let store: Store
    let directory: TemporaryDirectory
    /// The shared client needs no shutdown, so a test that throws before `stop()` fails as itself
    /// instead of crashing the whole test process in the client's deinit.
    let client = HTTPClient.shared
    private var task: Task<Void, Never>?
    let port: Int

    static let environment = [
        "SHOPIFY_SECRET": "shpss_fixture_secret_do_not_use",
        "GITHUB_SECRET": "It's a Secret to Everybody",
        "TOKEN": "test-token",
    ]

    /// The YAML may start with more keys of `server:`, indented by two spaces.
    init(yaml: String, environment extra: [String: String] = [:]) async throws {
        directory = try TemporaryDirectory()
        store = try Store.open(at: directory.path("hub.sqlite"), mode: .create(homeCurrency: "EUR"))
        // Port 0: the kernel picks a port the hub then holds, so no other test can take it between
        // a "free port" probe and the bind (suites run in parallel; a request once reached another
        // test's server that way).
        let text = "server:\n  listen: 127.0.0.1:0\n" + yaml
        let config = try HubConfig.parse(yaml: text, file: "test.yaml", context: ModuleContext(
            environment: Self.environment.merging(extra) { _, new in new }, baseDirectory: directory.url, transport: nil))
        var logger = Logger(label: "test-hub")
        logger.logLevel = .critical
        runtime = try HubRuntime(config: config, store: store, logger: logger)
        let ready = AsyncStream<Int>.makeStream()
        let runtime = self.runtime
        task = Task {
            try? await runtime.run(handleSignals: false) { ready.continuation.yield($0) }
            ready.continuation.finish()
        }
        var bound = 0
        for await port in ready.stream { bound = port; break }
        guard bound > 0 else { throw CocoaError(.fileReadUnknown) }
        self.port = bound
    }

    /// POSTs to the hub; returns status and body.
    func post(_ path: String, body: [UInt8], headers: [(String, String)]) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(30))
        } catch {
            // A sender retries a webhook whose connection failed (the hub dedupes the repeat); say
            // so, so that a flaky connection is visible in the log rather than hidden.
            print("[harness] POST \(path) failed (\(error)); sending it again once")
            response = try await client.execute(request, timeout: .seconds(30))
        }
        let data = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: data))
    }

    func get(_ path: String) async throws -> (Int, String) {
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), String(buffer: data))
    }

    /// The Shopify fixture, signed as Shopify signs it, with a delivery id.
    func postShopifyFixture(webhookId: String = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", signature: String? = nil) async throws -> (Int, String) {
        let body = Array(try Fixtures.data("shopify/orders-create.json"))
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(Self.environment["SHOPIFY_SECRET"]!.utf8)))
        return try await post("/webhooks/shop", body: body, headers: [
            ("Content-Type", "application/json"), ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Hmac-Sha256", signature ?? Data(mac).base64EncodedString()), ("X-Shopify-Webhook-Id", webhookId),
        ])
    }

    /// A GitHub-signed event on a topic (the `events` source of the test configurations).
    func postEvent(_ topic: String, body: String, id: String = UUID().uuidString, path: String = "/webhooks/events") async throws -> (Int, String) {
        let bytes = Array(body.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: Data(Self.environment["GITHUB_SECRET"]!.utf8)))
        let hex = mac.map { String(format: "%02x", $0) }.joined()
        return try await post(path, body: bytes, headers: [
            ("Content-Type", "application/json"), ("X-GitHub-Event", topic), ("X-GitHub-Delivery", id),
            ("X-Hub-Signature-256", "sha256=\(hex)"),
        ])
    }

    func deliveries(to connector: String) throws -> [Delivery] {
        let id = try store.connector(named: connector)!.id
        return try store.deliveries(connector: id)
    }

    /// Polls until `condition` holds or `timeout` passes (then the test's own expectations fail).
    func wait(timeout: TimeInterval = 20, _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func stop() async {
        await runtime.shutdown()
        _ = await task?.value
        directory.remove()
    }
}
