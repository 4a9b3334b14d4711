import ArgumentParser
import Foundation
import Logging
import PatchbayConnectors
import PatchbayPostgres
import PatchbayRuntime
import PatchbayStore

extension Patchbay {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the hub: receive webhooks, deliver with retries, run batch jobs, as a configuration declares.",
            discussion: """
                The configuration is YAML (see README.md, "Configuration"); check it first with
                `patchbay check --config FILE`. The database is --db, else the file's `database:`,
                else $PATCHBAY_DB, else ./patchbay.sqlite. Only the file's `database:` is created if
                missing (the first log line says so); any other missing file is refused, so a typo
                never serves from an empty database: `patchbay init --db PATH` creates one.
                SIGINT or SIGTERM stops accepting, lets in-flight deliveries finish, and exits 0.
                """)

        @Option(help: "The configuration file.") var config = "patchbay.yaml"
        @Option(name: .long, help: "The database file (overrides the configuration's `database:`).") var db: String?
        @Option(help: "Listen on HOST:PORT instead of the configuration's server.listen.") var listen: String?
        @Option(help: "Log level (trace, debug, info, notice, warning, error).") var logLevel: String?

        func run() async throws {
            var hub: HubConfig
            do {
                hub = try HubConfig.load(file: URL(fileURLWithPath: config))
            } catch {
                throw CLIError(error.description)
            }
            if let listen {
                guard let (host, port) = HubConfig.parseListenAddress(listen) else {
                    throw ValidationError("--listen must be HOST:PORT, got '\(listen)'")
                }
                hub.host = host
                hub.port = port
            }
            // Only the configuration's own `database:` may be created here: it was written on
            // purpose, beside the rest of the hub's settings.
            let given = db.flatMap { $0.isEmpty ? nil : $0 }
            let configured = given == nil ? hub.database.map { Self.resolve($0, besideConfig: config) } : nil
            // (Not `DatabaseOptions().path`: a ParsableArguments made by hand traps when read.)
            let fromEnvironment = ProcessInfo.processInfo.environment["PATCHBAY_DB"].flatMap { $0.isEmpty ? nil : $0 }
            let path = given ?? configured ?? fromEnvironment ?? "patchbay.sqlite"
            let logger = HubLogging.bootstrap(level: logLevel ?? hub.logLevel, file: hub.logFile)
            let store: any HubStore
            if PostgresLocation.isPostgres(path) {
                // Several nodes share this database; each runs this same command. Only the
                // configuration's own `database:` gets its schema created here, as with a file.
                let location = try PostgresLocation(url: path)
                store = try PostgresStore.open(location, mode: configured != nil ? .create(homeCurrency: "USD") : .existing)
                logger.notice("using the shared PostgreSQL database \(location)")
            } else {
                let creating = configured != nil && !FileManager.default.fileExists(atPath: path)
                store = try Store.open(at: path, mode: creating ? .create(homeCurrency: "USD") : .existing)
                if creating { logger.notice("created a new database at \(path)") }
            }
            let runtime = try HubRuntime(config: hub, store: store, logger: logger)
            try await runtime.run()
        }

        /// The configuration's `database:`, relative to the configuration file unless absolute.
        static func resolve(_ database: String, besideConfig config: String) -> String {
            if database.hasPrefix("/") || PostgresLocation.isPostgres(database) { return database }
            return URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent(database).path
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration file: every problem with its key path and line.",
            discussion: """
                When the configuration's database exists (--db, else the file's `database:`, else
                $PATCHBAY_DB, else ./patchbay.sqlite), it is also read (never written): a connector
                that has unfinished deliveries there but is not in this configuration is named in a
                warning, since no worker would send them. Warnings leave the exit status 0.
                """)

        @Option(help: "The configuration file.") var config = "patchbay.yaml"
        @Option(name: .long, help: "The database to compare with the configuration (default: as `run` chooses).")
        var db: String?

        func run() async throws {
            let hub: HubConfig
            do {
                hub = try HubConfig.load(file: URL(fileURLWithPath: config))
            } catch {
                throw CLIError(error.description)
            }
            let sources = hub.connectors.filter { $0.role == .source }
            let sinks = hub.connectors.filter { $0.role == .sink }
            let batches = hub.connectors.filter { $0.role == .batch }
            let rules = hub.alerts.rules.count
            emit("\(config): OK — \(sources.count) sources, \(sinks.count) sinks, \(batches.count) batch jobs"
                 + (rules > 0 ? ", \(rules) alert rule\(rules == 1 ? "" : "s")" : "") + "; listening on \(hub.host):\(hub.port)")
            for source in sources {
                emit("  \(source.name) (\(source.module)) ← POST \(source.path ?? "")")
            }
            for sink in sinks {
                var receives: [String] = []
                if !sink.subscribe.isEmpty { receives.append("topics " + sink.subscribe.joined(separator: ", ")) }
                if !sink.from.isEmpty { receives.append("from " + sink.from.joined(separator: ", ")) }
                let rulesFor = hub.alerts.rules.filter { $0.notify.contains(sink.name) }.map(\.name)
                if !rulesFor.isEmpty { receives.append("alerts " + rulesFor.joined(separator: ", ")) }
                let limit = sink.rateLimit.map { String(format: ", %.4g/s", $0.perSecond) } ?? ""
                let breaker = sink.breaker.map { ", breaker after \($0.after)" } ?? ", no breaker"
                emit("  \(sink.name) (\(sink.module)) ← \(receives.joined(separator: "; ")); concurrency \(sink.concurrency)\(limit), \(sink.retry.maxAttempts) attempts\(breaker)")
            }
            for batch in batches {
                emit("  \(batch.name) (\(batch.module)) \(batch.schedule?.description ?? "")")
            }
            warnAboutOrphans(configured: Set(hub.connectors.map(\.name)), database: hub.database)
        }

        /// What `DatabaseOptions` resolves without --db. (`DatabaseOptions()` cannot be read outside
        /// of parsing: its `@Option` was never decoded.)
        private var defaultDatabase: String {
            let env = ProcessInfo.processInfo.environment["PATCHBAY_DB"] ?? ""
            return env.isEmpty ? "patchbay.sqlite" : env
        }

        /// Names each connector of the database that holds unfinished deliveries but is not in this
        /// configuration. Reads the database read-only, and only if it exists.
        private func warnAboutOrphans(configured: Set<String>, database: String?) {
            let given = db.flatMap { $0.isEmpty ? nil : $0 }
            let path = given ?? database.map { database in
                database.hasPrefix("/") || PostgresLocation.isPostgres(database)
                    ? database : URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent(database).path
            } ?? defaultDatabase
            let postgres = PostgresLocation.isPostgres(path)
            guard postgres || FileManager.default.fileExists(atPath: path) else { return }
            // A URL is shown without its password, in warnings and in the commands they suggest.
            let shown = postgres ? ((try? PostgresLocation(url: path))?.description ?? "the PostgreSQL database") : path
            do {
                let store: any ConnectorCatalog = postgres
                    ? try PostgresStore.open(try PostgresLocation(url: path), mode: .readOnly)
                    : try Store.open(at: path, mode: .readOnly)
                // The commands in the warning find this database without --db only if it is their default.
                let flag = path == defaultDatabase ? nil : shown
                for orphan in try store.orphanedConnectors(configured: configured) {
                    emit("warning: " + orphan.warning(database: flag))
                }
            } catch StoreError.olderSchema {
                emit("note: \(shown): the schema is older than this patchbay, so it was not compared with the "
                    + "configuration; `patchbay run` migrates it (or `patchbay init --db \(shown)`), then check again")
            } catch {
                emit("warning: the database was not compared with the configuration: \(error)")
            }
        }
    }
}
