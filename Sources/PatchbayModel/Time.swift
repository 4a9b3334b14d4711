import Foundation

extension Date {
    /// The UTC calendar day, `2026-11-25`: the form of invoice dates and `--as-of`.
    public var isoDay: String { formatted(.iso8601.year().month().day()) }

    /// Midnight UTC of this date's day.
    public var startOfUTCDay: Date {
        Date(timeIntervalSince1970: (timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }

    /// Milliseconds since 1970, the unit of every time column.
    public var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    public init(millis: Int64) {
        self.init(timeIntervalSince1970: Double(millis) / 1000)
    }

    /// `2026-11-25T13:35:14Z`, the form times take in messages and JSON.
    public var iso8601: String { formatted(.iso8601) }
}
