import Foundation

/// Monotonic time, in seconds.
enum Monotonic {
    static func now() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    /// Runs `body` and returns its result with how long it took, in seconds.
    static func time<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let start = now()
        let result = try body()
        return (result, now() - start)
    }
}

/// Durations of repeated runs of one operation.
struct Samples: Sendable {
    /// In run order; the first run is the coldest.
    private(set) var seconds: [Double] = []

    mutating func add(_ duration: Double) { seconds.append(duration) }

    var count: Int { seconds.count }
    var total: Double { seconds.reduce(0, +) }
    var first: Double { seconds.first ?? 0 }
    var median: Double { percentile(50) }
    /// Nearest-rank: with 100 runs or fewer this is the slowest run.
    var p99: Double { percentile(99) }

    func percentile(_ p: Double) -> Double {
        guard !seconds.isEmpty else { return 0 }
        let sorted = seconds.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }
}

/// Throughput of a timed loop: how many items in how long.
struct Rate: Sendable {
    var items: Int
    var seconds: Double
    var perSecond: Double { seconds > 0 ? Double(items) / seconds : 0 }
}

/// Number formatting for the report.
enum Format {
    /// `23,456`
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    /// `23,456/s`
    static func rate(_ perSecond: Double) -> String {
        if perSecond >= 100 { return count(Int(perSecond.rounded())) + "/s" }
        return fixed(perSecond, 1) + "/s"
    }

    /// `0.42 ms`, `12.3 ms`, `1.84 s`
    static func duration(_ seconds: Double) -> String {
        let ms = seconds * 1000
        if ms < 10 { return fixed(ms, 2) + " ms" }
        if ms < 1000 { return fixed(ms, 1) + " ms" }
        return fixed(seconds, 2) + " s"
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    /// `1.2 GB`
    static func bytes(_ value: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var scaled = Double(value)
        var unit = 0
        while scaled >= 1024 && unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : fixed(scaled, 1) + " " + units[unit]
    }
}
