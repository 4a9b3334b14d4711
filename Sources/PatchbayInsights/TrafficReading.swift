import Foundation
import PatchbayStore

/// The one read the map and the advisor need. Declared here, where it is used; the store conforms.
public protocol TrafficReading: Sendable {
    /// The traffic of the last `days` days and the hourly rollups of the last `historyDays`.
    func trafficSnapshot(now: Date, days: Int, historyDays: Int) throws -> TrafficSnapshot
}

extension Store: TrafficReading {}
