import Foundation

/// What a SaaS API last said of a connector's request quota, from its rate-limit headers (Xero:
/// `X-DayLimit-Remaining`, `X-MinLimit-Remaining`, `X-AppMinLimit-Remaining`). One row per
/// connector (`api_quotas`, SQLite migration v10, PostgreSQL v4), overwritten by each newer reading.
public struct APIQuota: Sendable, Equatable, Codable {
    public var connector: ConnectorID
    /// Calls left in the provider's day (Xero: 5,000 a day per organisation and app).
    public var dayRemaining: Int?
    /// The day's allowance when the provider's documentation gives it (Xero: 5,000); nil when unknown.
    public var dayLimit: Int?
    /// Calls left in the current minute for this organisation (Xero: 60 a minute).
    public var minuteRemaining: Int?
    /// Calls left in the current minute for the app across all organisations (Xero: 10,000).
    public var appMinuteRemaining: Int?
    /// When the answer that carried these headers arrived, in milliseconds since 1970.
    public var observedAt: Int64

    public init(connector: ConnectorID, dayRemaining: Int? = nil, dayLimit: Int? = nil, minuteRemaining: Int? = nil,
                appMinuteRemaining: Int? = nil, observedAt: Int64) {
        self.connector = connector
        self.dayRemaining = dayRemaining
        self.dayLimit = dayLimit
        self.minuteRemaining = minuteRemaining
        self.appMinuteRemaining = appMinuteRemaining
        self.observedAt = observedAt
    }
}

/// The last quota reading of each connector that talks to a rate-limited SaaS API.
public protocol QuotaLedger: Sendable {
    /// Stores `quota` as the connector's reading unless a newer one is already stored (nodes and
    /// requests race; the latest answer wins). Creates the row when there is none.
    func recordQuota(_ quota: APIQuota) throws
    /// Every connector's last reading.
    func quotas() throws -> [APIQuota]
}
