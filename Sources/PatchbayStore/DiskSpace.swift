import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Free space on the filesystem that holds a database. When it runs out, every writer fails: the hub
/// answers webhooks with 503 and cannot record why in the database it cannot write, so the dashboard
/// reads this from the filesystem itself (`statvfs`, a few microseconds) and says so.
public struct DiskSpace: Sendable, Equatable {
    public enum Level: Int, Sendable, Comparable {
        case ok, low, full
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    /// Bytes an unprivileged process may still write.
    public var available: Int64
    /// The filesystem's size in bytes.
    public var total: Int64

    public init(available: Int64, total: Int64) {
        self.available = available
        self.total = total
    }

    /// The space of the filesystem holding `databasePath` (its directory, so a database not yet
    /// created works too); nil when it cannot be read.
    public static func of(databasePath: String) -> DiskSpace? {
        let directory = URL(fileURLWithPath: databasePath).deletingLastPathComponent().path
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return nil }
        let block = Int64(info.f_frsize > 0 ? info.f_frsize : info.f_bsize)
        return DiskSpace(available: Int64(info.f_bavail) * block, total: Int64(info.f_blocks) * block)
    }

    /// `full` below 64 MiB or 5 % of the filesystem, whichever is smaller (a write or a checkpoint
    /// is about to fail, or already does); `low` below 1 GiB or 10 %, whichever is smaller.
    public var level: Level {
        if available < min(64 << 20, total / 20) { return .full }
        if available < min(1 << 30, total / 10) { return .low }
        return .ok
    }

    /// "12 KiB", "840 MiB", "3.2 GiB".
    public static func format(bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(max(0, bytes))
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 || value >= 10 { return "\(Int(value)) \(units[unit])" }
        return String(format: "%.1f %@", value, units[unit])
    }
}
