import ArgumentParser
import Foundation

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
            Dash.self, Init.self, Status.self, Events.self, Show.self, Failed.self, Retry.self, Discard.self,
            Pause.self, Resume.self, Import.self, Aging.self, Seed.self, Prune.self, Run.self, Check.self, Rejected.self,
            Demo.self,
            Debug.self,
        ],
        defaultSubcommand: Dash.self
    )

    public init() {}
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
