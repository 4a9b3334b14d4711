import ArgumentParser
import Foundation
import PatchbayDashboard

extension Patchbay {
    struct Dash: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The dashboard (the default command): what flows, what is stuck, retry by key.")

        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Open the database read-only: actions are refused.") var readOnly = false
        @Option(help: "Theme: default, light, high-contrast, mono, a name in $XDG_CONFIG_HOME/patchbay/themes/, or a file (else $PATCHBAY_THEME).")
        var theme: String?
        @Option(help: "The hub's configuration, for batch jobs' next runs (only `schedule:` is read; secrets need not be set).")
        var config: String?

        func run() async throws {
            guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
                throw CLIError("the dashboard needs a terminal; for scripts use `patchbay status`, `failed` or `events` (with --json)")
            }
            var options = DashboardRunner.Options(databasePath: database.path, readOnly: readOnly, theme: theme)
            if let config { options.nextRun = try Self.nextRun(configFile: config) }
            try DashboardRunner.run(options)
        }

        /// Each batch job's next run as the hub's scheduler reckons it, from a configuration's schedules.
        static func nextRun(configFile: String) throws -> @Sendable (String, Int64?, Date) -> (schedule: String, next: Date?)? {
            let schedules = try Status.schedules(configFile: configFile)
            return { job, lastStartedAt, now in
                guard let schedule = schedules[job] else { return nil }
                return (schedule.description, schedule.next(after: lastStartedAt.map { Date(millis: $0) }, now: now))
            }
        }
    }
}
