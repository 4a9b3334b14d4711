import Foundation
import PatchbayPostgres

/// What `patchbay-bench` was asked to do.
///
/// The target has no argument-parser dependency, so the few flags are read by hand.
struct BenchOptions: Sendable {
    /// A group of figures that can be run on its own with `--only`.
    enum Suite: String, CaseIterable, Sendable {
        case ingest, claim, retry, reads, raw, hub, dashboard, postgres
    }

    /// Events in the large database the dashboard reads are timed on.
    var events = 1_000_000
    /// Where databases are built; the large one is kept there and reused.
    var directory = ".build-bench"
    /// Without `--only`: every suite, `postgres` only when `--db` names a server.
    var suites: [Suite] = Suite.allCases.filter { $0 != .postgres }
    /// `--db postgres://USER@HOST:PORT/DB`: the server the PostgreSQL section creates its databases on.
    var database: String?
    /// Runs of each dashboard read (fewer for a read that is very slow, see `ReadBenchmark`).
    var repeatCount = 50
    /// Rebuild the large database even when a cached one exists.
    var rebuild = false
    /// Print the query plans of the event-list reads.
    var explain = false
    /// Only the dashboard reads whose name contains this text.
    var match: String?
    /// Seconds of idle live mode over which the dashboard's CPU use is measured.
    var idleSeconds = 60

    static let usage = """
        usage: patchbay-bench [--events N] [--dir PATH] [--only LIST] [--repeat N] [--rebuild] [--explain] [--match TEXT]
                            [--idle-seconds N] [--db postgres://USER@HOST:PORT/DB]

          --events N     events in the database the dashboard reads are timed on (default 1000000;
                         accepts 1m, 10m, 250k). Built once, then reused from --dir.
          --dir PATH     where benchmark databases are built and cached (default .build-bench)
          --only LIST    comma-separated subset of: ingest, claim, retry, reads, raw, hub, dashboard, postgres
                         (default: all; postgres only with --db)
          --repeat N     runs of each dashboard read, for median and p99 (default 50)
          --rebuild      rebuild the cached large database
          --explain      print EXPLAIN QUERY PLAN for the event-list reads, and time the list reads'
                         bare SQL beside the store's calls
          --match TEXT   time only the dashboard reads whose name contains TEXT (like "failed list")
          --idle-seconds N  seconds of idle live mode the dashboard's CPU use is measured over (default 60)
          --db URL       also run the PostgreSQL section on this server (postgres://USER@HOST:PORT/DB; the
                         password from $PGPASSWORD): the ceiling by SQL alone, ingest, claim and complete
                         with 1 to 3 nodes, and the hub over HTTP with 1 to 3 nodes. The user must be
                         allowed to create databases: each figure gets a fresh pb_bench_<pid>_<figure>,
                         dropped after it. `--only postgres --db URL` runs just this section (~3 min).
          --help         show this help
        """

    static func parse(_ arguments: [String]) throws -> BenchOptions {
        var options = BenchOptions()
        var rest = arguments[...]
        var only = false
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw UsageError("\(flag) needs a value") }
            return next
        }
        while let argument = rest.popFirst() {
            // Accept --flag=value as well as --flag value.
            var flag = argument
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                rest.insert(String(argument[argument.index(after: equals)...]), at: rest.startIndex)
            }
            switch flag {
            case "--events":
                let text = try value(flag)
                guard let count = parseCount(text), count >= 10_000 else {
                    throw UsageError("--events must be a count of at least 10000 (like 1000000 or 10m), got '\(text)'")
                }
                options.events = count
            case "--dir":
                options.directory = try value(flag)
            case "--only":
                let text = try value(flag)
                var suites: [Suite] = []
                for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
                    guard let suite = Suite(rawValue: name) else {
                        throw UsageError("--only: unknown benchmark '\(name)'; choose from "
                            + Suite.allCases.map(\.rawValue).joined(separator: ", "))
                    }
                    if !suites.contains(suite) { suites.append(suite) }
                }
                if suites.isEmpty { throw UsageError("--only needs at least one of ingest, claim, retry, reads, raw") }
                options.suites = Suite.allCases.filter(suites.contains)
                only = true
            case "--repeat":
                let text = try value(flag)
                guard let count = Int(text), count >= 1 else {
                    throw UsageError("--repeat must be a whole number of at least 1, got '\(text)'")
                }
                options.repeatCount = count
            case "--rebuild":
                options.rebuild = true
            case "--explain":
                options.explain = true
            case "--match":
                options.match = try value(flag)
            case "--idle-seconds":
                let text = try value(flag)
                guard let seconds = Int(text), seconds >= 1 else {
                    throw UsageError("--idle-seconds must be a whole number of at least 1, got '\(text)'")
                }
                options.idleSeconds = seconds
            case "--db":
                let text = try value(flag)
                // Checked now, not after the SQLite sections have run; the error never shows a password.
                do { _ = try PostgresLocation(url: text) } catch { throw UsageError("--db: \(error)") }
                options.database = text
            case "--help", "-h":
                throw UsageError.help
            default:
                throw UsageError("unknown argument '\(argument)'")
            }
        }
        if options.database != nil && !only { options.suites = Suite.allCases }
        if options.suites.contains(.postgres) && options.database == nil {
            throw UsageError("--only postgres needs --db postgres://USER@HOST:PORT/DB")
        }
        return options
    }

    /// `1000000`, `1_000_000`, `250k`, `10m`.
    static func parseCount(_ text: String) -> Int? {
        var digits = text.lowercased().replacingOccurrences(of: "_", with: "")
        var scale = 1
        if digits.hasSuffix("k") { scale = 1_000; digits.removeLast() }
        else if digits.hasSuffix("m") { scale = 1_000_000; digits.removeLast() }
        guard let number = Int(digits), number >= 0 else { return nil }
        let (product, overflow) = number.multipliedReportingOverflow(by: scale)
        return overflow ? nil : product
    }
}

struct UsageError: Error, CustomStringConvertible {
    var description: String
    var isHelp = false

    init(_ description: String) { self.description = description }

    static var help: UsageError {
        var error = UsageError(BenchOptions.usage)
        error.isHelp = true
        return error
    }
}
