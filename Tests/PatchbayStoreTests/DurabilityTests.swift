import Foundation
import GRDB
@testable import PatchbayStore
import Testing
import TestSupport

@Suite("Durability settings")
struct DurabilityTests {
    @Test("the default store writes in WAL mode with synchronous=FULL, so a commit survives power loss")
    func fullDurability() throws {
        let (store, directory) = try makeTestStore()
        defer { directory.remove() }
        let (journal, synchronous) = try store.writer.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(journal == "wal")
        #expect(synchronous == 2)  // FULL
        // A WAL that grew while a reader held it is truncated back at the next checkpoint.
        #expect(try store.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA journal_size_limit") } == 64 << 20)
    }

    @Test("bulk-load durability is only ever asked for explicitly")
    func bulkLoadIsOptIn() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.open(at: directory.path("bulk.sqlite"), mode: .create(homeCurrency: "EUR"), durability: .bulkLoad)
        let synchronous = try store.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 0)
        let reopened = try Store.open(at: directory.path("bulk.sqlite"))
        #expect(try reopened.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
    }
}
