import AsyncHTTPClient
import Foundation
import PatchbayStore
import TestSupport
import Testing

extension Proofs {
    /// Everything at once on one database file: `patchbay run` under a steady webhook load, two live
    /// dashboards in a private tmux server, and a loop of CLI commands (reads and `retry --all` writes).
    ///
    /// Nobody may see an unhandled SQLITE_BUSY ("database is locked"), every CLI call exits 0, the hub
    /// keeps acknowledging, and the WAL stays bounded while the dashboards sit open (readers must not
    /// starve checkpoints). `PATCHBAY_CONTENTION_SECONDS` sets the load's length (default 30).
    @Suite("Contention", .serialized, .enabled(if: PrivateTmux.available, "needs tmux"))
    struct ContentionTests {
        static let walLimit = 64 << 20

        @Test("hub under load + two live dashboards + a CLI loop: no 'database is locked', CLI exits 0, acks keep coming, WAL bounded")
        func everythingAtOnce() async throws {
            let begun = Date()
            let seconds = Double(max(5, Proof.environmentInt("PATCHBAY_CONTENTION_SECONDS", 30)))
            let directory = try TemporaryDirectory()
            let target = try await ScriptedTarget()
            let reaper = ProcessReaper()
            let tmux = PrivateTmux()
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer {
                tmux.kill()
                reaper.killAll()
                target.stop()
                directory.remove()
            }
            // `good` always takes the message; `flaky` refuses a third of requests and gives up after two
            // attempts, so `failed` has rows and `retry --all` has work to do.
            target.script("/sink/flaky") { _, n in n % 3 == 0 ? Reply(status: 500, body: #"{"error":"flaky"}"#) : .ok }
            let port = try Proof.freePort()
            let config = directory.url.appendingPathComponent("hub.yaml")
            try """
                server: {listen: "127.0.0.1:\(port)"}
                delivery: {lease: 10s, poll: 100ms}
                retry: {max_attempts: 2, base_delay: 200ms, max_delay: 1s, jitter: 0}
                connectors:
                  events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
                  good:
                    module: http
                    url: "\(target.url)/sink/good"
                    subscribe: [order_created]
                    concurrency: 4
                    timeout: 5s
                  flaky:
                    module: http
                    url: "\(target.url)/sink/flaky"
                    subscribe: [order_created]
                    concurrency: 4
                    timeout: 5s
                """.write(to: config, atomically: true, encoding: .utf8)
            let db = directory.path("hub.sqlite")
            let wal = db + "-wal"
            let hubLog = directory.url.appendingPathComponent("hub.log")
            let hub = try HubProcess(config: config, db: db, log: hubLog, logLevel: "info")
            reaper.add(hub)
            try #require(await hub.waitHealthy(client, port: port), "the hub did not come up:\n\(hub.logText())")

            // Two dashboards, 120×40 each, stderr to files, exit status kept.
            for name in ["dash-a", "dash-b"] {
                let err = directory.path("\(name).err"), exit = directory.path("\(name).exit")
                let command = [Proof.binary.path, "dash", "--db", db].map(shellQuote).joined(separator: " ")
                try tmux.newSession(name, shell: "\(command) 2> \(shellQuote(err)); echo $? > \(shellQuote(exit)); sleep 600")
            }
            for name in ["dash-a", "dash-b"] {
                let screen = try await waitForScreen(tmux, name) { $0.contains("Patchbay") && $0.contains("Retry queue") }
                #expect(screen.contains("Retry queue"), "\(name) did not draw its overview:\n\(screen)")
            }

            // Self-check of the WAL assertion: PATCHBAY_CONTENTION_HOLD_READER=1 adds a reader that keeps
            // one read transaction open for the whole run (what a dashboard must never do); the WAL must
            // then outgrow the limit and this test fail.
            if Proof.environmentInt("PATCHBAY_CONTENTION_HOLD_READER", 0) == 1 {
                try tmux.newSession("reader", shell: "sqlite3 -cmd BEGIN -cmd \(shellQuote("SELECT count(*) FROM events")) \(shellQuote(db))")
            }

            let ledger = AckLedger()
            let stopLoad = StopFlag()
            let stopSide = StopFlag()
            let giveUpAt = Date().addingTimeInterval(seconds + 60)
            let sender = GitHubSender(client: client, port: port)
            let side = SideActivity()
            let started = Date()

            // The side: WAL watcher, CLI loop and dashboard keys, on threads of their own (they block).
            let walThread = side.thread {
                while !stopSide.isRaised {
                    side.sampleWAL(wal)
                    Thread.sleep(forTimeInterval: 0.05)
                }
            }
            let cliThread = side.thread {
                let commands: [[String]] = [
                    ["status", "--db", db], ["status", "--db", db, "--json"], ["failed", "--db", db, "--json"],
                    ["failed", "--db", db, "--group"], ["retry", "--db", db, "--all"], ["events", "--db", db, "--limit", "20"],
                    ["retry", "--db", db, "--all", "--json"],
                ]
                var index = 0
                while !stopSide.isRaised {
                    let arguments = commands[index % commands.count]
                    index += 1
                    side.cli(arguments, (try? Spawn.patchbay(arguments)) ?? Spawn.Result(status: -1, stdout: "", stderr: "could not start"))
                }
            }
            let keysThread = side.thread {
                // dash-a stays on the live overview; dash-b walks the screens, each a different set of reads.
                let keys = ["2", "3", "4", "5", "1", "+", "-", "7", "1"]
                var index = 0
                while !stopSide.isRaised {
                    _ = try? tmux.send("dash-b", keys[index % keys.count])
                    index += 1
                    for name in ["dash-a", "dash-b"] {
                        if let screen = try? tmux.capture(name) { side.screen(name, screen) }
                    }
                    Thread.sleep(forTimeInterval: 1)
                }
            }

            // The load: five senders, each message re-sent until acknowledged.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<5 {
                    group.addTask {
                        var seq = 0
                        while !stopLoad.isRaised {
                            let id = "k\(lane)-\(seq)"
                            if let sent = await sender.sendUntilAcknowledged(id: id, giveUp: { Date() > giveUpAt }) {
                                ledger.acknowledged(id)
                                ledger.note(tries: sent.tries, statuses: sent.statuses)
                            }
                            seq += 1
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
                try await Task.sleep(for: .seconds(seconds))
                stopLoad.raise()
                try await group.waitForAll()
            }
            let loadSeconds = Date().timeIntervalSince(started)
            let hubWrites = Self.writtenBytes(pid: hub.pid)

            // The dashboards are still alive and drawing, then quit cleanly.
            for name in ["dash-a", "dash-b"] {
                try tmux.send(name, "1")
                let screen = try await waitForScreen(tmux, name) { $0.contains("Patchbay") && $0.contains("Retry queue") }
                side.screen(name, screen)
                #expect(!FileManager.default.fileExists(atPath: directory.path("\(name).exit")), "\(name) exited during the run")
                try tmux.send(name, "q")
            }
            stopSide.raise()
            for thread in [walThread, cliThread, keysThread] { await thread.finish() }
            for name in ["dash-a", "dash-b"] {
                let exitFile = directory.path("\(name).exit")
                try await poll(timeout: 10) { FileManager.default.fileExists(atPath: exitFile) && ((try? String(contentsOfFile: exitFile, encoding: .utf8)) ?? "").hasSuffix("\n") }
                let status = (try? String(contentsOfFile: exitFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(status == "0", "\(name) exit status \(status ?? "none")")
                let err = (try? String(contentsOfFile: directory.path("\(name).err"), encoding: .utf8)) ?? ""
                #expect(!Self.mentionsLocking(err), "\(name) stderr: \(err)")
            }

            // Drain, then account for both sinks: no crash happened, so no repeat is allowed.
            let closed = Date()
            let store = try Store.open(at: db, mode: .readOnly)
            let acked = ledger.acked
            let backlog = try store.deliveryCountsByConnector().values.reduce(0) {
                $0 + ($1[.pending] ?? 0) + ($1[.retrying] ?? 0) + ($1[.inFlight] ?? 0)
            }
            try await poll(timeout: 60) {
                let counts = try store.deliveryCountsByConnector()
                return counts.values.allSatisfy { ($0[.pending] ?? 0) + ($0[.retrying] ?? 0) + ($0[.inFlight] ?? 0) == 0 }
                    && counts.values.reduce(0) { $0 + $1.values.reduce(0, +) } >= 2 * acked.count
            }
            let drained = Date()
            let good = try Accounting.check(acked: acked, store: store, sink: "good",
                                            received: target.requests("/sink/good").map(Reception.init), duplicateBound: 0)
            let flaky = try Accounting.check(acked: acked, store: store, sink: "flaky",
                                             received: target.requests("/sink/flaky").map(Reception.init), duplicateBound: 0)
            let hubText = hub.logText()
            let walEnd = side.walSize(wal)
            let gaps = zip(ledger.ackTimes.sorted().dropFirst(), ledger.ackTimes.sorted()).map { $0.timeIntervalSince($1) }
            let longestGap = gaps.max() ?? .infinity
            let cli = side.cliResults
            let cliFailures = cli.filter { $0.result.status != 0 }
            let lockedCLI = cli.filter { Self.mentionsLocking($0.result.stdout + $0.result.stderr) }
            let lockedScreens = side.screens.filter { Self.mentionsLocking($0.screen) }

            Proof.report("contention: \(String(format: "%.0f", loadSeconds)) s of load, \(acked.count) acknowledged " +
                         "(\(String(format: "%.0f", Double(acked.count) / loadSeconds))/s), longest gap between acks " +
                         "\(String(format: "%.2f", longestGap)) s, refusals \(ledger.refusals), unanswered \(ledger.unanswered); " +
                         "\(cli.count) CLI runs (\(cliFailures.count) failed); 2 dashboards, \(side.screens.count) screens captured; " +
                         "WAL max \(side.walMax) bytes (\(String(format: "%.1f", Double(side.walMax) / 1_048_576)) MiB), at end \(walEnd) bytes, " +
                         "hub wrote \(hubWrites.map { String(format: "%.0f MiB", Double($0) / 1_048_576) } ?? "?") meanwhile; " +
                         "set-up \(String(format: "%.1f", started.timeIntervalSince(begun))) s, dashboards closed in " +
                         "\(String(format: "%.1f", closed.timeIntervalSince(started) - loadSeconds)) s, drained \(backlog) open deliveries in \(String(format: "%.1f", drained.timeIntervalSince(closed))) s")
            Proof.report("contention accounting good: \(good)")
            Proof.report("contention accounting flaky: \(flaky)")

            #expect(acked.count > 100, "the hub acknowledged too little: \(acked.count)")
            #expect(longestGap < 5, "the hub stopped acknowledging for \(longestGap) s")
            #expect(ledger.refusals.isEmpty, "the hub refused webhooks: \(ledger.refusals)")
            #expect(cli.count >= 10, "the CLI loop ran only \(cli.count) times")
            for failure in cliFailures.prefix(5) {
                Issue.record("`patchbay \(failure.arguments.joined(separator: " "))` exited \(failure.result.status): \(failure.result.stderr)")
            }
            for locked in lockedCLI.prefix(5) {
                Issue.record("`patchbay \(locked.arguments.joined(separator: " "))` reported locking: \(locked.result.stderr)")
            }
            for locked in lockedScreens.prefix(3) {
                Issue.record("\(locked.name) showed a locking error:\n\(locked.screen)")
            }
            #expect(!Self.mentionsLocking(hubText), "the hub logged a locking error")
            #expect(!hubText.contains("cannot store a webhook") && !hubText.contains("cannot record an outcome")
                    && !hubText.contains("cannot claim deliveries"), "the hub logged a failed write")
            #expect(side.walMax > 0, "the WAL file was never seen")
            #expect(side.walMax < Self.walLimit, "the WAL grew to \(side.walMax) bytes with dashboards open: checkpoints starved")
            #expect(good.isSound, "\(good)")
            #expect(flaky.isSound, "\(flaky)")
            #expect(good.states[.delivered] == acked.count)

            #expect(await hub.terminate() == 0)
            try await client.shutdown()
        }

        /// Bytes a process asked to write so far (`wchar` of /proc/PID/io): the WAL traffic, roughly.
        static func writtenBytes(pid: pid_t) -> Int? {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return nil }
            for line in text.split(separator: "\n") where line.hasPrefix("wchar:") {
                return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
            }
            return nil
        }

        static func mentionsLocking(_ text: String) -> Bool {
            let lower = text.lowercased()
            return lower.contains("database is locked") || lower.contains("sqlite_busy") || lower.contains("stayed locked")
                || lower.contains("database table is locked") || lower.contains("sqlite_locked")
        }

        func waitForScreen(_ tmux: PrivateTmux, _ session: String, timeout: TimeInterval = 20,
                           _ condition: (String) -> Bool) async throws -> String {
            let deadline = Date().addingTimeInterval(timeout)
            var screen = ""
            while Date() < deadline {
                screen = (try? tmux.capture(session)) ?? ""
                if condition(screen) { return screen }
                try await Task.sleep(for: .milliseconds(100))
            }
            return screen
        }
    }
}

/// What the side threads saw: WAL sizes, CLI results, dashboard screens.
final class SideActivity: @unchecked Sendable {
    private let lock = NSLock()
    private var _walMax = 0
    private var _cli: [(arguments: [String], result: Spawn.Result)] = []
    private var _screens: [(name: String, screen: String)] = []

    var walMax: Int { lock.withLock { _walMax } }
    var cliResults: [(arguments: [String], result: Spawn.Result)] { lock.withLock { _cli } }
    var screens: [(name: String, screen: String)] { lock.withLock { _screens } }

    func walSize(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    func sampleWAL(_ path: String) {
        let size = walSize(path)
        lock.withLock { _walMax = max(_walMax, size) }
    }

    func cli(_ arguments: [String], _ result: Spawn.Result) { lock.withLock { _cli.append((Array(arguments.prefix(1)) + arguments.dropFirst(3), result)) } }

    func screen(_ name: String, _ screen: String) { lock.withLock { _screens.append((name, screen)) } }

    /// Runs `body` on a thread of its own; `finish()` waits for it.
    func thread(_ body: @escaping @Sendable () -> Void) -> SideThread {
        let done = SideThread()
        let thread = Thread {
            body()
            done.markDone()
        }
        thread.start()
        return done
    }
}

final class SideThread: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func markDone() { lock.withLock { done = true } }
    func finish() async {
        while !lock.withLock({ done }) { try? await Task.sleep(for: .milliseconds(20)) }
    }
}
