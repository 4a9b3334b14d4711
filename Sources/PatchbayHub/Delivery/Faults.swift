import Foundation

/// Crash points for the fault-injection suite, armed from the environment:
/// `PATCHBAY_FAULTS=ingest.after-commit:3,delivery.after-sink` makes the process die abruptly
/// (`_exit(137)`, as `kill -9` would) the 3rd time ingest commits, or the first time a sink returns.
/// Unset (always, outside tests), every check is one load of an empty dictionary.
public enum Faults {
    private static let armed: [String: Int] = {
        guard let spec = ProcessInfo.processInfo.environment["PATCHBAY_FAULTS"], !spec.isEmpty else { return [:] }
        var out: [String: Int] = [:]
        for item in spec.split(separator: ",") {
            let parts = item.split(separator: ":")
            out[String(parts[0])] = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        }
        return out
    }()
    private static let lock = NSLock()
    nonisolated(unsafe) private static var counts: [String: Int] = [:]

    /// Dies here if `point` is armed and this is its nth passage.
    public static func check(_ point: String) {
        guard let nth = armed[point] else { return }
        let n = lock.withLock { () -> Int in
            counts[point, default: 0] += 1
            return counts[point]!
        }
        if n == nth {
            FileHandle.standardError.write(Data("patchbay: fault injected at \(point) (passage \(n)): exiting\n".utf8))
            _exit(137)
        }
    }

    private static let pauses: [String: Int] = {
        guard let spec = ProcessInfo.processInfo.environment["PATCHBAY_PAUSES"], !spec.isEmpty else { return [:] }
        var out: [String: Int] = [:]
        for item in spec.split(separator: ",") {
            let parts = item.split(separator: ":")
            out[String(parts[0])] = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        }
        return out
    }()
    nonisolated(unsafe) private static var pauseCounts: [String: Int] = [:]

    /// Stops the whole process here (SIGSTOP, as a frozen VM or a swap storm would) if `point` is
    /// armed in `PATCHBAY_PAUSES` and this is its nth passage; a test continues it with SIGCONT.
    public static func pause(_ point: String) {
        guard let nth = pauses[point] else { return }
        let n = lock.withLock { () -> Int in
            pauseCounts[point, default: 0] += 1
            return pauseCounts[point]!
        }
        if n == nth {
            FileHandle.standardError.write(Data("patchbay: paused at \(point) (passage \(n))\n".utf8))
            raise(SIGSTOP)
        }
    }
}
