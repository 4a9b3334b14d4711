import Foundation
import PatchbayHub
import PatchbayText

/// `file`: appends each delivery to a file in a directory, one file per day
/// (`<connector>-2026-11-25.jsonl` or `.csv`), for warehouse and reporting loads.
///
/// Each record is written with one `write(2)` on a file opened for appending and `fsync`ed before the
/// delivery counts as done. Records carry the delivery's idempotency key: after a crash a record may
/// appear twice (at least once), and loaders drop repeats on that key.
public struct FileSink: Sink {
    public enum Format: String, Sendable, CaseIterable { case jsonl, csv }

    public var directory: URL
    public var prefix: String
    public var format: Format
    /// CSV columns: top-level (or dotted) fields of the payload. Empty: the payload as one JSON column.
    public var columns: [String]
    public var transform: (any PayloadTransform)?
    public var timeout: Duration { .seconds(10) }
    private let lock = FileLock()

    public init(directory: URL, prefix: String, format: Format, columns: [String] = [],
                transform: (any PayloadTransform)? = nil) {
        self.directory = directory
        self.prefix = prefix
        self.format = format
        self.columns = columns
        self.transform = transform
    }

    public func fileURL(for date: Date) -> URL {
        directory.appendingPathComponent("\(prefix)-\(date.isoDay).\(format.rawValue)")
    }

    public func deliver(_ delivery: OutboundDelivery) async -> SinkResult {
        var payload = delivery.payload
        if let transform {
            do { payload = try transform.apply(topic: delivery.topic, payload: payload).payload } catch {
                return .permanentError("cannot map the payload for this file: \(error)")
            }
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8), options: [.fragmentsAllowed]) else {
            return .permanentError("the payload is not JSON")
        }
        let url = fileURL(for: Date())
        let record: String
        let header: String?
        switch format {
        case .jsonl:
            header = nil
            let envelope: [String: Any] = [
                "delivery_id": delivery.deliveryId, "event_id": delivery.eventId, "topic": delivery.topic,
                "idempotency_key": delivery.idempotencyKey, "payload": object,
            ]
            guard let data = try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                return .permanentError("the payload cannot be written as JSON")
            }
            record = String(decoding: data, as: UTF8.self) + "\n"
        case .csv:
            let names = ["delivery_id", "event_id", "topic", "idempotency_key"] + (columns.isEmpty ? ["payload"] : columns)
            header = names.map(Self.csvField).joined(separator: ",") + "\r\n"
            var fields = [String(delivery.deliveryId), String(delivery.eventId), delivery.topic, delivery.idempotencyKey]
            if columns.isEmpty {
                fields.append(payload)
            } else {
                for column in columns { fields.append(Self.text(Self.value(at: column, in: object))) }
            }
            record = fields.map(Self.csvField).joined(separator: ",") + "\r\n"
        }
        do {
            try lock.withLock { try Self.append(record, header: header, to: url, directory: directory) }
            return .success(status: nil, excerpt: url.lastPathComponent)
        } catch {
            return .transientError("cannot write \(url.path): \(error)")
        }
    }

    private static func append(_ record: String, header: String?, to url: URL, directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // 0600: payloads are customers' data, not for other local users (the umask can only narrow it).
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var bytes = Array(record.utf8)
        if let header {
            var info = stat()
            if fstat(fd, &info) == 0, info.st_size == 0 { bytes = Array(header.utf8) + bytes }
        }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            offset += n
        }
        guard fsync(fd) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    static func value(at path: String, in object: Any) -> Any? {
        var current: Any? = object
        for key in path.split(separator: ".") {
            if let dict = current as? [String: Any] { current = dict[String(key)] } else if let array = current as? [Any],
                let index = Int(key), array.indices.contains(index) { current = array[index] } else { return nil }
        }
        return current
    }

    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return ""
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        case let v?:
            if let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]) {
                return String(decoding: data, as: UTF8.self)
            }
            return ""
        }
    }

    /// One CSV field: `SafeText.csvField`, shared with `aging --csv`, keeping line breaks inside a
    /// quoted field (a multi-line note is data a loader reads back; the file is no terminal).
    static func csvField(_ text: String) -> String {
        SafeText.csvField(text, keepLineBreaks: true)
    }
}

/// Serialises appends of one sink (records never interleave).
final class FileLock: @unchecked Sendable {
    private let lock = NSLock()
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }
}
