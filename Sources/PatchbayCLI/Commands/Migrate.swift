import ArgumentParser
import Foundation
import PatchbayPostgres
import PatchbayStore

extension Patchbay {
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a SQLite database whole into an empty PostgreSQL database, then check the copy.",
            discussion: """
                Every table is copied with its ids, in one PostgreSQL transaction: the target ends up \
                with all of it or none of it. The SQLite file is only read (one snapshot; stop the hub \
                first, or what it writes meanwhile stays behind). The target's schema is created if \
                it has none; a target that already holds connectors, events, invoices or batch runs \
                is refused. Afterwards, in the same transaction, row counts are compared table by \
                table, settings and every counter row for row, and the counters are recounted from \
                the rows on both sides; a failed check rolls the copy back and exits 1.
                The password comes from $PGPASSWORD (a password in the URL shows in `ps` and shell \
                history); it is never printed.
                """)

        @Option(help: "The SQLite database to copy (opened read-only).")
        var from: String

        @Option(help: "The PostgreSQL database to copy into: postgres://USER@HOST[:PORT]/DBNAME[?sslmode=require].")
        var to: String

        @Option(help: ArgumentHelp("Rows per INSERT statement.", visibility: .hidden))
        var chunk = 5000

        func validate() throws {
            guard !PostgresLocation.isPostgres(from) else {
                throw ValidationError("--from is the SQLite file to copy; --to is the postgres:// URL")
            }
            guard PostgresLocation.isPostgres(to) else {
                throw ValidationError("--to must be a postgres:// URL (postgres://USER@HOST[:PORT]/DBNAME)")
            }
            guard (1...100_000).contains(chunk) else { throw ValidationError("--chunk must be 1 to 100000") }
        }

        func run() async throws {
            let location = try PostgresLocation(url: to)
            let source = try Store.open(at: from, mode: .readOnly)
            let target = try PostgresStore.open(location, mode: .create(homeCurrency: source.homeCurrency),
                                                maxConnections: 2)
            defer { target.close() }
            emit("Copying \(source.path) into \(target.path) (one transaction)…")

            let live = isatty(STDERR_FILENO) == 1
            let started = Date()
            let report = try target.importDatabase(from: source, rowsPerStatement: chunk) { step in
                switch step {
                case .copying(let table, let rows, let of):
                    if live { Self.status("  \(table): \(rows) of \(of) rows…") }
                case .copied(let table, let rows):
                    if live { Self.status("") }
                    emit("  \(table.padding(toLength: 18, withPad: " ", startingAt: 0)) \(Self.right(rows)) rows")
                case .checking:
                    if live { Self.status("  checking…") }
                }
            }
            if live { Self.status("") }

            let counters = report.comparedRows.keys.sorted().map { "\($0) \(report.comparedRows[$0]!)" }
            if report.problems.isEmpty {
                emit("Checked: row counts equal in all \(report.tables.count) tables; settings and counters equal "
                     + "row for row (\(counters.joined(separator: ", ")) rows).")
                if report.rollupDifferences.isEmpty {
                    emit("Checked: every counter agrees with the rows it counts (rollupDifferences: none).")
                } else {
                    // Counters keep what `prune` deleted: the source already differs, and the copy must too.
                    emit("Checked: counters recounted from the rows differ exactly as in the source, whose "
                         + "counters keep pruned history (\(report.rollupDifferences.joined(separator: "; "))).")
                }
                let seconds = Date().timeIntervalSince(started)
                emit("Migrated \(report.totalRows) rows from \(source.path) into \(target.path) "
                     + "in \(String(format: "%.1f", seconds)) s.")
                return
            }
            var message = "the copy did not check out, so it was rolled back: nothing was written to \(target.path).\n"
            for problem in report.problems { message += "  - \(problem)\n" }
            message += "The source \(source.path) is unchanged."
            throw CLIError(message)
        }

        private static func right(_ count: Int) -> String {
            let text = String(count)
            return String(repeating: " ", count: max(0, 10 - text.count)) + text
        }

        /// Rewrites the progress line on standard error (a terminal only).
        private static func status(_ text: String) {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
        }
    }
}
