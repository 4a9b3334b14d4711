import ArgumentParser
import Foundation
import PatchbayHub
import PatchbayPostgres
import PatchbayStore

extension Patchbay {
    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fill a database with realistic integration history (creates it if missing).",
            discussion: """
                Replays days of Shopify orders to Xero invoices, CRM/ERP/warehouse sync through the hub,
                order_created fanned out to inventory, shipping and accounting, and batch loads, with
                realistic failures, then imports invoices of several customers and currencies.
                """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: "How many events.") var events = 5000
        @Option(help: "Over how many days, ending now.") var days = 7
        @Option(help: "Random seed: the same seed gives the same history.") var seed: UInt64 = 42

        func validate() throws {
            guard events >= 0, events <= 50_000_000 else { throw ValidationError("--events must be 0 to 50000000") }
            guard (1...365).contains(days) else { throw ValidationError("--days must be 1 to 365") }
        }

        func run() async throws {
            try seedDatabase(at: database.path, events: events, days: days, seed: seed)
        }
    }
}

/// Seeds the database at `path` and prints what was written; shared by `seed` and `demo`.
func seedDatabase(at path: String, events: Int, days: Int, seed: UInt64, now: Date = Date()) throws {
    let seeder = Seeder(options: .init(events: events, days: days, seed: seed, now: now))
    let summary: Seeder.Summary
    let invoices: Int
    let shown: String
    if PostgresLocation.isPostgres(path) {
        let store = try PostgresStore.open(try PostgresLocation(url: path), mode: .create(homeCurrency: "EUR"))
        defer { store.close() }
        summary = try seeder.run(on: store)
        invoices = try InvoiceSeeder(seed: seed, now: now).run(on: store)
        shown = store.path
    } else {
        let store = try Store.open(at: path, mode: .create(homeCurrency: "EUR"), durability: .bulkLoad)
        summary = try seeder.run(on: store)
        invoices = try InvoiceSeeder(seed: seed, now: now).run(on: store)
        shown = path
    }
    emit("Seeded \(shown): \(summary.events) events, \(summary.deliveries) deliveries, \(summary.attempts) attempts "
         + "over \(days) days; \(invoices) invoices.")
}
