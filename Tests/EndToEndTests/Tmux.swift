import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// A tmux server of our own (its own socket), running the built `patchbay` in one pane.
final class Tmux {
    let socket = "patchbay-e2e-\(UUID().uuidString.prefix(8))"
    let session = "e2e"
    let exitFile: String

    static let binary: String = {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return products.appendingPathComponent("patchbay").path
    }()

    static var available: Bool {
        (try? run("/usr/bin/env", ["tmux", "-V"]).status) == 0
    }

    init(arguments: [String], width: Int = 120, height: Int = 40, directory: TemporaryDirectory) throws {
        exitFile = directory.path("exit-status")
        let command = ([Tmux.binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        // The pane keeps running after patchbay exits so its final screen and status can be read.
        let script = "\(command); echo $? > '\(exitFile)'; sleep 60"
        try tmux(["-f", "/dev/null", "new-session", "-d", "-s", session, "-x", "\(width)", "-y", "\(height)",
                  "env", "TERM=xterm-256color", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "sh", "-c", script])
        try tmux(["set-option", "-g", "set-clipboard", "on"])
        try tmux(["select-pane", "-t", session, "-T", "patchbay-e2e-title"])
    }

    deinit { _ = try? tmux(["kill-server"]) }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let result = try Tmux.run("/usr/bin/env", ["tmux", "-L", socket] + arguments)
        return result.output
    }

    func send(_ keys: String...) throws {
        for key in keys { try tmux(["send-keys", "-t", session, key]) }
    }

    /// Literal text, not key names.
    func type(_ text: String) throws {
        try tmux(["send-keys", "-t", session, "-l", text])
    }

    func capture() throws -> String {
        try tmux(["capture-pane", "-p", "-t", session])
    }

    func display(_ format: String) throws -> String {
        try tmux(["display-message", "-p", "-t", session, format]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits (bounded) until the screen satisfies `condition`; returns the last capture.
    @discardableResult
    func waitFor(timeout: TimeInterval = 15, _ condition: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = try capture()
            if condition(screen) { return screen }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return screen
    }

    func exitStatus(timeout: TimeInterval = 10) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: exitFile, encoding: .utf8),
               let status = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return status
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return nil
    }

    /// Runs a command to completion with its output in a file, not a pipe: a tmux server started by
    /// `new-session` inherits the descriptors and would hold a pipe open for as long as it runs.
    /// posix_spawn and waitpid, so nothing depends on a run loop.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("patchbay-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
    }
}

/// Runs the binary without a terminal and returns its standard output.
func patchbay(_ arguments: [String]) throws -> (status: Int32, output: String) {
    try Tmux.run(Tmux.binary, arguments)
}
