import Foundation
import PatchbayStore
import Synchronization

/// What one answer of a rate-limited SaaS API said is left of its quota.
public struct QuotaReading: Sendable, Equatable {
    public var dayRemaining: Int?
    public var dayLimit: Int?
    public var minuteRemaining: Int?
    public var appMinuteRemaining: Int?
    public var at: Date

    public init(dayRemaining: Int? = nil, dayLimit: Int? = nil, minuteRemaining: Int? = nil, appMinuteRemaining: Int? = nil,
                at: Date) {
        self.dayRemaining = dayRemaining
        self.dayLimit = dayLimit
        self.minuteRemaining = minuteRemaining
        self.appMinuteRemaining = appMinuteRemaining
        self.at = at
    }

    /// The reading as the store keeps it for `connector`.
    public func quota(connector: ConnectorID) -> APIQuota {
        APIQuota(connector: connector, dayRemaining: dayRemaining, dayLimit: dayLimit, minuteRemaining: minuteRemaining,
                 appMinuteRemaining: appMinuteRemaining, observedAt: at.millis)
    }
}

/// Where a connector's API answers report the provider's quota (Xero's rate-limit headers), once the
/// runtime has bound a recorder; until then (a file only checked) readings go nowhere.
public final class QuotaBinding: Sendable {
    /// Reads one answer's headers; nil when they carry no quota.
    public let reader: @Sendable ([String: String], Date) -> QuotaReading?
    private let recorder = Mutex<(@Sendable (QuotaReading) -> Void)?>(nil)

    public init(reader: @escaping @Sendable ([String: String], Date) -> QuotaReading?) {
        self.reader = reader
    }

    public func bind(_ record: @escaping @Sendable (QuotaReading) -> Void) { recorder.withLock { $0 = record } }

    /// Reads an answer's headers and hands a reading to the recorder. Cheap when nothing is bound.
    public func observe(_ headers: [String: String], at: Date = Date()) {
        guard let record = recorder.withLock({ $0 }), let reading = reader(headers, at) else { return }
        record(reading)
    }
}

/// A built connector that talks to a SaaS API with credentials the runtime manages: its OAuth
/// client (`auth:`) and where its quota readings go. The HTTP sinks and the API pulls are.
public protocol SaaSConnection: Sendable {
    var oauth: OAuthBinding? { get }
    var quota: QuotaBinding? { get }
    /// The headers it sends (for `patchbay auth login`: Xero's tenant header, for instance).
    var headers: [String: String] { get }
    /// Values kept out of every message it or the CLI prints.
    var secrets: [String] { get }
}

extension HTTPSink: SaaSConnection {}

extension BuiltConnector {
    /// The sink's or batch job's connection to a SaaS API, when it has one; sources have none.
    public var saasConnection: (any SaaSConnection)? {
        switch self {
        case .sink(let sink): sink as? any SaaSConnection
        case .batch(let job): job as? any SaaSConnection
        case .source: nil
        }
    }
}
