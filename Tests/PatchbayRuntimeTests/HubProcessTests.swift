import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import PatchbayStore
import Testing
import TestSupport

/// `patchbay run` as a separate process: killed with SIGKILL mid-burst, crashed mid-batch, stopped
/// with SIGTERM. What was acknowledged must all arrive.
@Suite("Hub process", .serialized)
struct HubProcessTests {
    static let binary: URL = {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [products, products.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("patchbay")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return products.appendingPathComponent("patchbay")
    }()

    /// Starts `patchbay run`; output goes to a log file in `directory`.
    static func startHub(config: URL, db: String, directory: TemporaryDirectory, faults: String? = nil) throws -> Process {
        // `run` refuses a missing --db (only a configuration's own `database:` is created).
        if !FileManager.default.fileExists(atPath: db) { _ = try Store.open(at: db, mode: .create(homeCurrency: "USD")) }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["run", "--config", config.path, "--db", db, "--log-level", "notice"]
        var environment = ProcessInfo.processInfo.environment
        environment["GITHUB_SECRET"] = RunningHub.environment["GITHUB_SECRET"]
        if let faults { environment["PATCHBAY_FAULTS"] = faults }
        process.environment = environment
        let log = directory.url.appendingPathComponent("hub.log")
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func waitHealthy(_ client: HTTPClient, port: Int, timeout: TimeInterval = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let response = try? await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(2)),
               response.status.code == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CocoaError(.fileReadUnknown)
    }

    @Test("kill -9 during a burst of 5,000 webhooks, then restart: every acknowledged event is delivered")
    func killDuringBurst() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let port = try PatchbayRuntimeSupport.freePort()
        let config = directory.url.appendingPathComponent("hub.yaml")
        try """
            server: {listen: "127.0.0.1:\(port)"}
            delivery: {lease: 10s, batch: 50}
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              sink:
                module: http
                url: "\(target.url)/sink/orders"
                subscribe: [order_created]
                concurrency: 8
                timeout: 5s
            """.write(to: config, atomically: true, encoding: .utf8)
        let db = directory.path("hub.sqlite")
        var hub = try Self.startHub(config: config, db: db, directory: directory)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await Self.waitHealthy(client, port: port)

        let total = 5000
        let acked = AckSet()
        let killAt = 1500
        let killed = Flag()
        let secret = SymmetricKey(data: Data(RunningHub.environment["GITHUB_SECRET"]!.utf8))
        let hubBox = ProcessBox(hub)
        // 32 senders; each keeps re-sending its webhook until the hub acknowledges it, as real senders do.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<32 {
                group.addTask {
                    for n in stride(from: lane, to: total, by: 32) {
                        let body = Array(#"{"n":\#(n)}"#.utf8)
                        let mac = HMAC<SHA256>.authenticationCode(for: body, using: secret).map { String(format: "%02x", $0) }.joined()
                        while true {
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/webhooks/events")
                            request.method = .POST
                            request.headers.add(name: "X-GitHub-Event", value: "order_created")
                            request.headers.add(name: "X-GitHub-Delivery", value: "msg-\(n)")
                            request.headers.add(name: "X-Hub-Signature-256", value: "sha256=\(mac)")
                            request.body = .bytes(ByteBuffer(bytes: body))
                            if let response = try? await client.execute(request, timeout: .seconds(10)) {
                                _ = try? await response.body.collect(upTo: 1 << 16)
                                if response.status.code == 200 {
                                    if await acked.insert(n) == killAt, killed.raise() {
                                        kill(hubBox.process.processIdentifier, SIGKILL)
                                    }
                                    break
                                }
                            }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
            // The restarter: once the hub is dead, start it again on the same database.
            group.addTask {
                while !killed.isRaised { try await Task.sleep(for: .milliseconds(10)) }
                hubBox.process.waitUntilExit()
                #expect(hubBox.process.terminationReason == .uncaughtSignal)
                hubBox.process = try Self.startHub(config: config, db: db, directory: directory)
            }
            try await group.waitForAll()
        }
        hub = hubBox.process
        #expect(await acked.count == total)

        let store = try Store.open(at: db, mode: .readOnly)
        let sinkId = try #require(try store.connector(named: "sink")).id
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, try store.deliveries(connector: sinkId).filter({ $0.state == .delivered }).count < total {
            try await Task.sleep(for: .milliseconds(200))
        }
        let deliveries = try store.deliveries(connector: sinkId)
        #expect(deliveries.count == total)
        #expect(deliveries.allSatisfy { $0.state == .delivered })
        // Every message reached the target; repeats are bounded by what was in flight at the kill
        // (the sink's concurrency), and carry the same idempotency key as the first try.
        let received = target.requests("/sink/orders")
        let numbers = received.compactMap { $0.json?["n"] as? Int }
        #expect(Set(numbers) == Set(0..<total))
        let repeats = numbers.count - Set(numbers).count
        // A try that timed out on our side may still have reached the target: that is a retry the
        // policy made, not a repeat the crash caused (it happens on a loaded machine), so each one
        // adds to the bound.
        let timedOut = try deliveries.reduce(0) { sum, delivery in
            sum + (try store.attempts(delivery: delivery.id).filter { $0.error?.hasPrefix("timed out") == true }.count)
        }
        #expect(repeats <= 8 + timedOut, "\(repeats) repeats, \(timedOut) timed-out tries")
        let keys = Dictionary(grouping: received, by: { $0.json?["n"] as? Int ?? -1 }).values
        #expect(keys.allSatisfy { Set($0.map { $0.headers["idempotency-key"] ?? "" }).count == 1 })

        hub.terminate()
        hub.waitUntilExit()
        #expect(hub.terminationStatus == 0, "SIGTERM exits 0")
        try await client.shutdown()
    }

    @Test("a batch import that crashes mid-file resumes after its last committed chunk")
    func batchResumesAfterCrash() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let port = try PatchbayRuntimeSupport.freePort()
        let config = directory.url.appendingPathComponent("hub.yaml")
        try """
            server: {listen: "127.0.0.1:\(port)"}
            connectors:
              quickbooks-ar:
                module: quickbooks-csv
                path: "\(Fixtures.url("quickbooks/ar-aging-detail.csv").path)"
                currency: EUR
                chunk: 4
                schedule: hourly
            """.write(to: config, atomically: true, encoding: .utf8)
        let db = directory.path("hub.sqlite")
        // First run: dies (as kill -9 would) right after its second chunk commits.
        let crashed = try Self.startHub(config: config, db: db, directory: directory, faults: "batch.after-chunk:2")
        crashed.waitUntilExit()
        #expect(crashed.terminationStatus == 137)
        var store = try Store.open(at: db, mode: .readOnly)
        let interrupted = try #require(try store.batchRuns(limit: 5).first)
        #expect(interrupted.status == .running)
        #expect(interrupted.rowsLoaded == 8)

        // Second run: resumes the same run and finishes it.
        let hub = try Self.startHub(config: config, db: db, directory: directory)
        let deadline = Date().addingTimeInterval(60)
        store = try Store.open(at: db, mode: .readOnly)
        while Date() < deadline, try store.batchRuns(limit: 1).first?.status != .succeeded {
            try await Task.sleep(for: .milliseconds(100))
        }
        hub.terminate()
        hub.waitUntilExit()
        let runs = try store.batchRuns(limit: 5)
        #expect(runs.count == 1, "the crashed run was resumed, not started over")
        let run = try #require(runs.first)
        #expect(run.id == interrupted.id)
        #expect(run.status == .succeeded)

        // The result equals a clean import of the same file: nothing skipped, nothing doubled.
        let (clean, cleanDir) = try makeTestStore(homeCurrency: "EUR")
        defer { cleanDir.remove() }
        let source = try clean.saveConnector(ConnectorSpec(name: "qb", module: "quickbooks-csv", pattern: .batch,
                                                           system: "QuickBooks", direction: .source))
        let inputs = try PatchbayRuntimeSupport.parseQuickBooks(Fixtures.url("quickbooks/ar-aging-detail.csv"))
        _ = try clean.importInvoices(inputs, source: source.id, job: "clean")
        #expect(run.rowsLoaded == inputs.count)
        let asOf = "2026-11-25"
        #expect(try store.aging(asOf: asOf).map { [$0.totalMinor, Int64($0.count)] } == clean.aging(asOf: asOf).map { [$0.totalMinor, Int64($0.count)] })
    }
}

import PatchbayHub
import PatchbayRuntime

enum PatchbayRuntimeSupport {
    static func freePort() throws -> Int { try MockSaaS.freePort() }
    static func parseQuickBooks(_ url: URL) throws -> [InvoiceInput] {
        try InvoiceCSV.parse(Data(contentsOf: url), format: .quickbooks, currency: "EUR", file: url.lastPathComponent)
    }
}

actor AckSet {
    private var members: Set<Int> = []
    /// Inserts; returns the count after.
    func insert(_ n: Int) -> Int { members.insert(n); return members.count }
    var count: Int { members.count }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    /// True only for the caller that raised it.
    func raise() -> Bool { lock.withLock { defer { value = true }; return !value } }
    var isRaised: Bool { lock.withLock { value } }
}

final class ProcessBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _process: Process
    init(_ p: Process) { _process = p }
    var process: Process {
        get { lock.withLock { _process } }
        set { lock.withLock { _process = newValue } }
    }
}
