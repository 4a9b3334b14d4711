import Foundation
import TestSupport
import Testing

/// The real binary against database files it may not write, and the modes of the files it creates.
@Suite("patchbay CLI, database file permissions")
struct DatabaseFileTests {
    static let setpriv = "/usr/bin/setpriv"
    static let nobody: uid_t = 65534

    /// Root may write any file whatever its mode, so as root the binary runs as nobody (util-linux
    /// `setpriv`); any other user is refused by the permission bits of its own files.
    static let canBeRefused: Bool = {
        if geteuid() != 0 { return true }
        guard FileManager.default.isExecutableFile(atPath: setpriv) else { return false }
        // nobody must reach the binary through every directory above it.
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: setpriv)
        probe.arguments = ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", BinaryRunner.binary.path, "--version"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// Starts `executable` (a shell, setpriv) with the test's environment less $PATCHBAY_DB.
    static func start(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                      cwd: URL? = nil) throws -> BinaryRunner.Running {
        try BinaryRunner.start(arguments, environment: environment, cwd: cwd, executable: URL(fileURLWithPath: executable))
    }

    /// Runs the binary as a user the file system can refuse: nobody when the tests run as root.
    static func runRefusable(_ arguments: [String]) throws -> BinaryRunner.Result {
        guard geteuid() == 0 else { return try BinaryRunner.run(arguments) }
        return try start(setpriv, ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", BinaryRunner.binary.path]
                         + arguments).finish()
    }

    /// Who `runRefusable` runs as, as the message names them.
    static var refusedUser: String { geteuid() == 0 ? "nobody (uid \(nobody))" : "uid \(geteuid())" }

    static func chmod(_ path: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    @Test("a database file the user may not write is refused with its owner and mode, not 'run without --read-only'",
          .enabled(if: canBeRefused, "as root, needs /usr/bin/setpriv and a binary nobody can run"))
    func unwritableFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let db = directory.path("p.sqlite")
        #expect(try BinaryRunner.run(["init", "--db", db]).status == 0)
        try Self.chmod(db, 0o444)
        // The directory is open to all: only the file's own mode is in the way.
        try Self.chmod(directory.url.path, 0o777)
        for arguments in [["retry", "--all"], ["prune", "--older-than", "30d"], ["pause", "x"], ["init"]] {
            let result = try Self.runRefusable(arguments + ["--db", db])
            #expect(result.status == 1, "\(arguments): status \(result.status), \(result.stderr)")
            #expect(!result.stderr.contains("--read-only"), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("\(db): cannot write the database: permission denied (the file is owned by "),
                    "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("mode 0444; patchbay runs as \(Self.refusedUser))"), "\(arguments): \(result.stderr)")
        }
        // Reading needs no write access to the file.
        let events = try Self.runRefusable(["events", "--db", db])
        #expect(events.status == 0, "\(events.stderr)")
    }

    @Test("a directory where the -wal and -shm cannot be created is named, with its owner and mode",
          .enabled(if: canBeRefused, "as root, needs /usr/bin/setpriv and a binary nobody can run"))
    func unwritableDirectory() throws {
        let parent = try TemporaryDirectory()
        defer {
            try? Self.chmod(parent.path("locked"), 0o755)
            parent.remove()
        }
        let locked = parent.path("locked")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        let db = locked + "/p.sqlite"
        #expect(try BinaryRunner.run(["init", "--db", db]).status == 0)
        if geteuid() == 0 {
            // nobody owns the file itself: only the directory (root's, 0755) is in the way.
            try FileManager.default.setAttributes([.ownerAccountID: Int(Self.nobody)], ofItemAtPath: db)
        }
        try Self.chmod(locked, 0o555)
        for arguments in [["retry", "--all"], ["events"]] {
            let result = try Self.runRefusable(arguments + ["--db", db])
            #expect(result.status == 1, "\(arguments): status \(result.status), \(result.stderr)")
            #expect(!result.stderr.contains("--read-only"), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("""
                \(db): cannot write the database: permission denied (the directory \(locked), where p.sqlite-wal and \
                p.sqlite-shm must be created, is owned by
                """), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("mode 0555; patchbay runs as \(Self.refusedUser))"), "\(arguments): \(result.stderr)")
        }
        let created = try Self.runRefusable(["init", "--db", locked + "/new.sqlite"])
        #expect(created.status == 1)
        #expect(created.stderr.contains("where new.sqlite, new.sqlite-wal and new.sqlite-shm must be created"), "\(created.stderr)")
    }

    @Test("with umask 000, init and run still create the database, its -wal and -shm 0600")
    func createdOwnerOnlyWhateverTheUmask() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        func withUmask000(_ arguments: [String]) throws -> BinaryRunner.Running {
            try Self.start("/bin/sh", ["-c", "umask 000 && exec \"$0\" \"$@\"", BinaryRunner.binary.path] + arguments,
                           environment: ["GITHUB_SECRET": "s3cret"], cwd: directory.url)
        }
        let initialized = directory.path("init.sqlite")
        let made = try withUmask000(["init", "--db", initialized]).finish()
        #expect(made.status == 0, "\(made.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: initialized)[.posixPermissions] as? Int
        #expect(mode == 0o600, "init.sqlite is \(String(mode ?? 0, radix: 8))")

        // A running hub holds its -wal and -shm open: all three are the owner's only.
        let config = directory.path("hub.yaml")
        let log = directory.path("hub.log")
        try """
            database: hub.sqlite
            server: {listen: "127.0.0.1:0"}
            log: {file: "\(log)"}
            connectors:
              orders: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let hub = try withUmask000(["run", "--config", config])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, hub.process.isRunning,
              !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("listening") ?? false) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let db = directory.path("hub.sqlite")
        let modes = [db, db + "-wal", db + "-shm"].map {
            ($0, (try? FileManager.default.attributesOfItem(atPath: $0)[.posixPermissions] as? Int) ?? nil)
        }
        if hub.process.isRunning { hub.process.terminate() }
        let result = hub.finish()
        #expect(result.status == 0, "\(result.stderr)")
        for (file, mode) in modes {
            #expect(mode == 0o600, "\(file) is \(mode.map { String($0, radix: 8) } ?? "missing")")
        }
    }
}
