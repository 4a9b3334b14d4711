import ArgumentParser
import Foundation
import PatchbayConnectors
import PatchbayStore

extension Patchbay {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per connector: pattern, health (orphaned: not in the hub's configuration), deliveries by state, last success, last error.",
            discussion: """
                Sources also show what they received and refused (today and in --window), their last
                event, and whether the last hour is quiet compared with the same hour of the previous
                weeks. Batch jobs show their last run and its rows; with --config, their next run.
                """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The hub's configuration, for batch jobs' next runs (only `schedule:` is read; secrets need not be set).")
        var config: String?
        @Option(help: "The span sources' received and refused counts cover (15m, 1h, 24h, 7d).", transform: Duration.parse)
        var window = Duration(seconds: 3600)
        @OptionGroup var output: JSONOption

        func run() async throws {
            let store: any CommandLineReading = try database.openStore(readOnly: true)
            let now = Date()
            let statuses = try store.connectorStatuses()
            let health = store as? any HealthReading
            let sources = try health?.sourceHealth(window: window.seconds, now: now) ?? [:]
            let jobs = try health?.batchJobHealth() ?? [:]
            let quotas = Dictionary(try (store as? any QuotaLedger)?.quotas().map { ($0.connector, $0) } ?? [],
                                    uniquingKeysWith: { a, b in a.observedAt >= b.observedAt ? a : b })
            let schedules = try config.map { try Self.schedules(configFile: $0) } ?? [:]
            func schedule(_ job: BatchJobHealth) -> JobSchedule? {
                guard config != nil else { return nil }
                guard let schedule = schedules[job.job] else { return JobSchedule(text: "none", next: nil) }
                // An unfinished run resumes at once; otherwise as the hub's scheduler reckons it.
                let last = job.lastRun.map { Date(millis: $0.startedAt) }
                return JobSchedule(text: schedule.description, next: schedule.next(after: last, now: now))
            }
            let windowLabel = Self.label(window.seconds)
            if output.json {
                emit(Render.status(statuses, sources: sources, jobs: jobs, quotas: quotas, schedule: schedule, window: windowLabel)
                    .rendered(pretty: true))
            } else if statuses.isEmpty {
                emit("No connectors yet. `patchbay seed` fills a database with sample history.")
            } else {
                emit(Render.statusTable(statuses, now: now, sources: sources))
                for status in statuses where status.connector.health == .orphaned {
                    let waiting = status.count(.pending) + status.count(.inFlight) + status.count(.retrying)
                    guard waiting > 0 else { continue }
                    emit("\(status.connector.name) is orphaned (not in the configuration the hub last ran with): "
                        + "\(waiting) unfinished deliver\(waiting == 1 ? "y" : "ies") will not be sent. "
                        + "patchbay retry --all --connector \(status.connector.name) --to NEW, "
                        + "or patchbay discard --all --connector \(status.connector.name)")
                }
                let sourceRows = statuses.compactMap { s in
                    jobs[s.connector.id] == nil ? sources[s.connector.id].map { (s.connector, $0) } : nil
                }
                if !sourceRows.isEmpty {
                    emit("\nSources\n" + Render.sourcesTable(sourceRows, window: windowLabel, now: now))
                }
                let jobRows = statuses.compactMap { s in jobs[s.connector.id].map { (s.connector, $0, schedule($0)) } }
                if !jobRows.isEmpty {
                    emit("\nBatch jobs" + (config == nil ? " (next run: pass --config)" : "") + "\n"
                         + Render.batchTable(jobRows, now: now))
                }
                let quotaRows = statuses.compactMap { s in quotas[s.connector.id].map { (s.connector, $0) } }
                if !quotaRows.isEmpty {
                    emit("\nAPI quotas (from the providers' last answers)\n" + Render.quotaTable(quotaRows, now: now))
                }
            }
        }

        /// `1h`, `15m`, `24h`, `7d`: how the window is labelled in tables and JSON.
        static func label(_ seconds: TimeInterval) -> String {
            let s = Int(seconds)
            if s % 86_400 == 0, s >= 86_400 * 2 { return "\(s / 86_400)d" }
            if s % 3600 == 0 { return "\(s / 3600)h" }
            if s % 60 == 0 { return "\(s / 60)m" }
            return "\(s)s"
        }

        /// Each connector's `schedule:` in a configuration file. Only that key is read, so a file whose
        /// secrets are not set in this shell still gives its schedules.
        static func schedules(configFile path: String) throws -> [String: Schedule] {
            let text: String
            do {
                text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
            } catch {
                throw CLIError("cannot read the configuration \(path): \((error as NSError).localizedDescription)")
            }
            let root: ConfigNode
            do {
                root = try ConfigNode.parse(yaml: text)
            } catch {
                throw CLIError(error.description)
            }
            guard case .mapping(let top, _) = root,
                  case .mapping(let connectors, _)? = top.first(where: { $0.key == "connectors" })?.value else { return [:] }
            var schedules: [String: Schedule] = [:]
            for entry in connectors {
                guard case .mapping(let keys, _) = entry.value,
                      case .scalar(let text, let line)? = keys.first(where: { $0.key == "schedule" })?.value else { continue }
                guard let schedule = Schedule.parse(text) else {
                    throw CLIError("\(path):\(line.map(String.init) ?? "?"): connectors.\(entry.key).schedule: "
                                   + "expected 'every 5m', 'hourly' or 'daily 02:30', found '\(text)'")
                }
                schedules[entry.key] = schedule
            }
            return schedules
        }
    }
}
