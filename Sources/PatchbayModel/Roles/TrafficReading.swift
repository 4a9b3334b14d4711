import Foundation

/// The one read the integration map and the pattern advisor need (PatchbayInsights): the measured
/// traffic of an installation. Every backend conforms.
public protocol TrafficReading: Sendable {
    /// The traffic of the last `days` days and the hourly rollups of the last `historyDays`.
    func trafficSnapshot(now: Date, days: Int, historyDays: Int) throws -> TrafficSnapshot
}
