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

        func run() async throws {
            guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
                throw CLIError("the dashboard needs a terminal; for scripts use `patchbay status`, `failed` or `events` (with --json)")
            }
            try DashboardRunner.run(.init(databasePath: database.path, readOnly: readOnly, theme: theme))
        }
    }
}
