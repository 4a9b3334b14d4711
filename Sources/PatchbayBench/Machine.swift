import Foundation
import GRDB

/// The machine and library the figures were measured on: figures mean little without it.
struct Machine: Sendable {
    var cores: Int
    var memory: String
    var cpu: String
    var kernel: String
    var sqlite: String
    var date: String

    static func describe() throws -> Machine {
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        var memory = "unknown"
        if let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kb = Int64(line.split(separator: " ").dropFirst().first ?? "") {
            memory = Format.bytes(kb * 1024)
        }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let cpu = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") })
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let kernel = ((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? "unknown")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let sqlite = try DatabaseQueue().read { db in
            try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "unknown"
        }
        return Machine(
            cores: ProcessInfo.processInfo.activeProcessorCount, memory: memory, cpu: cpu,
            kernel: "Linux " + kernel, sqlite: sqlite,
            date: Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false)))
    }

    /// `/proc/loadavg`'s 1, 5 and 15 minute averages: other work on the machine skews every figure.
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        let fields = text.split(separator: " ").prefix(3)
        return fields.count == 3 ? fields.joined(separator: " ") : "unknown"
    }

    /// Free space and file system of the benchmark directory, which decide what fsync costs.
    static func disk(at directory: String) -> String {
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: directory),
              let free = attributes[.systemFreeSize] as? NSNumber else { return "unknown" }
        return Format.bytes(free.int64Value) + " free"
    }

    var lines: [String] {
        [
            "machine: \(cores) cores (\(cpu)), \(memory) RAM, \(kernel)",
            "SQLite:  \(sqlite) (through GRDB 7.10.0)",
            "date:    \(date)",
        ]
    }
}
