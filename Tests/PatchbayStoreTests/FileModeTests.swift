import Foundation
import GRDB
@testable import PatchbayStore
import TestSupport
import Testing

/// The permission bits of the file at `path` (nil when there is none).
private func mode(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? nil
}

private func octal(_ mode: Int?) -> String { mode.map { "0" + String($0, radix: 8) } ?? "none" }

/// Payloads and invoices are nobody else's business: a new database is its owner's only. And a
/// permission problem says whose file it is, never "run without --read-only".
@Suite("Database file modes and permission messages")
struct FileModeTests {
    @Test("a new database, its -wal and -shm are created 0600 (not 0644 as the umask left them)")
    func newDatabaseIsOwnerOnly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("new.sqlite")
        let store = try Store.open(at: path, mode: .create(homeCurrency: "EUR"))
        _ = try store.saveConnector(ConnectorSpec(
            name: "shop", module: "shopify-webhook", pattern: .event, system: "Shopify", direction: .source))
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(FileManager.default.fileExists(atPath: file), "\(file)")
            #expect(mode(file) == 0o600, "\(file) is \(octal(mode(file)))")
        }
    }

    @Test("an existing database keeps the mode its owner gave it; its -wal and -shm follow that mode")
    func existingModeIsKept() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("shared.sqlite")
        do { _ = try Store.open(at: path, mode: .create(homeCurrency: "EUR")) }  // closed: no -wal left
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        for openMode in [Store.OpenMode.existing, .create(homeCurrency: "USD")] {
            let store = try Store.open(at: path, mode: openMode)
            _ = try store.saveConnector(ConnectorSpec(
                name: "shop", module: "shopify-webhook", pattern: .event, system: "Shopify", direction: .source))
            for file in [path, path + "-wal", path + "-shm"] {
                #expect(FileManager.default.fileExists(atPath: file), "\(file)")
                #expect(mode(file) == 0o640, "\(openMode): \(file) is \(octal(mode(file)))")
            }
        }
    }

    @Test("a permission problem names the file, its owner and mode, and the user patchbay runs as")
    func permissionExplanation() {
        let names: (uid_t) -> String? = { [1000: "alice", 1001: "bob"][$0] }
        #expect(WriteAccess.explanation(subject: "the file", ownerUID: 1000, mode: 0o100444, effectiveUID: 1001,
                                        userName: names)
                == "the file is owned by alice (uid 1000), mode 0444; patchbay runs as bob (uid 1001)")
        #expect(WriteAccess.explanation(subject: "the directory /srv", ownerUID: 4242, mode: 0o40755, effectiveUID: 1001,
                                        userName: names)
                == "the directory /srv is owned by uid 4242, mode 0755; patchbay runs as bob (uid 1001)")
        #expect(WriteAccess.reason(errno: EACCES) == "permission denied")
        #expect(WriteAccess.reason(errno: EPERM) == "permission denied")
        #expect(WriteAccess.reason(errno: EROFS) == "the file system is mounted read-only")
        let error = StoreError.notWritable(
            path: "/x/db.sqlite", detail: "permission denied (the file is owned by alice (uid 1000), mode 0444; patchbay runs as bob (uid 1001))")
        #expect(error.description == """
            /x/db.sqlite: cannot write the database: permission denied (the file is owned by alice (uid 1000), mode 0444; \
            patchbay runs as bob (uid 1001)). Fix the permissions, or run patchbay as a user who may write it.
            """)
    }

    @Test("SQLite's 'readonly' on a store opened for writing is a file-system problem, not --read-only")
    func sqliteReadOnlyIsNotTheFlag() {
        let wrapped = StoreError.wrapCheckingAccess(
            DatabaseError(resultCode: .SQLITE_READONLY, message: "attempt to write a readonly database"), path: "/nonexistent-patchbay-dir/db.sqlite")
        guard case .notWritable(let path, _) = wrapped else {
            Issue.record("expected .notWritable, got \(wrapped)")
            return
        }
        #expect(path == "/nonexistent-patchbay-dir/db.sqlite")
        #expect(!wrapped.description.contains("--read-only"))
    }

    @Test("creating a database in a missing directory names the directory")
    func missingDirectory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("no/such/dir/new.sqlite")
        #expect(throws: StoreError.unreadable(path: path, detail: "there is no directory \(directory.path("no/such/dir"))")) {
            try Store.open(at: path, mode: .create(homeCurrency: "EUR"))
        }
    }
}
