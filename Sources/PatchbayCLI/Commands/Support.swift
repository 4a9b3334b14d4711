import ArgumentParser
import Foundation
import PatchbayStore

/// A span like `90s`, `15m`, `2h`, `7d` or `1w`.
public struct Duration: ExpressibleByArgument, Sendable, Equatable {
    public var seconds: TimeInterval

    public init(seconds: TimeInterval) { self.seconds = seconds }

    public init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = text.last, let value = Double(text.dropLast()), value >= 0, value.isFinite else { return nil }
        switch unit {
        case "s": seconds = value
        case "m": seconds = value * 60
        case "h": seconds = value * 3600
        case "d": seconds = value * 86_400
        case "w": seconds = value * 604_800
        default: return nil
        }
    }

    public static var defaultCompletionKind: CompletionKind { .default }
}

extension DatabaseOptions {
    func open(_ mode: Store.OpenMode = .existing, durability: Store.Durability = .full) throws -> Store {
        try Store.open(at: path, mode: mode, durability: durability)
    }
}

extension Store {
    /// The connector with this name, or an error that says how to find the right one.
    func requireConnector(_ name: String) throws -> Connector {
        guard let connector = try connector(named: name) else { throw StoreError.unknownConnector(name) }
        return connector
    }
}

/// Prints to standard output; the seam tests use to read what a command printed.
func emit(_ text: String) {
    print(text)
}

extension DeliveryState: ExpressibleByArgument {}

/// A failure of a command's work (not of its arguments): printed as `Error: …`, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
