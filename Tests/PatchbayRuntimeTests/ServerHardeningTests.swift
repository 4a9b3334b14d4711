import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A raw TCP connection to the hub, for clients no HTTP library would be: slow, stalled, oversized.
private final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    /// False once the peer has closed (the write fails).
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Waits up to `timeout` for data or the peer's close; returns what was read ("" at close), nil on timeout.
    func read(timeout: TimeInterval) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n <= 0 ? "" : String(decoding: buffer[0..<n], as: UTF8.self)
    }

    /// True when the hub closed the connection within `timeout` (what it sent first is skipped).
    func closedByPeer(within timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            switch read(timeout: deadline.timeIntervalSinceNow) {
            case "": return true
            case nil: return false
            default: continue
            }
        }
        return false
    }

    deinit { close(fd) }
}

/// The real hub binary on a port of its own. The deadline tests run against a separate process:
/// an in-process hub accepts on this test process's cooperative pool, which other suites running
/// in parallel can hold for seconds, and a deadline test must measure the hub, not its neighbours.
private final class HubProcess: @unchecked Sendable {
    let port: Int
    let process = Process()
    let directory: TemporaryDirectory

    init(yaml: String) async throws {
        directory = try TemporaryDirectory()
        port = try PatchbayRuntimeSupport.freePort()
        let config = directory.url.appendingPathComponent("hub.yaml")
        try ("server:\n  listen: \"127.0.0.1:\(port)\"\n" + yaml).write(to: config, atomically: true, encoding: .utf8)
        let client = HTTPClient.shared
        process.arguments = ["run", "--config", config.path, "--db", directory.path("hub.sqlite"), "--log-level", "error"]
        _ = try Store.open(at: directory.path("hub.sqlite"), mode: .create(homeCurrency: "EUR"))
        process.executableURL = HubProcessTests.binary
        var environment = ProcessInfo.processInfo.environment
        environment["GITHUB_SECRET"] = RunningHub.environment["GITHUB_SECRET"]
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        do {
            try await HubProcessTests.waitHealthy(client, port: port)
        } catch {
            stop()
            throw error
        }
    }

    /// A GitHub-signed event, as `RunningHub.postEvent` sends it.
    func postEvent(_ topic: String, body: String, timeout: TimeAmount = .seconds(30)) async throws -> (Int, String) {
        let bytes = Array(body.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: Data(RunningHub.environment["GITHUB_SECRET"]!.utf8)))
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/webhooks/events")
        request.method = .POST
        for (name, value) in [("Content-Type", "application/json"), ("X-GitHub-Event", topic), ("X-GitHub-Delivery", UUID().uuidString),
                              ("X-Hub-Signature-256", "sha256=" + mac.map { String(format: "%02x", $0) }.joined())] {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let data = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: data))
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        directory.remove()
    }
}

/// Availability: the hub ends at once when it cannot listen, and slow or oversized clients cannot
/// hold its connections while real webhooks wait.
@Suite("The webhook server under hostile clients", .serialized)
struct ServerHardeningTests {
    @Test("a connection that dribbles its headers is closed at the header deadline")
    func slowHeadersAreCut() async throws {
        let hub = try await HubProcess(yaml: """
              header_timeout: 1s
              body_timeout: 2s
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
            """)
        defer { hub.stop() }
        let port = hub.port
        let started = Date()
        let cut = await onOwnThread { () -> Bool in
            guard let slow = try? RawConnection(port: port) else { return false }
            slow.send("POST /webhooks/events HTTP/1.1\r\nHost: hub\r\n")
            // One byte every 200 ms, as a slowloris client sends: each one resets no deadline.
            for _ in 0..<40 {
                if !slow.send("X") { return true }
                if slow.closedByPeer(within: 0.2) { return true }
            }
            return false
        }
        #expect(cut, "the slow connection was still open after 8 s")
        #expect(Date().timeIntervalSince(started) < 6)
    }

    @Test("a body that stalls is cut at the body deadline; an idle keep-alive connection at the header deadline")
    func stalledBodyAndIdleConnectionsAreCut() async throws {
        let hub = try await HubProcess(yaml: """
              header_timeout: 1s
              body_timeout: 1s
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
            """)
        defer { hub.stop() }
        let port = hub.port
        let (stalled, idle) = await onOwnThread { () -> (Bool, Bool) in
            guard let body = try? RawConnection(port: port), let idle = try? RawConnection(port: port) else { return (false, false) }
            body.send("POST /webhooks/events HTTP/1.1\r\nHost: hub\r\nContent-Length: 100\r\n\r\n{\"half\":")
            return (body.closedByPeer(within: 5), idle.closedByPeer(within: 5))
        }
        #expect(stalled, "a stalled body kept its connection")
        #expect(idle, "an idle connection was kept")
    }

    @Test("an oversized body gets 413 and the connection is closed instead of read to the end")
    func oversizedBodyClosesTheConnection() async throws {
        let hub = try await HubProcess(yaml: """
              max_body: 1KiB
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
            """)
        defer { hub.stop() }
        let port = hub.port
        let (answer, closed) = await onOwnThread { () -> (String, Bool) in
            guard let big = try? RawConnection(port: port) else { return ("", false) }
            big.send("POST /webhooks/events HTTP/1.1\r\nHost: hub\r\nContent-Length: 104857600\r\n\r\n")
            big.send(String(repeating: "x", count: 8192))
            let answer = big.read(timeout: 5) ?? ""
            // The sender would go on with 100 MB; the hub hangs up instead of draining it.
            var closed = answer.contains("onnection: close") && big.closedByPeer(within: 3)
            if !closed { closed = !big.send(String(repeating: "x", count: 65536)) && big.closedByPeer(within: 1) }
            return (answer, closed)
        }
        #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(200))")
        #expect(closed, "the connection stayed open after the 413")
        // server.max_body is the limit of a source that sets none (it was 1 MiB whatever the server said).
        let (status, body) = try await hub.postEvent("order_created", body: #"{"pad":"\#(String(repeating: "x", count: 2048))"}"#)
        #expect(status == 413, "\(body)")
    }

    @Test("with 300 slowloris connections open, signed webhooks are still answered, none kept waiting for the attackers' header deadline")
    func webhooksAnsweredDuringSlowloris() async throws {
        // The real binary: what is measured is the hub, not this test process's cooperative pool.
        let hub = try await HubProcess(yaml: """
              header_timeout: 10s
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
            """)
        defer { hub.stop() }
        let port = hub.port
        let attackers = (0..<300).compactMap { _ in try? RawConnection(port: port) }
        #expect(attackers.count == 300)
        let dribble = Task.detached {
            for round in 0..<30 where !Task.isCancelled {
                for attacker in attackers { attacker.send(round == 0 ? "POST /webhooks/events HTTP/1.1\r\n" : "X") }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        // Each webhook gets half the attackers' header deadline: a hub whose connections the
        // attackers held would answer only once their deadline freed one, after this client gave up.
        var answered = 0
        for n in 0..<20 {
            let (status, body) = try await hub.postEvent("order_created", body: #"{"order":"SL-\#(n)"}"#, timeout: .seconds(5))
            #expect(status == 200, "\(body)")
            if status == 200 { answered += 1 }
            try await Task.sleep(for: .milliseconds(50))
        }
        dribble.cancel()
        _ = await dribble.value
        #expect(answered == 20)
    }

    @Test("a hub that cannot listen says which address on stderr and exits 1 at once")
    func bindFailureExits() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Someone else already listens there.
        let blocker = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(blocker) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(blocker, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(listen(blocker, 4) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(blocker, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let db = directory.path("hub.sqlite")
        _ = try Store.open(at: db, mode: .create(homeCurrency: "EUR"))
        let config = directory.url.appendingPathComponent("hub.yaml")
        try """
            server: {listen: "127.0.0.1:\(port)"}
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              sink: {module: http, url: "http://127.0.0.1:9/x", subscribe: [order_created]}
            """.write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = HubProcessTests.binary
        process.arguments = ["run", "--config", config.path, "--db", db]
        var environment = ProcessInfo.processInfo.environment
        environment["GITHUB_SECRET"] = RunningHub.environment["GITHUB_SECRET"]
        process.environment = environment
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            Issue.record("the hub kept running without its port")
            return
        }
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 1)
        #expect(text.contains("cannot listen on 127.0.0.1:\(port)"), "\(text)")
        #expect(text.lowercased().contains("address already in use"), "\(text)")
    }
}
