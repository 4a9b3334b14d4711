import ArgumentParser
import Foundation
import PatchbayPostgres
import PatchbayStore

extension Patchbay {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a database, or migrate an existing one to this version's schema.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "Currency of imports that name none (ISO 4217 code). Kept if the database exists.")
        var homeCurrency = "USD"

        @Flag(help: "Also run a full integrity check (reads the whole file).")
        var check = false

        func validate() throws {
            guard Currency.isValidCode(homeCurrency.uppercased()) else {
                throw ValidationError("--home-currency must be a three-letter ISO 4217 code, got '\(homeCurrency)'")
            }
        }

        func run() async throws {
            if PostgresLocation.isPostgres(database.path) {
                if check {
                    throw ValidationError("--check reads a SQLite file; PostgreSQL checks its own pages (see amcheck)")
                }
                let store = try PostgresStore.open(try PostgresLocation(url: database.path),
                                                   mode: .create(homeCurrency: homeCurrency.uppercased()))
                defer { store.close() }
                let migrations = try store.appliedMigrations()
                emit("Ready \(store.path): schema \(migrations.last ?? "-"), home currency \(store.homeCurrency)")
                return
            }
            let existed = FileManager.default.fileExists(atPath: database.path)
            let store = try database.open(.create(homeCurrency: homeCurrency.uppercased()))
            if check {
                let problems = try store.integrityProblems()
                if !problems.isEmpty {
                    throw StoreError.corrupt(path: store.path, detail: problems.prefix(3).joined(separator: "; "))
                }
            }
            let migrations = try store.appliedMigrations()
            emit("\(existed ? "Opened" : "Created") \(store.path): schema \(migrations.last ?? "-"), home currency \(store.homeCurrency)")
        }
    }
}
