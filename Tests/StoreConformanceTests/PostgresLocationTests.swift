import Foundation
import PatchbayPostgres
import PatchbayStore
import Synchronization
import Testing

/// A PostgreSQL URL names a database and carries a secret: every way of printing one leaves the
/// password out, and every refusal says what is wrong without echoing it.
@Suite("PostgreSQL locations")
struct PostgresLocationTests {
    @Test("the password never appears in description, debugDescription, dump or interpolation")
    func passwordNeverPrinted() throws {
        let location = try PostgresLocation(url: "postgres://hub:s3cr3t-pw@db.internal:6432/patchbay?sslmode=require")
        #expect(location.host == "db.internal" && location.port == 6432 && location.user == "hub")
        #expect(location.password == "s3cr3t-pw" && location.database == "patchbay" && location.tls == .require)
        var dumped = ""
        dump(location, to: &dumped)
        for text in [location.description, location.debugDescription, String(reflecting: location), "\(location)", dumped] {
            #expect(!text.contains("s3cr3t-pw"), "\(text)")
        }
        #expect(location.description == "postgres://hub@db.internal:6432/patchbay?sslmode=require")
    }

    @Test("a bad URL is refused with what is missing, and without its password",
          arguments: [
              ("postgres://:pw-1@host/db", "names no user"),
              ("postgres://user:pw-1@/db", "names no host"),
              ("postgres://user:pw-1@host/", "names no database"),
              ("postgres://user:pw-1@host/db?sslmode=allow", "sslmode 'allow' is not supported"),
              ("postgres://user:pw-1@host/db?application_name=x", "unknown URL parameter 'application_name'"),
          ])
    func badURLs(url: String, reason: String) {
        do {
            _ = try PostgresLocation(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect("\(error)".contains(reason), "\(error)")
            #expect(!"\(error)".contains("pw-1"), "\(error)")
        }
    }

    @Test("the change feed comes back after the server ends its connection, and says changes may have been missed")
    func feedReconnects() async throws {
        guard Backend.available.contains(.postgres) else { return }
        let h = try Backend.postgres.make()
        let store = try #require(h.store as? PostgresStore)
        let seen = Mutex<[StoreChange]>([])
        let subscription = try store.watchChanges { change in seen.withLock { $0.append(change) } }
        defer { subscription.cancel() }
        // The server ends every other session of this database (the listener's among them).
        let admin = try PostgresStore.open(store.location, mode: .existing, maxConnections: 1)
        defer { admin.close() }
        _ = try admin.terminateOtherSessions()
        // Generous deadlines, one per wait: under a loaded CI the reconnect alone can take seconds.
        var deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !seen.withLock({ $0.contains(.reconnected) }) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(seen.withLock { $0.contains(.reconnected) }, "a reconnect is reported as a possible gap")
        _ = try h.store.ingest([h.event("after", to: [h.erp])])
        deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !seen.withLock({ $0.contains(.due([h.erp])) }) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(seen.withLock { $0.contains(.due([h.erp])) }, "notifications flow again after the reconnect")
    }

    @Test("after the server ends the store's idle connections, the next write and read work on new ones")
    func staleConnectionsReplaced() throws {
        guard Backend.available.contains(.postgres) else { return }
        let h = try Backend.postgres.make()
        let store = try #require(h.store as? PostgresStore)
        // Fill the pool with idle connections, then have the server end them all.
        try h.ingest("before")
        _ = try store.connectors()
        let admin = try PostgresStore.open(store.location, mode: .existing, maxConnections: 1)
        defer { admin.close() }
        #expect(try admin.terminateOtherSessions() >= 1)
        try h.ingest("after")
        #expect(try store.connectors().count == 3)
        #expect(try h.countersAgree() == [])
    }
}
