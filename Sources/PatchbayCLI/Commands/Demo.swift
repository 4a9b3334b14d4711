import ArgumentParser
import Foundation
import Logging
import PatchbayDashboard
import PatchbayRuntime
import PatchbayStore

extension Patchbay {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A live demo: a week of history, then the hub running all four patterns against mock SaaS systems, in the dashboard.",
            discussion: """
                The database is created and backfilled once (delete it to start over). The demo then
                serves mock Xero, ERP, warehouse, shipping, inventory and CRM endpoints on 127.0.0.1,
                runs the hub on its configuration (written beside the database as
                patchbay-demo.yaml), sends signed Shopify, storefront and CRM webhooks with bursts and
                failures, drops ERP and QuickBooks export files, and opens the dashboard. Quitting the
                dashboard stops everything. The hub's log goes to the database's name + .log.
                With --headless (or without a terminal) it runs for --duration and prints a summary.
                """)

        @Option(help: "The demo database.") var db = "patchbay-demo.sqlite"
        @Option(help: "How many events of backfilled history.") var events = 5000
        @Flag(help: "Run without the dashboard and print a summary at the end.") var headless = false
        @Option(help: "How long to run headless (e.g. 30s, 5m).") var duration: Duration?
        @Flag(help: "Only backfill history and show it; do not run the live hub.") var noLive = false
        @Option(help: "Dashboard theme (see `patchbay dash --help`).") var theme: String?

        func run() async throws {
            if FileManager.default.fileExists(atPath: db) {
                _ = try Store.open(at: db)
                emit("Using the existing demo database \(db) (delete it to start over).")
            } else {
                try seedDatabase(at: db, events: events, days: 7, seed: 42)
            }
            let interactive = !headless && isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
            if noLive {
                if interactive { try DashboardRunner.run(.init(databasePath: db, theme: theme)) } else { try printSummary() }
                return
            }
            let logger = HubLogging.bootstrap(level: "info", file: db + ".log")
            let store = try Store.open(at: db)
            let directory = URL(fileURLWithPath: db).standardizedFileURL.deletingLastPathComponent()
                .appendingPathComponent((db as NSString).lastPathComponent + ".files")
            let world = try await DemoWorld.start(store: store, directory: directory, logger: logger)
            if interactive {
                var chosen = DashboardRunner.Options(databasePath: db, theme: theme)
                chosen.nextRun = try? Dash.nextRun(configFile: directory.appendingPathComponent("patchbay-demo.yaml").path)
                let options = chosen
                let outcome: Result<Void, any Error> = await withCheckedContinuation { continuation in
                    // The dashboard blocks its thread on the terminal; keep it off Swift's small pool.
                    Thread.detachNewThread {
                        continuation.resume(returning: Result { try DashboardRunner.run(options) })
                    }
                }
                await world.stop()
                try outcome.get()
                return
            }
            let seconds = duration?.seconds ?? 30
            emit("Demo hub on 127.0.0.1:\(world.runtime.port ?? 0), mocks on \(world.mocks.baseURL); running \(Int(seconds)) s headless.")
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            await world.stop()
            try printSummary(live: world)
        }

        private func printSummary(live world: DemoWorld? = nil) throws {
            let store = try Store.open(at: db, mode: .readOnly)
            let now = Date()
            emit("")
            emit(Render.statusTable(try store.connectorStatuses(), now: now))
            let groups = try store.errorGroups(limit: 8)
            if !groups.isEmpty {
                emit("\nFailing now, by error:")
                emit(Render.groupsTable(groups, now: now))
            }
            let aging = try store.aging(asOf: now.isoDay)
            emit("\n" + Render.agingTable(aging))
            if let world {
                let received = try store.receivedCount(since: now.addingTimeInterval(-3600))
                let rejected = try store.rejectedCount(since: now.addingTimeInterval(-3600))
                let accepted = ["xero", "erp", "warehouse", "crm", "inventory", "shipping", "accounting"]
                    .map { "\($0) \(world.mocks.accepted($0))" }.joined(separator: ", ")
                emit("\nLive: \(received) events received in the last hour, \(rejected) webhooks refused; mocks accepted: \(accepted).")
                let runs = try store.batchRuns(limit: 3)
                for run in runs {
                    emit("Batch \(run.job): \(run.status.rawValue), \(run.rowsRead) read, \(run.rowsLoaded) loaded, \(run.rowsRejected) rejected")
                }
            }
            // The SaaS sessions: OAuth tokens the hub refreshed, and what Xero says is left of its quota.
            let names = Dictionary(try store.connectors().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
            let quotas = Dictionary(try store.quotas().map { ($0.connector, $0) }, uniquingKeysWith: { a, _ in a })
            for token in try store.oauthTokens() {
                let name = names[token.connector] ?? "#\(token.connector)"
                let expiry = token.accessExpiresAt.map { "expires " + Render.ago($0, now: now) } ?? "has no expiry"
                var line = "OAuth \(name): \(token.version) token\(token.version == 1 ? "" : "s") obtained so far, the current one \(expiry)"
                if let quota = quotas[token.connector], let day = quota.dayRemaining {
                    line += "; Xero quota \(day) of \(quota.dayLimit ?? 5000) left today"
                }
                emit(line)
            }
            let alerts = try store.recentAlerts(limit: 10)
            if !alerts.isEmpty {
                emit("\nAlerts:")
                emit(AlertRender.table(alerts, now: now))
            }
            if let world {
                emit("Mock Slack received \(world.mocks.slackMessages.count) message\(world.mocks.slackMessages.count == 1 ? "" : "s")"
                     + (world.mocks.slackMessages.last.map { "; the last: " + ($0.split(separator: "\n").first.map(String.init) ?? "") } ?? "."))
            }
            emit("\nOpen the dashboard: patchbay --db \(db)   Drill in: patchbay failed --group --db \(db)   Alerts: patchbay alerts --db \(db)")
        }
    }
}
