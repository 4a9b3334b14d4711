import ArgumentParser
import Foundation
import PatchbayInsights
import PatchbayPostgres
import PatchbayStore
import PatchbayText
import PatchbayValues

/// A span like `90s`, `15m`, `2h`, `7d` or `1w`, read by `Durations.parse`: at most 100 years, so
/// turning it into milliseconds or subtracting it from now cannot overflow.
public struct Duration: ExpressibleByArgument, Sendable, Equatable {
    public var seconds: TimeInterval

    public init(seconds: TimeInterval) { self.seconds = seconds }

    public init?(argument: String) {
        guard let seconds = Durations.seconds(argument) else { return nil }
        self.seconds = seconds
    }

    /// For `@Option(transform:)`: a refused value is reported with the parser's reason
    /// ("'1e12d' is longer than 100 years") instead of only "invalid".
    static func parse(_ text: String) throws -> Duration {
        do {
            return Duration(seconds: try Durations.parse(text))
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The moment this span before `date`.
    func before(_ date: Date) -> Date { date.addingTimeInterval(-seconds) }

    public static var defaultCompletionKind: CompletionKind { .default }
}

/// Every role a command may ask of a database, on either backend.
typealias CommandStore = CommandLineReading & ConnectorCatalog & BatchLedger & OperatorActions & Retention
    & DeliveryQueue & TrafficReading & AlertLedger & BatchRunRequests & TokenVault & QuotaLedger

extension DatabaseOptions {
    /// A SQLite file with a mode of its own (`init`, `seed`, `demo` create one).
    func open(_ mode: Store.OpenMode = .existing, durability: Store.Durability = .full) throws -> Store {
        try Store.open(at: path, mode: mode, durability: durability)
    }

    /// The database `--db` names, on whichever backend it is: a file, or a `postgres://` URL.
    func openStore(readOnly: Bool = false) throws -> any CommandStore {
        if PostgresLocation.isPostgres(path) {
            return try PostgresStore.open(try PostgresLocation(url: path), mode: readOnly ? .readOnly : .existing,
                                          maxConnections: 2)
        }
        return try Store.open(at: path, mode: readOnly ? .readOnly : .existing)
    }
}

extension ConnectorCatalog {
    /// The connector with this name, or an error that says how to find the right one.
    func requireConnector(_ name: String) throws -> Connector {
        guard let connector = try connector(named: name) else { throw StoreError.unknownConnector(name) }
        return connector
    }
}

/// Prints to standard output; the seam tests use to read what a command printed.
///
/// Everything goes through `SafeText` here, whatever built it: tables and JSON are already safe
/// (then this changes nothing), and a connector name, a path or a skip reason taken from the
/// database or the command line can never reach the terminal as a control sequence.
func emit(_ text: String) {
    print(SafeText.multiline(text))
}

extension DeliveryState: ExpressibleByArgument {}

/// A failure of a command's work (not of its arguments): printed as `Error: …`, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
