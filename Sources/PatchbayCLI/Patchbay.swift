import ArgumentParser
import Foundation
import PatchbayText

/// The `patchbay` command: runs and watches business integrations from a terminal.
public struct Patchbay: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "patchbay",
        abstract: "Run and watch business integrations: the hub, its queue and its log, from a terminal.",
        discussion: """
            The database is --db PATH, else $PATCHBAY_DB, else ./patchbay.sqlite.
            """,
        version: "0.1.0",
        subcommands: [
            Dash.self, Init.self, Status.self, Events.self, Show.self, Failed.self, Retry.self, Discard.self, Replay.self,
            Pause.self, Resume.self, RunNow.self, Import.self, Aging.self, Seed.self, Prune.self, Run.self, Check.self, Rejected.self,
            Demo.self, Migrate.self, Alerts.self, Auth.self,
            Map.self, Advise.self,
            Debug.self,
        ],
        defaultSubcommand: Dash.self
    )

    public init() {}

    /// Runs the command line; a failure is printed to stderr sanitised, then the process exits.
    ///
    /// Replaces ArgumentParser's own `main`, which prints an error's text raw: our errors quote file
    /// contents, connector names and server answers (`bad.csv:4: Customer '…'`), and those must not
    /// reach the terminal as control sequences. Help and `--version` (exit 0) are our own text and
    /// go to stdout unchanged.
    public static func main(_ arguments: [String]?) async {
        do {
            var command = try await asyncParseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
            } else if !message.isEmpty {
                FileHandle.standardError.write(Data((SafeText.multiline(message) + "\n").utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }
}

/// Options every command that touches the database takes.
public struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The database file (default: $PATCHBAY_DB, else ./patchbay.sqlite).")
    public var db: String?

    public init() {}

    public var path: String {
        if let db, !db.isEmpty { return db }
        if let env = ProcessInfo.processInfo.environment["PATCHBAY_DB"], !env.isEmpty { return env }
        return "patchbay.sqlite"
    }
}

public struct JSONOption: ParsableArguments {
    @Flag(name: .long, help: "Print JSON (snake_case keys) instead of a table.")
    public var json = false

    public init() {}
}
