import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import PatchbayRuntime
import PatchbayStore
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

// Helpers for the proof suite: the real `patchbay` binary as a process, a recording HTTP target,
// GitHub-signed senders, a seeded RNG, and a private tmux server. Copied in spirit from
// PatchbayRuntimeTests (HubProcessTests, HubHarness) and EndToEndTests (Tmux): a test target
// cannot import another.

/// Every proof of this target, one at a time: they start processes, time crashes and measure a
/// 2-core machine's throughput, so running them side by side would blur both the timing and the figures.
@Suite("Proofs: the promises of docs/GUARANTEES.md against the real binary", .serialized)
enum Proofs {}

enum Proof {
    /// The built `patchbay` beside the test bundle.
    static let binary: URL = {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [products, products.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("patchbay")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return products.appendingPathComponent("patchbay")
    }()

    static let githubSecret = "It's a Secret to Everybody"

    static func freePort() throws -> Int { try MockSaaS.freePort() }

    /// An integer from the environment, else `fallback`.
    static func environmentInt(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? fallback
    }

    /// Prints a line the figures of docs/GUARANTEES.md are read from (visible in `swift test` output).
    static func report(_ line: String) {
        print("[proof] \(line)")
        fflush(nil)  // every stream; naming `stdout` is not concurrency-safe
    }
}

// MARK: - The hub as a process

/// One `patchbay run` process; stdout and stderr appended to `log`.
final class HubProcess: @unchecked Sendable {
    let process: Process
    let log: URL

    /// Starts `patchbay run --config config --db db`, with `PATCHBAY_FAULTS=faults` when given.
    init(config: URL, db: String, log: URL, faults: String? = nil, logLevel: String = "notice",
         environment extra: [String: String] = [:]) throws {
        // `run` refuses a missing --db (only a configuration's own `database:` is created).
        if !db.hasPrefix("postgres://"), !FileManager.default.fileExists(atPath: db) {
            _ = try Store.open(at: db, mode: .create(homeCurrency: "USD"))
        }
        let process = Process()
        process.executableURL = Proof.binary
        process.arguments = ["run", "--config", config.path, "--db", db, "--log-level", logLevel]
        var environment = ProcessInfo.processInfo.environment
        environment["GITHUB_SECRET"] = Proof.githubSecret
        environment.removeValue(forKey: "PATCHBAY_FAULTS")
        if let faults { environment["PATCHBAY_FAULTS"] = faults }
        environment.removeValue(forKey: "PATCHBAY_PAUSES")
        environment.merge(extra) { _, new in new }
        process.environment = environment
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        if let faults { handle.write(Data("--- [proof] starting with PATCHBAY_FAULTS=\(faults)\n".utf8)) }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? handle.close()
        self.process = process
        self.log = log
    }

    var pid: pid_t { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func signal(_ signal: Int32) { if process.isRunning { kill(pid, signal) } }

    /// SIGKILL (after SIGCONT, in case it was stopped) and reap; safe to call twice.
    func forceStop() {
        if process.isRunning {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
        }
        process.waitUntilExit()
    }

    /// Waits for the exit, at most `timeout` seconds; true when it exited.
    func waitExit(timeout: TimeInterval) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { return false }
        process.waitUntilExit()
        return true
    }

    /// SIGTERM, then the exit status (nil if it did not exit within `timeout`; it is then killed).
    func terminate(timeout: TimeInterval = 20) async -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, SIGTERM)
        if await waitExit(timeout: timeout) { return process.terminationStatus }
        forceStop()
        return nil
    }

    /// Polls `/healthz` until this process answers 200 (the body names the pid, so a leftover
    /// process still holding the port does not count); false when the process exited first or
    /// `timeout` passed.
    func waitHealthy(_ client: HTTPClient, port: Int, timeout: TimeInterval = 30) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, process.isRunning {
            if let response = try? await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(2)) {
                let body = (try? await response.body.collect(upTo: 1 << 16)).map { String(buffer: $0) } ?? ""
                if response.status.code == 200, body.contains("\"pid\":\"\(pid)\"") { return true }
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return false
    }

    func logText() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
}

/// Kills every registered process when the scope ends, even when the test failed or threw.
final class ProcessReaper: @unchecked Sendable {
    private let lock = NSLock()
    private var hubs: [HubProcess] = []
    func add(_ hub: HubProcess) { lock.withLock { hubs.append(hub) } }
    func killAll() {
        for hub in lock.withLock({ hubs }) { hub.forceStop() }
    }
}

// MARK: - Senders

/// GitHub-signed webhooks to `/webhooks/<source>` of a hub.
struct GitHubSender: Sendable {
    let client: HTTPClient
    let port: Int
    var source = "events"
    var topic = "order_created"
    let key = SymmetricKey(data: Data(Proof.githubSecret.utf8))

    static func body(id: String) -> [UInt8] { Array(#"{"id":"\#(id)","total":"12.50"}"#.utf8) }

    /// One attempt: the status, or nil when the connection failed or timed out.
    func send(id: String, timeout: TimeAmount = .seconds(10)) async -> Int? {
        let body = Self.body(id: id)
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: key).map { String(format: "%02x", $0) }.joined()
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/webhooks/\(source)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-GitHub-Event", value: topic)
        request.headers.add(name: "X-GitHub-Delivery", value: id)
        request.headers.add(name: "X-Hub-Signature-256", value: "sha256=\(mac)")
        request.body = .bytes(ByteBuffer(bytes: body))
        guard let response = try? await client.execute(request, timeout: timeout) else { return nil }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }

    /// Re-sends until the hub answers 200, as a real sender does; returns the number of tries.
    /// Gives up (returns nil) only when `giveUp` says so.
    func sendUntilAcknowledged(id: String, pause: Duration = .milliseconds(20),
                               giveUp: @Sendable () -> Bool = { false }) async -> (tries: Int, statuses: [Int])? {
        var tries = 0
        var statuses: [Int] = []
        while true {
            tries += 1
            let status = await send(id: id)
            if let status { statuses.append(status) }
            if status == 200 { return (tries, statuses) }
            if giveUp() { return nil }
            try? await Task.sleep(for: pause)
        }
    }
}

/// The senders' view: message ids the hub acknowledged with 200.
final class AckLedger: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: Set<String> = []
    private var times: [Date] = []
    private var other: [Int: Int] = [:]
    private var failures = 0

    func acknowledged(_ id: String) { lock.withLock { ids.insert(id); times.append(Date()) } }
    func answered(_ status: Int?) {
        lock.withLock {
            if let status { if status != 200 { other[status, default: 0] += 1 } } else { failures += 1 }
        }
    }
    /// What one message's sends got: every status, and how many tries had no answer.
    func note(tries: Int, statuses: [Int]) {
        lock.withLock {
            for status in statuses where status != 200 { other[status, default: 0] += 1 }
            failures += tries - statuses.count
        }
    }
    var acked: Set<String> { lock.withLock { ids } }
    var ackTimes: [Date] { lock.withLock { times } }
    /// Non-200 answers by status.
    var refusals: [Int: Int] { lock.withLock { other } }
    /// Attempts without an answer (connection refused or reset, timeouts).
    var unanswered: Int { lock.withLock { failures } }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func raise() { lock.withLock { value = true } }
    var isRaised: Bool { lock.withLock { value } }
}

// MARK: - A recording HTTP target

/// A request a target received, with what it answered.
struct Received: Sendable {
    var path: String
    var headers: [String: String]
    var body: [UInt8]
    var at: Date
    var status: Int = 0
    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
    /// The message id the load generators put in every body.
    var messageId: String? { json?["id"] as? String }
}

struct Reply: Sendable {
    var status: Int
    var body: String = ""
    static let ok = Reply(status: 200, body: #"{"ok":true}"#)
}

/// An HTTP target on 127.0.0.1 whose answers a test scripts per path, recording every request and
/// the status it answered.
final class ScriptedTarget: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [Received] = []
    private var counts: [String: Int] = [:]
    private var scripts: [String: @Sendable (Received, Int) async -> Reply] = [:]
    let port: Int
    private var task: Task<Void, Never>?

    init() async throws {
        port = try MockSaaS.freePort()
        let router = Router()
        router.post("/{a}") { request, _ in try await self.handle(request) }
        router.post("/{a}/{b}") { request, _ in try await self.handle(request) }
        var logger = Logger(label: "scripted-target")
        logger.logLevel = .critical
        let ready = AsyncStream<Void>.makeStream()
        let port = self.port
        task = Task {
            try? await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                                   onServerRunning: { _ in ready.continuation.yield() }, logger: logger).runService()
        }
        for await _ in ready.stream { break }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// `script(path) { request, n in ... }`: n counts this path's requests from 1.
    func script(_ path: String, _ reply: @escaping @Sendable (Received, Int) async -> Reply) {
        lock.withLock { scripts[path] = reply }
    }

    /// Requests to `path` that have been answered (the status is what the target replied).
    func requests(_ path: String) -> [Received] { lock.withLock { log.filter { $0.path == path } } }

    func count(_ path: String) -> Int { lock.withLock { counts[path] ?? 0 } }

    private func handle(_ request: Request) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1 << 22)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        var received = Received(path: request.uri.path, headers: headers, body: Array(buffer: buffer), at: Date())
        let (n, script) = lock.withLock { () -> (Int, (@Sendable (Received, Int) async -> Reply)?) in
            counts[received.path, default: 0] += 1
            return (counts[received.path]!, scripts[received.path])
        }
        let reply = await script?(received, n) ?? .ok
        received.status = reply.status
        lock.withLock { log.append(received) }
        return Response(status: .init(code: reply.status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: reply.body)))
    }

    func stop() { task?.cancel() }
}

// MARK: - Randomness that can be replayed

/// SplitMix64: a seeded generator, so a failing run can be repeated with its printed seed.
struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Running commands

enum Spawn {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a command to completion, output in files (not pipes: a tmux server started by a command
    /// inherits its descriptors and would hold a pipe open), posix_spawn and waitpid.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("patchbay-proof-\(UUID().uuidString)").path
        let outPath = base + ".out", errPath = base + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var env = environment ?? ProcessInfo.processInfo.environment
        env.removeValue(forKey: "PATCHBAY_FAULTS")
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
                      stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// `patchbay <arguments>`.
    static func patchbay(_ arguments: [String]) throws -> Result { try run(Proof.binary.path, arguments) }
}

// MARK: - A private tmux server

/// A tmux server on its own socket (`-L`), one session per program. `kill()` ends the server and
/// everything in it; it is also what `deinit` does.
final class PrivateTmux: @unchecked Sendable {
    let socket = "patchbay-proof-\(UUID().uuidString.prefix(8))"

    static var available: Bool { (try? Spawn.run("/usr/bin/env", ["tmux", "-V"]).status) == 0 }

    deinit { kill() }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let result = try Spawn.run("/usr/bin/env", ["tmux", "-L", socket] + arguments)
        return result.stdout + result.stderr
    }

    /// A detached session of `width`×`height` running `shell` (under `sh -c`).
    func newSession(_ name: String, width: Int = 120, height: Int = 40, shell: String) throws {
        try tmux(["-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)",
                  "env", "TERM=xterm-256color", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "sh", "-c", shell])
    }

    func send(_ session: String, _ keys: String...) throws {
        for key in keys { try tmux(["send-keys", "-t", session, key]) }
    }

    func capture(_ session: String) throws -> String { try tmux(["capture-pane", "-p", "-t", session]) }

    private let killed = StopFlag()

    /// Ends the server; then, in case it did not answer, kills whatever still runs on its socket and
    /// removes the socket file.
    func kill() {
        guard !killed.isRaised else { return }
        killed.raise()
        _ = try? tmux(["kill-server"])
        _ = try? Spawn.run("/usr/bin/env", ["pkill", "-9", "-f", "tmux -L \(socket)"])
        let base = ProcessInfo.processInfo.environment["TMUX_TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        try? FileManager.default.removeItem(atPath: "\(base)/tmux-\(getuid())/\(socket)")
    }
}

/// Quotes for `sh -c`.
func shellQuote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
