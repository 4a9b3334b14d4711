import AsyncHTTPClient
import Foundation
import PatchbayStore
import TestSupport
import Testing

extension Proofs {
    /// `patchbay run` killed over and over under load, on one database: with SIGKILL at random moments,
    /// and by injected crashes exactly between an ingest commit and its HTTP answer
    /// (`ingest.after-commit`) and between a sink's success and the recording of it
    /// (`delivery.after-sink`). Senders re-send every message until acknowledged, as real senders do.
    ///
    /// The promise (README, "Running the hub"): nothing acknowledged is lost; at most the deliveries in
    /// flight at a crash are sent again, with the same Idempotency-Key.
    ///
    /// `PATCHBAY_CRASH_ROUNDS` (default 10) sets the number of crashes, `PATCHBAY_CRASH_SEED` replays a
    /// run; `scripts/crash-loop.sh` runs it longer.
    @Suite("Crash loop", .serialized)
    struct CrashLoopTests {
        enum Kind: String, CaseIterable { case sigkill, ingestAfterCommit = "ingest.after-commit", deliveryAfterSink = "delivery.after-sink" }

        @Test("crashes at random moments under load: nothing acknowledged lost, repeats within sink concurrency × crashes, one key each")
        func crashLoop() async throws {
            let rounds = max(1, Proof.environmentInt("PATCHBAY_CRASH_ROUNDS", 10))
            let seed = ProcessInfo.processInfo.environment["PATCHBAY_CRASH_SEED"].flatMap { UInt64($0) }
                ?? UInt64.random(in: 1...UInt64(UInt32.max))
            Proof.report("crash loop: seed \(seed), \(rounds) crashes (replay: PATCHBAY_CRASH_SEED=\(seed) PATCHBAY_CRASH_ROUNDS=\(rounds))")
            var rng = SeededRandom(seed: seed)
            let started = Date()
            let concurrency = 4
            let lanes = 8

            let directory = try TemporaryDirectory()
            let target = try await ScriptedTarget()
            let reaper = ProcessReaper()
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            var keepDirectory = false
            defer {
                reaper.killAll()
                target.stop()
                if !keepDirectory { directory.remove() }
            }
            let port = try Proof.freePort()
            let config = directory.url.appendingPathComponent("hub.yaml")
            try """
                server: {listen: "127.0.0.1:\(port)"}
                delivery: {lease: 4s, poll: 100ms, batch: 20}
                retry: {max_attempts: 200, base_delay: 100ms, max_delay: 1s, jitter: 0}
                connectors:
                  events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
                  sink:
                    module: http
                    url: "\(target.url)/sink/orders"
                    subscribe: [order_created]
                    concurrency: \(concurrency)
                    timeout: 900ms
                """.write(to: config, atomically: true, encoding: .utf8)
            let db = directory.path("hub.sqlite")
            let log = directory.url.appendingPathComponent("hub.log")

            let ledger = AckLedger()
            let stop = StopFlag()
            let hardDeadline = Date().addingTimeInterval(90 + 8 * Double(rounds))
            let sender = GitHubSender(client: client, port: port)
            var incarnations: [(kind: Kind, faults: String?, outcome: String)] = []
            var crashes = 0
            var fired: [Kind: Int] = [:]
            var finalHub: HubProcess?

            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Senders: unique ids, each re-sent until the hub answers 200.
                    for lane in 0..<lanes {
                        group.addTask {
                            var seq = 0
                            while !stop.isRaised, Date() < hardDeadline {
                                let id = "c\(lane)-\(seq)"
                                if let sent = await sender.sendUntilAcknowledged(id: id, giveUp: { Date() > hardDeadline }) {
                                    ledger.acknowledged(id)
                                    ledger.note(tries: sent.tries, statuses: sent.statuses)
                                }
                                seq += 1
                                try await Task.sleep(for: .milliseconds(25))
                            }
                        }
                    }

                    // The crasher: each incarnation dies by SIGKILL at a random moment or at an armed fault point.
                    var kinds: [Kind] = []
                    for round in 0..<rounds {
                        kinds.append(Kind.allCases[round % 3])
                    }
                    kinds.shuffle(using: &rng)
                    for kind in kinds {
                        let n = Int.random(in: 1...40, using: &rng)
                        let faults = kind == .sigkill ? nil : "\(kind.rawValue):\(n)"
                        let hub = try HubProcess(config: config, db: db, log: log, faults: faults)
                        reaper.add(hub)
                        // Really serving: this process answers, not a leftover holding the port. (An
                        // armed incarnation may reach its fault point before the first poll.)
                        let healthy = await hub.waitHealthy(client, port: port)
                        #expect(healthy || (kind != .sigkill && !hub.isRunning && hub.process.terminationStatus == 137),
                                "incarnation \(incarnations.count + 1) did not come up: \(hub.logText().suffix(600))")
                        let delay = Double(Int.random(in: 100...600, using: &rng)) / 1000
                        // An armed incarnation gets time to reach its fault point; SIGKILL if it does not.
                        let exited = await hub.waitExit(timeout: kind == .sigkill ? delay : delay + 4)
                        if !exited { hub.signal(SIGKILL) }
                        hub.process.waitUntilExit()
                        let outcome: String
                        if hub.process.terminationReason == .uncaughtSignal, hub.process.terminationStatus == SIGKILL {
                            outcome = "SIGKILL after \(Int(delay * 1000)) ms"
                        } else if hub.process.terminationReason == .exit, hub.process.terminationStatus == 137, kind != .sigkill {
                            outcome = "fault fired"
                            fired[kind, default: 0] += 1
                        } else {
                            outcome = "unexpected end: \(hub.process.terminationReason == .exit ? "exit" : "signal") \(hub.process.terminationStatus)"
                            Issue.record("incarnation \(incarnations.count + 1) (\(faults ?? "no faults")) ended unexpectedly: \(outcome)")
                        }
                        crashes += 1
                        incarnations.append((kind, faults, outcome))
                    }

                    // The last incarnation runs clean: senders finish their current message, then it drains.
                    let hub = try HubProcess(config: config, db: db, log: log)
                    reaper.add(hub)
                    finalHub = hub
                    #expect(await hub.waitHealthy(client, port: port), "the final hub did not come up")
                    stop.raise()
                    try await group.waitForAll()
                }
            } catch {
                keepDirectory = true
                throw error
            }

            for (index, incarnation) in incarnations.enumerated() {
                Proof.report("  incarnation \(index + 1): \(incarnation.faults ?? "no faults") → \(incarnation.outcome)")
            }
            let acked = ledger.acked
            #expect(Date() < hardDeadline, "senders ran out of time")
            #expect(acked.count > 100, "too little traffic to prove anything: \(acked.count) acknowledged")

            // Drain: wait until every acknowledged message's delivery is finished.
            let store = try Store.open(at: db, mode: .readOnly)
            let sinkId = try #require(try store.connector(named: "sink")).id
            let drainStarted = Date()
            let drainDeadline = Date().addingTimeInterval(60)
            while Date() < drainDeadline {
                let counts = try store.deliveryCountsByConnector()[sinkId] ?? [:]
                let open = (counts[.pending] ?? 0) + (counts[.retrying] ?? 0) + (counts[.inFlight] ?? 0)
                let total = counts.values.reduce(0, +)
                if open == 0 && total >= acked.count { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let drainSeconds = Date().timeIntervalSince(drainStarted)
            let bound = concurrency * crashes
            let report = try Accounting.check(acked: acked, store: store, sink: "sink",
                                              received: target.requests("/sink/orders").map(Reception.init),
                                              duplicateBound: bound)
            let deliveries = try store.deliveries(connector: sinkId)
            let maxAttempts = deliveries.map(\.attempts).max() ?? 0

            Proof.report("crash loop: \(crashes) crashes survived (\(incarnations.filter { $0.outcome.hasPrefix("SIGKILL") }.count) SIGKILL, " +
                         "\(fired[.ingestAfterCommit] ?? 0) at ingest.after-commit, \(fired[.deliveryAfterSink] ?? 0) at delivery.after-sink), " +
                         "\(report.acked) messages checked, \(report.repeats) repeats (bound \(bound)), " +
                         "\(report.requests) requests to the target, most attempts on one delivery \(maxAttempts), " +
                         "refusals \(ledger.refusals), unanswered sends \(ledger.unanswered), drained in \(String(format: "%.1f", drainSeconds)) s, " +
                         "total \(String(format: "%.1f", Date().timeIntervalSince(started))) s, seed \(seed)")
            Proof.report("crash loop accounting: \(report)")

            #expect(report.isSound, "\(report)")
            #expect(report.states[.delivered] == acked.count, "every message should be delivered (the target always answers 200): \(report)")
            #expect(report.repeats <= bound)
            if rounds >= 3 {
                #expect((fired[.ingestAfterCommit] ?? 0) >= 1, "no crash between commit and answer happened")
                #expect((fired[.deliveryAfterSink] ?? 0) >= 1, "no crash between a sink's success and its recording happened")
            }
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            for bad in ["database is locked", "SQLITE_BUSY", "stayed locked", "cannot store a webhook", "cannot record an outcome"] {
                #expect(!text.contains(bad), "the hub logged '\(bad)'")
            }
            if !report.isSound {
                keepDirectory = true
                Proof.report("kept \(directory.url.path) for inspection")
            }

            if let finalHub {
                let status = await finalHub.terminate()
                #expect(status == 0, "SIGTERM should exit 0")
            }
            try await client.shutdown()
        }
    }
}
