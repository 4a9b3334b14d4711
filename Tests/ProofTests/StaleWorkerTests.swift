import AsyncHTTPClient
import Foundation
import PatchbayStore
import TestSupport
import Testing

extension Proofs {
    /// Two `patchbay run` processes on one database. Worker A claims a delivery and is frozen (SIGSTOP)
    /// while the target holds its request; its lease expires; worker B recovers the lease and delivers.
    /// When A wakes (SIGCONT) and its request finally gets a 500, that late outcome must change nothing:
    /// the store refuses it (`leaseLost`) and the delivery stays `delivered`, with B's success last.
    @Suite("Stale worker", .serialized)
    struct StaleWorkerTests {
        @Test("a frozen worker's late outcome after its lease was taken over changes nothing (two processes)")
        func staleWorkerCannotOverwrite() async throws {
            let directory = try TemporaryDirectory()
            let target = try await ScriptedTarget()
            let reaper = ProcessReaper()
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer {
                reaper.killAll()
                target.stop()
                directory.remove()
            }
            let db = directory.path("hub.sqlite")
            func config(port: Int) throws -> URL {
                let url = directory.url.appendingPathComponent("hub-\(port).yaml")
                try """
                    server: {listen: "127.0.0.1:\(port)"}
                    delivery: {lease: 2s, poll: 100ms}
                    retry: {max_attempts: 5, base_delay: 100ms, max_delay: 1s, jitter: 0}
                    connectors:
                      events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
                      sink:
                        module: http
                        url: "\(target.url)/sink/orders"
                        subscribe: [order_created]
                        timeout: 900ms
                    """.write(to: url, atomically: true, encoding: .utf8)
                return url
            }

            // The target: A's request (the first) is held, and A frozen the moment it arrives; it is
            // answered 500 only when the test lets go. Every later request is answered 200.
            let frozen = PidBox()
            let release = StopFlag()
            let firstArrived = StopFlag()
            target.script("/sink/orders") { _, n in
                guard n == 1 else { return .ok }
                if let pid = frozen.pid { kill(pid, SIGSTOP) }
                firstArrived.raise()
                while !release.isRaised { try? await Task.sleep(for: .milliseconds(10)) }
                return Reply(status: 500, body: #"{"error":"too late"}"#)
            }

            // Worker A alone receives the webhook and claims its delivery.
            let portA = try Proof.freePort()
            let logA = directory.url.appendingPathComponent("hub-a.log")
            let a = try HubProcess(config: try config(port: portA), db: db, log: logA)
            reaper.add(a)
            frozen.pid = a.pid
            #expect(await a.waitHealthy(client, port: portA))
            let sender = GitHubSender(client: client, port: portA)
            #expect(await sender.send(id: "stale-1") == 200)
            try await poll(timeout: 15) { firstArrived.isRaised }
            try #require(firstArrived.isRaised, "A never sent the delivery")

            let store = try Store.open(at: db, mode: .readOnly)
            let sinkId = try #require(try store.connector(named: "sink")).id
            let claimed = try #require(try store.deliveries(connector: sinkId).first)
            #expect(claimed.state == .inFlight)
            let ownerA = try #require(claimed.leaseOwner)
            let staleToken = try #require(claimed.leaseToken)
            #expect(ownerA.hasPrefix("hub-\(a.pid)-"), "A holds the lease: \(ownerA)")

            // Worker B starts on the same database; after A's lease (2 s) expires it recovers and delivers.
            let portB = try Proof.freePort()
            let logB = directory.url.appendingPathComponent("hub-b.log")
            let b = try HubProcess(config: try config(port: portB), db: db, log: logB)
            reaper.add(b)
            #expect(await b.waitHealthy(client, port: portB))
            try await poll(timeout: 20) { try store.deliveries(connector: sinkId).first?.state == .delivered }
            let delivered = try #require(try store.deliveries(connector: sinkId).first)
            #expect(delivered.state == .delivered, "B did not deliver after A's lease expired")
            #expect(target.count("/sink/orders") == 2)
            let detailBefore = try #require(try store.eventDetail(delivered.eventId)).deliveries[0]
            let lastClaim = try #require(detailBefore.transitions.last { $0.toState == .inFlight })
            #expect(lastClaim.reason?.contains("claimed by hub-\(b.pid)-") == true, "B made the last claim: \(lastClaim.reason ?? "")")
            #expect(detailBefore.attempts.map(\.outcome) == [.leaseExpired, .success])

            // A wakes; its held request is answered 500; its outcome must be refused.
            release.raise()
            a.signal(SIGCONT)
            try await poll(timeout: 15) { a.logText().contains("lease lost") }
            #expect(a.logText().contains("lease lost"), "A should log that its lease was lost:\n\(a.logText())")
            try await Task.sleep(for: .milliseconds(500))  // anything A might still write, written

            let after = try #require(try store.eventDetail(delivered.eventId)).deliveries[0]
            #expect(after.delivery.state == .delivered)
            #expect(after.attempts == detailBefore.attempts, "A's late outcome added an attempt")
            #expect(after.transitions == detailBefore.transitions, "A's late outcome added a transition")
            #expect(after.transitions.last?.toState == .delivered)
            #expect(after.transitions.last?.actor == .worker)
            #expect(after.attempts.last?.outcome == .success)
            #expect(after.delivery.lastStatus == 200)
            let answers = target.requests("/sink/orders").sorted { $0.at < $1.at }.map(\.status)
            #expect(Set(answers) == [200, 500], "B was answered 200 and A 500: \(answers)")

            // The store's own answer to A's outcome, asked directly with A's stale lease token.
            let writable = try Store.open(at: db, mode: .existing)
            let record = try writable.record(DeliveryOutcome(
                deliveryId: delivered.id, leaseToken: staleToken, result: .retry(at: Date()), startedAt: Date(),
                durationMs: 900, statusCode: 500, error: "HTTP 500"))
            #expect(record == .leaseLost)
            let final = try #require(try store.eventDetail(delivered.eventId)).deliveries[0]
            #expect(final == after)

            // The accounting: acknowledged once, accepted once; A's refused request was the one repeat.
            let report = try Accounting.check(acked: ["stale-1"], store: store, sink: "sink",
                                              received: target.requests("/sink/orders").map(Reception.init),
                                              duplicateBound: 1)
            #expect(report.isSound, "\(report)")
            #expect(report.repeats == 0, "the target accepted the message once (A's request was answered 500)")
            let warning = a.logText().split(separator: "\n").first { $0.contains("lease lost") }.map(String.init) ?? "none"
            Proof.report("stale worker: A (pid \(a.pid)) frozen with the lease, B (pid \(b.pid)) recovered and delivered; " +
                         "A's late outcome refused (leaseLost); A logged: \(warning); \(report)")

            #expect(await a.terminate() == 0)
            #expect(await b.terminate() == 0)
            for (name, log) in [("A", a.logText()), ("B", b.logText())] {
                #expect(!log.contains("database is locked") && !log.contains("stayed locked"), "\(name) hit a locked database")
            }
            try await client.shutdown()
        }
    }
}

final class PidBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: pid_t?
    var pid: pid_t? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes (the caller's expectations then fail).
func poll(timeout: TimeInterval, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
}
