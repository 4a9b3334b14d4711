import Foundation
import TestSupport
import Testing

/// Promise 6 for the command line: a value typed by a person is refused with what was wrong, and
/// never crashes the process (a trap would end it with a signal, not exit status 64).
@Suite("patchbay CLI, bad input refused with a reason")
struct BadInputTests {
    /// A fresh database made by `patchbay init`.
    private static func initialized(_ directory: TemporaryDirectory) throws -> String {
        let db = directory.path("p.sqlite")
        let made = try BinaryRunner.run(["init", "--db", db])
        #expect(made.status == 0, "\(made.stderr)")
        return db
    }

    @Test("--since and --older-than of 1e12d say 'longer than 100 years' (they trapped converting to Int64)")
    func hugeDurations() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let db = try Self.initialized(directory)
        for arguments in [["events", "--since", "1e12d"], ["failed", "--since", "1e12d"],
                          ["retry", "--all", "--since", "1e12d"], ["prune", "--older-than", "1e12d"],
                          ["events", "--since", "1e400w"]] {
            let result = try BinaryRunner.run(arguments + ["--db", db])
            #expect(result.status == 64, "\(arguments): status \(result.status), \(result.stderr)")
            #expect(result.stderr.contains("is longer than 100 years"), "\(arguments): \(result.stderr)")
        }
    }

    @Test("a hundred years, the longest duration, works wherever a duration is taken")
    func longestDuration() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let db = try Self.initialized(directory)
        for arguments in [["events", "--since", "36525d"], ["failed", "--since", "5200w"],
                          ["retry", "--all", "--since", "36525d"], ["prune", "--older-than", "36525d"],
                          ["events", "--since", "250ms"]] {
            let result = try BinaryRunner.run(arguments + ["--db", db])
            #expect(result.status == 0, "\(arguments): status \(result.status), \(result.stderr)")
        }
    }

    @Test("garbage, negative and unit-less durations are refused with the expected form")
    func malformedDurations() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let db = try Self.initialized(directory)
        for value in ["soon", "90", "nan", "infs", "-2h", "5y"] {
            let result = try BinaryRunner.run(["events", "--since=\(value)", "--db", db])
            #expect(result.status == 64, "'\(value)': status \(result.status), \(result.stderr)")
            let reason = value == "-2h" ? "is negative" : "expected a number and a unit like 90s, 15m, 2h, 7d, 1w"
            #expect(result.stderr.contains(reason), "'\(value)': \(result.stderr)")
        }
    }

    @Test("failed --limit outside 1 to 10000 is refused (SQLite read -1 as no limit)")
    func failedLimit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let db = try Self.initialized(directory)
        for limit in ["-1", "0", "10001", "9223372036854775807"] {
            let result = try BinaryRunner.run(["failed", "--limit=\(limit)", "--db", db])
            #expect(result.status == 64, "--limit \(limit): status \(result.status), \(result.stderr)")
            #expect(result.stderr.contains("--limit must be 1 to 10000"), "--limit \(limit): \(result.stderr)")
        }
        let overflow = try BinaryRunner.run(["failed", "--limit", "99999999999999999999", "--db", db])
        #expect(overflow.status == 64, "\(overflow.stderr)")
        #expect(try BinaryRunner.run(["failed", "--limit", "10000", "--db", db]).status == 0)
    }

    @Test("seed --events and --days out of range are refused, not multiplied into a date")
    func seedRanges() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let db = directory.path("seed.sqlite")
        for arguments in [["--days", "0"], ["--days", "100000000000"], ["--days=-1"], ["--events=-5"],
                          ["--events", "99999999999999999999"]] {
            let result = try BinaryRunner.run(["seed", "--db", db] + arguments)
            #expect(result.status == 64, "\(arguments): status \(result.status), \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    /// A configuration with one webhook source, listening on a port the system picks.
    private static func writeConfig(in directory: TemporaryDirectory, database: String?) throws -> String {
        let config = directory.path("hub.yaml")
        try """
            \(database.map { "database: \($0)" } ?? "")
            server: {listen: "127.0.0.1:0"}
            log: {file: "\(directory.path("hub.log"))"}
            connectors:
              orders: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    /// Runs the binary; a process still running after `timeout` seconds (a hub that started) is
    /// stopped and reported as a failure.
    private static func runExpectingExit(_ arguments: [String], environment: [String: String], cwd: URL,
                                         timeout: TimeInterval = 30,
                                         sourceLocation: SourceLocation = #_sourceLocation) async throws -> BinaryRunner.Result {
        let running = try BinaryRunner.start(arguments, environment: environment, cwd: cwd)
        let deadline = Date().addingTimeInterval(timeout)
        while running.process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if running.process.isRunning {
            Issue.record("\(arguments) was still running after \(Int(timeout)) s", sourceLocation: sourceLocation)
            running.process.terminate()
        }
        return running.finish()
    }

    @Test("run --db or $PATCHBAY_DB naming a missing file is refused with a one-line error naming it; nothing is created")
    func runRefusesMissingDatabase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try Self.writeConfig(in: directory, database: nil)
        let typo = directory.path("typo.sqlite")
        let environment = ["GITHUB_SECRET": "s3cret"]
        let viaFlag = try await Self.runExpectingExit(["run", "--config", config, "--db", typo],
                                                      environment: environment, cwd: directory.url)
        let viaEnvironment = try await Self.runExpectingExit(["run", "--config", config],
                                                             environment: environment.merging(["PATCHBAY_DB": typo]) { $1 },
                                                             cwd: directory.url)
        for result in [viaFlag, viaEnvironment] {
            #expect(result.status == 1, "status \(result.status), \(result.stderr)")
            let lines = result.stderr.split(separator: "\n").map(String.init)
            #expect(lines == ["Error: \(typo): no such database. Create it with `patchbay init --db \(typo)`."],
                    "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: typo))
        // Without either, ./patchbay.sqlite is no different.
        let byDefault = try await Self.runExpectingExit(["run", "--config", config], environment: environment, cwd: directory.url)
        #expect(byDefault.status == 1, "\(byDefault.stderr)")
        #expect(byDefault.stderr.contains("patchbay.sqlite: no such database"), "\(byDefault.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("patchbay.sqlite")))
    }

    @Test("run creates the configuration's own database: when missing, and its first log line says so")
    func runCreatesConfiguredDatabase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try Self.writeConfig(in: directory, database: "hub.sqlite")
        let db = directory.path("hub.sqlite")
        let log = directory.path("hub.log")
        let hub = try BinaryRunner.start(["run", "--config", config], environment: ["GITHUB_SECRET": "s3cret"],
                                         cwd: directory.url)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, hub.process.isRunning,
              !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("listening") ?? false) {
            try await Task.sleep(for: .milliseconds(50))
        }
        if hub.process.isRunning { hub.process.terminate() }
        let result = hub.finish()
        #expect(result.status == 0, "status \(result.status), \(result.stderr)")
        let lines = (try String(contentsOfFile: log, encoding: .utf8)).split(separator: "\n")
        #expect(lines.first?.contains("notice patchbay.hub: created a new database at \(db)") == true, "\(lines)")
        #expect(FileManager.default.fileExists(atPath: db))

        // The second run opens it and says nothing about creating.
        try Data().write(to: URL(fileURLWithPath: log))
        let again = try BinaryRunner.start(["run", "--config", config], environment: ["GITHUB_SECRET": "s3cret"],
                                           cwd: directory.url)
        let until = Date().addingTimeInterval(60)
        while Date() < until, again.process.isRunning,
              !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("listening") ?? false) {
            try await Task.sleep(for: .milliseconds(50))
        }
        if again.process.isRunning { again.process.terminate() }
        #expect(again.finish().status == 0)
        #expect(!(try String(contentsOfFile: log, encoding: .utf8)).contains("created a new database"))
    }
}
