import Foundation
import PatchbayStore
import PatchbayText
import TerminalUI

/// Data and action results handed back from work done off the drawing loop.
public enum DashboardMessage: Sendable {
    case overview(OverviewSnapshot)
    case connectors([ConnectorStatus], [ConnectorID: [ThroughputBucket]])
    case failures([FailedDelivery])
    case groups([ErrorGroup])
    case retries([FailedDelivery])
    case events(EventPage)
    case detail(EventDetail?, EventID)
    case aging([CurrencyAging])
    case invoices([Invoice])
    case map(MapSnapshot)
    case money(MoneyAtRiskReport)
    case connectorHealth(ConnectorHealthSnapshot)
    case alerts([AlertRecord])
    case confirm(Confirmation)
    case actionDone(String, isError: Bool)
    case loadFailed(String)
}

/// Runs work (database reads and writes) and hands its message back to the dashboard.
public protocol WorkExecutor: AnyObject {
    func submit(_ work: @escaping @Sendable () -> DashboardMessage)
}

/// Runs work at once, on the caller's thread: for tests, where every key's effect is visible next line.
public final class ImmediateExecutor: WorkExecutor {
    public weak var dashboard: Dashboard?

    public init() {}

    public func submit(_ work: @escaping @Sendable () -> DashboardMessage) {
        dashboard?.receive(work())
    }
}

/// The dashboard: state, keys and rendering. Lives on the drawing loop's thread; every database call
/// goes through the executor.
public final class Dashboard {
    public internal(set) var state: DashboardState
    public var theme: Theme
    let reader: any DashboardReading
    let actor: (any DashboardActing)?
    let executor: any WorkExecutor
    public internal(set) var shouldQuit = false
    /// When a batch job runs next, from the hub's configuration (`patchbay dash --config`): the
    /// schedule's words and the time, given the job's last start. Nil: no configuration given.
    public var nextRun: (@Sendable (_ job: String, _ lastStartedAt: Int64?, _ now: Date) -> (schedule: String, next: Date?)?)?
    /// Where the last frame put each clickable row.
    var hits: [(rect: Rect, listKey: String, offset: Int)] = []

    public static let minimumSize = Size(width: 60, height: 16)

    public init(reader: any DashboardReading, actor: (any DashboardActing)?, executor: any WorkExecutor,
                databasePath: String, theme: Theme = .default, now: Date = Date()) {
        self.reader = reader
        self.actor = actor
        self.executor = executor
        self.theme = theme
        self.state = DashboardState(databasePath: databasePath, readOnly: actor == nil, now: now)
    }

    // MARK: Loading

    /// Reads what the current screen shows (and the header's figures), off the drawing loop.
    public func reload() {
        let reader = self.reader
        let now = state.now
        let window = state.window
        executor.submit { Self.load { .overview(try reader.overview(window: window, now: now)) } }
        switch state.screen {
        case .overview, .failed, .connectors: reloadMoney()
        default: break
        }
        switch state.screen {
        case .overview:
            break
        case .connectors:
            executor.submit { Self.load { let r = try reader.connectorRows(window: window, now: now); return .connectors(r.statuses, r.series) } }
            executor.submit { Self.load { .connectorHealth(try reader.connectorHealth(window: window, now: now)) } }
        case .failed:
            let connector = state.failedConnector
            executor.submit { Self.load { .groups(try reader.groups(connector: connector)) } }
            if !state.failedGrouped || state.failedGroupFilter != nil {
                let filter = failureFilter()
                let limit = state.failedLimit
                executor.submit { Self.load { .failures(try reader.failures(filter, limit: limit)) } }
            }
        case .retryQueue:
            executor.submit { Self.load { .retries(try reader.retries(limit: 1000)) } }
        case .events:
            let filter = state.eventFilter
            let before = state.eventBefore
            executor.submit { Self.load { .events(try reader.eventPage(filter, before: before, limit: 200)) } }
        case .detail(let id):
            executor.submit { Self.load { .detail(try reader.event(id), id) } }
        case .aging:
            let asOf = state.agingAsOf
            let basis = state.agingBasis
            executor.submit { Self.load { .aging(try reader.agingReport(asOf: asOf, by: basis)) } }
        case .invoices(let customer, let currency):
            executor.submit { Self.load { .invoices(try reader.customerInvoices(customer: customer, currency: currency)) } }
        case .map:
            reloadMap()
        case .alerts:
            executor.submit { Self.load { .alerts(try reader.alerts(limit: DashboardState.alertsLimit)) } }
        }
    }

    /// Reads money at risk when it was never read, was asked for again (`ctrl-r`, an action), or is
    /// older than `moneyRefresh`: it reads every failing delivery's payload, so not on every change.
    func reloadMoney() {
        if let at = state.moneyRequestedAt, state.now.timeIntervalSince(at) < DashboardState.moneyRefresh,
           at <= state.now { return }
        state.moneyRequestedAt = state.now
        let reader = self.reader
        executor.submit { Self.load { .money(try reader.moneyAtRisk()) } }
    }

    static func load(_ body: () throws -> DashboardMessage) -> DashboardMessage {
        do { return try body() } catch { return .loadFailed("\(error)") }
    }

    /// Applies a result of work done off the loop.
    public func receive(_ message: DashboardMessage) {
        switch message {
        case .overview(let snapshot):
            state.overview = snapshot
            state.loadError = nil
        case .connectors(let statuses, let series):
            state.connectorStatuses = statuses
            state.connectorSeries = series
            applyConnectorFocus()
        case .failures(let rows): state.failures = rows
        case .groups(let groups):
            state.groups = groups
            if let current = state.failedGroupFilter {
                state.failedGroupFilter = groups.first { $0.id == current.id } ?? current
            }
        case .retries(let rows): state.retryRows = rows
        case .events(let page): state.eventPage = page
        case .detail(let detail, let id):
            if case .detail(id) = state.screen { state.detail = detail }
            if detail == nil { toast("No event \(id) (pruned?)", error: true) }
        case .aging(let reports): state.agingReports = reports
        case .invoices(let invoices): state.invoices = invoices
        case .map(let snapshot): state.mapSnapshot = snapshot
        case .money(let report): state.money = report
        case .connectorHealth(let health): state.connectorHealth = health
        case .alerts(let rows): state.alertRows = rows
        case .confirm(let confirmation):
            state.confirmation = confirmation
        case .actionDone(let message, let isError):
            toast(message, error: isError)
            state.moneyRequestedAt = nil  // a retry or discard changes what is at risk
            reload()
        case .loadFailed(let message):
            state.loadError = message
            toast(message, error: true)
        }
        clampSelection()
    }

    /// Advances the clock; drops a toast after a while. When a new minute starts, the data is read
    /// again even if nothing was written: the charts' buckets move with time, "today" resets at
    /// midnight, and countdowns would otherwise drift from the rows they belong to.
    public func tick(now: Date) {
        let minuteChanged = Int(now.timeIntervalSince1970 / 60) != Int(state.now.timeIntervalSince1970 / 60)
        state.now = now
        if let toast = state.toast, now.timeIntervalSince(toast.at) > 8 { state.toast = nil }
        if minuteChanged && state.live { reload() }
    }

    /// Takes a new reading of the database's free space; true when what the screen shows of it changed
    /// (so that an idle dashboard redraws only when the level or the figure it prints moves).
    @discardableResult
    public func updateDisk(_ disk: DiskSpace?) -> Bool {
        func shown(_ disk: DiskSpace?) -> String {
            guard let disk, disk.level != .ok else { return "" }
            return "\(disk.level)\(DiskSpace.format(bytes: disk.available))"
        }
        let changed = shown(disk) != shown(state.disk)
        state.disk = disk
        return changed
    }

    func toast(_ message: String, error: Bool = false) {
        state.toast = .init(message: SafeText.line(message), isError: error, at: state.now)
    }

    public func setThemeWarning(_ warning: String?) {
        state.themeWarning = warning
        if let warning { toast("Theme: \(warning); using the default", error: true) }
    }

    // MARK: Rows of the current list

    func currentRows() -> RowSet? {
        let now = state.now
        switch state.screen {
        case .overview:
            guard let overview = state.overview else { return nil }
            switch state.panel {
            case .failed: return Rows.groups(overview.groups, theme: theme, now: now, money: state.money)
            case .retryQueue: return Rows.retries(overview.retryQueue, theme: theme, now: now)
            case .aging: return Rows.aging(overview.aging, theme: theme)
            case .throughput: return nil
            }
        case .connectors:
            return Rows.connectors(state.connectorStatuses, series: state.connectorSeries, theme: theme, now: now,
                                   health: state.connectorHealth)
                .arranged(by: state.list("connectors"))
        case .failed:
            if state.failedGrouped && state.failedGroupFilter == nil {
                return Rows.groups(state.groups, theme: theme, now: now, money: state.money)
                    .arranged(by: state.list("failed.groups"))
            }
            return Rows.failures(state.failures, theme: theme, now: now).arranged(by: state.list("failed.rows"))
        case .retryQueue:
            return Rows.retries(state.retryRows, theme: theme, now: now).arranged(by: state.list("retry"))
        case .events:
            return Rows.events(state.eventPage, theme: theme, now: now).arranged(by: state.list("events"))
        case .aging:
            return Rows.aging(state.agingReports, theme: theme).arranged(by: state.list("aging"))
        case .invoices:
            return Rows.invoices(state.invoices, asOf: state.agingAsOf, theme: theme).arranged(by: state.list("invoices"))
        case .map:
            return Rows.edges(state.mapSnapshot?.map, theme: theme).arranged(by: state.list("map"))
        case .alerts:
            return Rows.alerts(state.alertRows, theme: theme, now: now).arranged(by: state.list("alerts"))
        case .detail:
            return nil
        }
    }

    func selectedId() -> Int64? {
        guard let rows = currentRows(), !rows.ids.isEmpty else { return nil }
        let list = state.list(state.listKey)
        return rows.ids[min(list.selected, rows.ids.count - 1)]
    }

    func clampSelection() {
        guard let rows = currentRows() else { return }
        state.lists[state.listKey, default: ListState()].clamp(count: rows.ids.count)
    }

    func failureFilter() -> FailureFilter {
        var filter = FailureFilter(connectorId: state.failedConnector)
        if let group = state.failedGroupFilter { filter.errorGroupId = group.id; filter.connectorId = group.connectorId }
        return filter
    }

    // MARK: Navigation

    func go(_ screen: Screen, remember: Bool = true) {
        if screen == .map { state.mapRequestedAt = nil }  // opening the map reads it afresh
        if screen == state.screen { reload(); return }
        if remember { state.history.append(state.screen) }
        if state.history.count > 50 { state.history.removeFirst() }
        state.screen = screen
        state.showHelp = false
        if case .detail = screen { state.detailScroll = 0; state.detailDelivery = 0; state.detail = nil }
        reload()
    }

    func back() {
        if state.showHelp { state.showHelp = false; return }
        if case .failed = state.screen, state.failedGroupFilter != nil {
            state.failedGroupFilter = nil
            reload()
            return
        }
        if let previous = state.history.popLast() {
            state.screen = previous
            reload()
        } else if state.screen != .overview {
            state.screen = .overview
            reload()
        }
    }
}
