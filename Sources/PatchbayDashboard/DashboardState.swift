import Foundation
import PatchbayInsights
import PatchbayStore
import TerminalUI

/// The screens, by the number key that opens each.
public enum Screen: Equatable, Sendable {
    case overview
    case connectors
    case failed
    case retryQueue
    case events
    case detail(EventID)
    case aging
    case invoices(customer: String, currency: String)
    case map
    case alerts

    public var title: String {
        switch self {
        case .overview: return "Overview"
        case .connectors: return "Connectors"
        case .failed: return "Failed"
        case .retryQueue: return "Retry queue"
        case .events: return "Event history"
        case .detail(let id): return "Event \(id)"
        case .aging: return "Invoice aging"
        case .invoices(let customer, let currency): return "Open invoices: \(customer) (\(currency))"
        case .map: return "Integration map"
        case .alerts: return "Alerts"
        }
    }
}

/// The panels of the overview, in `tab` order.
public enum OverviewPanel: Int, CaseIterable, Sendable {
    case throughput, failed, retryQueue, aging
}

/// Selection, scroll, marks, sort and filter of one list.
public struct ListState: Equatable, Sendable {
    public var selected = 0
    public var offset = 0
    public var marked: Set<Int64> = []
    public var filter = ""
    public var sortColumn: Int?
    public var sortDescending = false
    public var focusedColumn = 0

    public init() {}

    public mutating func move(by delta: Int, count: Int) {
        guard count > 0 else { selected = 0; return }
        selected = min(count - 1, max(0, selected + delta))
    }

    public mutating func clamp(count: Int) {
        selected = count == 0 ? 0 : min(selected, count - 1)
    }
}

/// A question awaiting `y` or `n`.
public struct Confirmation: Equatable, Sendable {
    public var title: String
    public var message: String
    public var action: OperatorAction
}

/// What an operator asked the dashboard to change.
public enum OperatorAction: Equatable, Sendable {
    case retry([DeliveryID])
    case retryMatching(FailureFilter, description: String)
    case discard([DeliveryID])
    case pause(String, Bool)
    /// Send the events the filter matches to the named sink again (`:replay to=…`).
    case replay(ReplayFilter, to: String)
    /// Ask the hub to run a batch job now (`x` on a batch job in the connectors view).
    case runNow(String)
}

/// Everything the dashboard shows and remembers. Rendering is a pure function of this and the theme.
public struct DashboardState: Sendable {
    public var databasePath: String
    public var readOnly: Bool
    public var now: Date
    public var screen: Screen = .overview
    public var history: [Screen] = []
    public var window: TimeWindow = .hour
    public var live = true
    public var panel: OverviewPanel = .throughput
    public var lists: [String: ListState] = [:]
    public var input: InputLine?
    public var inputPurpose: InputPurpose?
    public var confirmation: Confirmation?
    public var showHelp = false
    public var toast: Toast?
    public var themeWarning: String?

    // Data, as last loaded.
    public var overview: OverviewSnapshot?
    public var connectorStatuses: [ConnectorStatus] = []
    public var connectorSeries: [ConnectorID: [ThroughputBucket]] = [:]
    public var failures: [FailedDelivery] = []
    /// How many failed deliveries the list loads: a page, and a page more each time the selection
    /// reaches the end of what is loaded (a reload reads one page while nobody scrolls).
    public var failedLimit = DashboardState.failedPage
    public static let failedPage = 200
    public var groups: [ErrorGroup] = []
    public var failedGrouped = true
    public var failedGroupFilter: ErrorGroup? {
        didSet { if oldValue?.id != failedGroupFilter?.id { failedLimit = Self.failedPage } }
    }
    public var failedConnector: ConnectorID? {
        didSet { if oldValue != failedConnector { failedLimit = Self.failedPage } }
    }
    public var retryRows: [FailedDelivery] = []
    public var eventFilter = EventFilter()
    public var eventPage: EventPage?
    /// Cursors of the pages before the current one, for PgUp at the top.
    public var eventCursors: [EventID?] = []
    public var eventBefore: EventID?
    public var detail: EventDetail?
    public var detailScroll = 0
    public var detailDelivery = 0
    public var agingAsOf: String
    public var agingBasis: AgingBasis = .due
    public var agingReports: [CurrencyAging] = []
    public var invoices: [Invoice] = []
    /// The integration map and the advice on it, as last read (7 days of traffic: read when the view
    /// opens, on `ctrl-r`, and every `mapRefresh` seconds while it is open, never per frame).
    public var mapSnapshot: MapSnapshot?
    /// When the map was last asked for; nil makes the next reload read it.
    public var mapRequestedAt: Date?
    public static let mapRefresh: TimeInterval = 300
    public static let mapDays = 7
    /// Money at risk in failing deliveries, as last read (at most every `moneyRefresh` seconds: it
    /// reads every failing delivery's payload), and when it was asked for; nil makes the next reload read it.
    public var money: MoneyAtRiskReport?
    public var moneyRequestedAt: Date?
    public static let moneyRefresh: TimeInterval = 30
    /// Sources' traffic and batch jobs' last runs, for the connectors view.
    public var connectorHealth = ConnectorHealthSnapshot()
    /// The alerts view's rows: firing first, then the newest resolved (at most `alertsLimit`).
    public var alertRows: [AlertRecord] = []
    public static let alertsLimit = 500
    /// A connector to select once the connectors view has its rows (enter on a map edge).
    public var focusConnector: String?
    /// Last load error, shown instead of stale silence.
    public var loadError: String?
    /// Free space where the database lives, read by the runner from the filesystem (nil: unknown).
    public var disk: DiskSpace?

    public enum InputPurpose: Sendable { case filter, command }

    public struct Toast: Equatable, Sendable {
        public var message: String
        public var isError: Bool
        public var at: Date
    }

    public init(databasePath: String, readOnly: Bool, now: Date) {
        self.databasePath = databasePath
        self.readOnly = readOnly
        self.now = now
        self.agingAsOf = now.isoDay
    }

    /// The list state of a screen (one per screen kind).
    public func list(_ key: String) -> ListState { lists[key] ?? ListState() }

    public var listKey: String {
        switch screen {
        case .overview: return "overview.\(panel)"
        case .connectors: return "connectors"
        case .failed: return failedGrouped && failedGroupFilter == nil ? "failed.groups" : "failed.rows"
        case .retryQueue: return "retry"
        case .events: return "events"
        case .detail: return "detail"
        case .aging: return "aging"
        case .invoices: return "invoices"
        case .map: return "map"
        case .alerts: return "alerts"
        }
    }
}
