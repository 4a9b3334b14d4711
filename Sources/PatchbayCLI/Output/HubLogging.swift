import Foundation
import Logging
import PatchbayStore
import PatchbayText

/// Logs to stderr, or appended to a file; only the executable configures logging.
enum HubLogging {
    static func bootstrap(level: String, file: String?) -> Logger {
        let logLevel = Logger.Level(rawValue: level) ?? .info
        // One handler for the file and for stderr, so every log line is sanitised in one place.
        let output = file.flatMap(FileLogHandler.open) ?? FileLogHandler.Output(handle: .standardError)
        LoggingSystem.bootstrap { label in
            var handler = FileLogHandler(label: label, output: output)
            handler.logLevel = logLevel
            return handler
        }
        var logger = Logger(label: "patchbay.hub")
        logger.logLevel = logLevel
        return logger
    }
}

/// One line per record, appended to a file or stderr:
/// `2026-11-25T10:00:00Z notice patchbay.hub: listening address=…`.
///
/// Messages and metadata carry what senders and targets wrote (error bodies, names, paths), and
/// log lines are read on a terminal (`tail -f`, the hub in the foreground), so the message and every
/// metadata key and value go through `SafeText.line` here, whatever logged them: an escape sequence
/// shows as `^[`, and a newline cannot start a forged line.
struct FileLogHandler: LogHandler {
    final class Output: @unchecked Sendable {
        let handle: FileHandle
        let lock = NSLock()
        init(handle: FileHandle) { self.handle = handle }
        func write(_ line: String) { lock.withLock { handle.write(Data(line.utf8)) } }
    }

    let label: String
    let output: Output
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String, output: Output) {
        self.label = label
        self.output = output
    }

    static func open(_ path: String) -> Output? {
        if !FileManager.default.fileExists(atPath: path) {
            // Owner-only, like the database: log lines name connectors, senders and errors.
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return nil }
        handle.seekToEndOfFile()
        return Output(handle: handle)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        output.write(Self.line(label: label, level: event.level, message: "\(event.message)",
                               metadata: metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new })))
    }

    /// The text of one record, sanitised.
    static func line(label: String, level: Logger.Level, message: String, metadata: Logger.Metadata, at date: Date = Date()) -> String {
        let fields = metadata.sorted { $0.key < $1.key }
            .map { "\(SafeText.line($0.key))=\(SafeText.line("\($0.value)"))" }
            .joined(separator: " ")
        return "\(date.iso8601) \(level) \(SafeText.line(label)): \(SafeText.line(message))\(fields.isEmpty ? "" : " " + fields)\n"
    }
}
