import AsyncHTTPClient
import Foundation
import PatchbayStore
import TestSupport
import Testing

extension Proofs {
    /// The database on a tiny tmpfs that fills up during ingest: webhooks get 503 (never a 200 for
    /// something not stored), nothing acknowledged is lost, the dashboard (the real binary, in tmux)
    /// shows the full disk, and the hub recovers when space returns.
    /// Needs root for `mount -t tmpfs` (CI and this project's machines have it); elsewhere it is
    /// reported as skipped, never passed.
    @Suite("Full disk", .serialized)
    struct FullDiskTests {
        static let canMount: Bool = {
            guard getuid() == 0 else { return false }
            let probe = FileManager.default.temporaryDirectory.appendingPathComponent("patchbay-mount-probe-\(getpid())")
            try? FileManager.default.createDirectory(at: probe, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: probe) }
            guard (try? Spawn.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe.path]))?.status == 0 else { return false }
            _ = try? Spawn.run("/bin/umount", [probe.path])
            return true
        }()

        @Test("disk full during ingest: 503, nothing acknowledged lost, recovery when space returns",
              .enabled(if: canMount, "needs root to mount a size-limited tmpfs"))
        func fullDiskDuringIngest() async throws {
            let directory = try TemporaryDirectory()
            let disk = directory.url.appendingPathComponent("disk")
            try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
            #expect(try Spawn.run("/bin/mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", disk.path]).status == 0)
            let reaper = ProcessReaper()
            let tmux = PrivateTmux()
            let target = try await ScriptedTarget()
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer {
                tmux.kill()
                reaper.killAll()
                target.stop()
                _ = try? Spawn.run("/bin/umount", ["-l", disk.path])
                directory.remove()
            }
            let port = try Proof.freePort()
            let config = directory.url.appendingPathComponent("hub.yaml")
            try """
                server: {listen: "127.0.0.1:\(port)", max_body: 64KiB}
                delivery: {lease: 5s}
                connectors:
                  events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
                  sink: {module: http, url: "\(target.url)/sink", subscribe: [order_created], timeout: 2s}
                """.write(to: config, atomically: true, encoding: .utf8)
            let db = disk.appendingPathComponent("hub.sqlite").path
            let hub = try HubProcess(config: config, db: db, log: directory.url.appendingPathComponent("hub.log"))
            reaper.add(hub)
            #expect(await hub.waitHealthy(client, port: port))
            // Fill most of the disk with a file we can delete later.
            let filler = disk.appendingPathComponent("filler")
            let free = try FileManager.default.attributesOfFileSystem(forPath: disk.path)[.systemFreeSize] as! Int
            FileManager.default.createFile(atPath: filler.path, contents: Data(count: max(0, free - 400_000)))

            let sender = GitHubSender(client: client, port: port)
            var acknowledged: [String] = []
            var refused = 0
            var other: [Int?] = []
            for n in 0..<3000 where refused < 20 {
                let id = "disk-\(n)"
                switch await sender.send(id: id) {
                case 200: acknowledged.append(id)
                case 503: refused += 1
                case let status: other.append(status)
                }
            }
            #expect(refused >= 20, "the disk never filled: \(acknowledged.count) acknowledged")
            #expect(other.isEmpty, "answers other than 200/503: \(other.prefix(5))")

            // The operator's view: a dashboard opened on the full disk says so, in its header and its
            // status line, though no process could write a word about it into the database.
            let dashboard: (@Sendable (String) -> Bool) async -> String = { condition in
                var screen = ""
                for _ in 0..<100 {
                    screen = (try? tmux.capture("dash")) ?? ""
                    if condition(screen) { break }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return screen
            }
            let hasTmux = PrivateTmux.available
            if hasTmux {
                let command = [Proof.binary.path, "dash", "--db", db].map(shellQuote).joined(separator: " ")
                try tmux.newSession("dash", width: 140, height: 40,
                                    shell: "\(command) 2> \(shellQuote(directory.path("dash.err"))); sleep 600")
                let screen = await dashboard { $0.contains("DISK FULL") }
                #expect(screen.contains("DISK FULL"), "the dashboard does not show the full disk:\n\(screen)")
                #expect(screen.contains("disk full:") && screen.contains("503"), "no explanation in the status line:\n\(screen)")
            }
            // Space returns; the same hub process takes webhooks again, without a restart.
            try FileManager.default.removeItem(at: filler)
            var recovered = false
            for attempt in 0..<100 where !recovered {
                if await sender.send(id: "after-\(attempt)") == 200 {
                    recovered = true
                    acknowledged.append("after-\(attempt)")
                } else {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(recovered, "the hub did not accept webhooks after space returned")
            if hasTmux {
                let screen = await dashboard { !$0.contains("DISK FULL") && $0.contains("Patchbay") }
                #expect(!screen.contains("DISK FULL"), "the dashboard still shows a full disk after space returned:\n\(screen)")
            }
            // Every acknowledged webhook is stored and delivered.
            let store = try Store.open(at: db, mode: .readOnly)
            let sinkId = try #require(try store.connector(named: "sink")).id
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, try store.deliveries(connector: sinkId).filter({ $0.state == .delivered }).count < acknowledged.count {
                try await Task.sleep(for: .milliseconds(100))
            }
            let received = Set(target.requests("/sink").compactMap { $0.json?["id"] as? String })
            #expect(Set(acknowledged).subtracting(received).isEmpty, "acknowledged but not delivered: \(Set(acknowledged).subtracting(received).prefix(5))")
            #expect(hub.logText().contains("cannot store a webhook"), "the refusal is logged with its cause")
            Proof.report("full disk: \(acknowledged.count) acknowledged, \(refused) refused with 503 while full, "
                         + "dashboard showed it: \(hasTmux ? "yes" : "not run (no tmux)"), recovered without restart, 0 lost")
            try await client.shutdown()
        }
    }
}
