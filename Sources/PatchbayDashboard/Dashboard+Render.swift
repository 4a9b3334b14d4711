import Foundation
import PatchbayStore
import PatchbayText
import TerminalUI

extension Dashboard {
    /// Draws the whole screen for a terminal of `size`. Records where rows are, for mouse clicks.
    public func render(size: Size) -> Buffer {
        var buffer = Buffer(width: size.width, height: size.height)
        hits = []
        let area = Rect(x: 0, y: 0, width: size.width, height: size.height)
        guard size.width >= Self.minimumSize.width, size.height >= Self.minimumSize.height else {
            let message = "Terminal too small (\(size.width)x\(size.height)): Patchbay needs "
                + "\(Self.minimumSize.width)x\(Self.minimumSize.height). Enlarge it, or q to quit."
            Paragraph([Line(message, theme.warn)], wrap: true).render(in: area, into: &buffer)
            return buffer
        }
        let parts = Layout.vertical([.length(1), .fill(1), .length(1), .length(1)]).split(area)
        renderHeader(in: parts[0], into: &buffer)
        switch state.screen {
        case .overview: renderOverview(in: parts[1], into: &buffer)
        case .detail: renderDetail(in: parts[1], into: &buffer)
        case .map: renderMap(in: parts[1], into: &buffer)
        default: renderList(in: parts[1], into: &buffer)
        }
        renderStatus(in: parts[2], into: &buffer)
        renderKeyHints(in: parts[3], into: &buffer)
        if state.showHelp { renderHelp(in: parts[1], into: &buffer) }
        if let confirmation = state.confirmation {
            ConfirmDialog(title: confirmation.title, message: confirmation.message,
                          borderStyle: theme.warn, textStyle: theme.text).render(in: parts[1], into: &buffer)
        }
        return buffer
    }

    // MARK: Chrome

    private func renderHeader(in area: Rect, into buffer: inout Buffer) {
        buffer.fill(area, style: theme.statusBar)
        let statuses = state.overview?.statuses ?? []
        let sinks = statuses.filter { $0.connector.direction == .sink }
        let healthy = sinks.filter { $0.connector.health == .healthy }.count
        let degraded = sinks.filter { $0.connector.health == .degraded }.count
        let failing = sinks.filter { $0.connector.health == .failing }.count
        let paused = statuses.filter(\.connector.paused).count
        // Not in the hub's configuration: shown only when there are some, loud when one still has a queue.
        let orphans = sinks.filter { $0.connector.health == .orphaned }
        let stranded = orphans.contains { $0.count(.pending) + $0.count(.inFlight) + $0.count(.retrying) > 0 }
        let clock = state.now.formatted(.iso8601.time(includingFractionalSeconds: false).timeSeparator(.colon)) + " UTC"
        // A file by its name; a PostgreSQL database by user@host:port/name (the URL has no password here).
        let name = state.databasePath.hasPrefix("postgres://")
            ? String(state.databasePath.dropFirst("postgres://".count))
            : URL(fileURLWithPath: state.databasePath).lastPathComponent
        let narrow = area.width < 110
        var spans: [Span] = [
            Span(" Patchbay ", theme.title.over(theme.statusBar)),
            Span(narrow ? "" : "\(name)  ", theme.statusBar),
            Span(state.readOnly ? "read-only " : "", theme.warn.over(theme.statusBar)),
            Span(state.live ? "● live" : "‖ paused", (state.live ? theme.ok : theme.warn).over(theme.statusBar)),
        ]
        if let disk = state.disk, disk.level != .ok {
            let free = DiskSpace.format(bytes: disk.available)
            if disk.level == .full {
                spans.append(Span(narrow ? "  DISK FULL" : "  DISK FULL (\(free) free)", theme.error.over(theme.statusBar)))
            } else {
                spans.append(Span(narrow ? "  disk low" : "  disk low (\(free) free)", theme.warn.over(theme.statusBar)))
            }
        }
        // Firing alerts come before the counts, so that a narrow terminal drops the counts first.
        if let firing = state.overview?.alertsFiring, firing > 0 {
            spans.append(Span("  ALERTS \(firing)", theme.dead.over(theme.statusBar)))
        }
        let fixed = spans.count
        spans += [
            Span("  \(healthy) ok", theme.ok.over(theme.statusBar)),
            Span(" \(degraded) degraded", (degraded > 0 ? theme.retrying : theme.muted).over(theme.statusBar)),
            Span(" \(failing) failing", (failing > 0 ? theme.dead : theme.muted).over(theme.statusBar)),
        ]
        if !orphans.isEmpty {
            spans.append(Span(" \(orphans.count) orphaned", (stranded ? theme.dead : theme.muted).over(theme.statusBar)))
        }
        if paused > 0 { spans.append(Span(" \(paused) paused", theme.warn.over(theme.statusBar))) }
        spans.append(Span(narrow ? "  today \(state.overview?.eventsToday ?? 0)" : "  events today \(state.overview?.eventsToday ?? 0)", theme.statusBar))
        if let refused = state.overview?.refusedToday, refused > 0 {
            spans.append(Span(narrow ? " \(refused) refused" : " · \(refused) webhooks refused", theme.warn.over(theme.statusBar)))
        }
        let right = narrow ? "\(state.window.label) · \(clock) " : "\(state.screen.title) · \(state.window.label) · \(clock) "
        let rightWidth = TextWidth.of(right)
        let budget = max(0, area.width - rightWidth - 1)
        // A figure is shown whole or not at all: `today 1` cut from `today 139` would be a wrong number.
        var used = spans.prefix(fixed).reduce(0) { $0 + TextWidth.of($1.text) }
        var shown = fixed
        while shown < spans.count, used + TextWidth.of(spans[shown].text) <= budget {
            used += TextWidth.of(spans[shown].text)
            shown += 1
        }
        let left = Line(Array(spans.prefix(shown)))
        buffer.write(left, x: area.x, y: area.y, maxWidth: budget, base: theme.statusBar)
        buffer.write(right, x: area.right - rightWidth, y: area.y, style: theme.statusBar)
    }

    private func renderStatus(in area: Rect, into buffer: inout Buffer) {
        if let input = state.input {
            input.render(in: area, into: &buffer, style: theme.text)
            return
        }
        if let toast = state.toast {
            buffer.write(toast.message, x: area.x + 1, y: area.y, maxWidth: area.width - 2,
                         style: toast.isError ? theme.error : theme.ok)
            return
        }
        var notes: [String] = []
        let filter = state.list(state.listKey).filter
        if !filter.isEmpty { notes.append("filter: \(filter)") }
        if state.screen == .events {
            let f = state.eventFilter
            if let t = f.topic { notes.append("topic=\(t)") }
            if let t = f.text { notes.append("search: \(t)") }
            if let s = f.state { notes.append("state=\(s.rawValue)") }
            if let c = f.correlationId { notes.append("correlation=\(c)") }
            if !state.eventCursors.isEmpty { notes.append("page \(state.eventCursors.count + 1)") }
            // A text search reads the log for a bounded time per page; say where it stopped.
            if let page = state.eventPage, page.partial, let next = page.nextCursor {
                notes.append("searched back to event \(next): PgDn searches older")
            }
        }
        if let group = state.failedGroupFilter, state.screen == .failed {
            notes.append("group \(group.id): \(group.connector) · \(group.signature)")
        }
        let marked = state.list(state.listKey).marked.count
        if marked > 0 { notes.append("\(marked) marked") }
        if let error = state.loadError { notes.append("read failed: \(error)") }
        let diskFull = state.disk?.level == .full
        if let disk = state.disk, diskFull {
            // First: it explains every other symptom (503s, failed actions, a quiet log).
            notes.insert("disk full: \(DiskSpace.format(bytes: disk.available)) free where the database is; "
                         + "writes fail and the hub answers webhooks with 503 until space is freed", at: 0)
        }
        buffer.write(notes.joined(separator: "  ·  "), x: area.x + 1, y: area.y, maxWidth: area.width - 2,
                     style: state.loadError == nil && !diskFull ? theme.muted : theme.error)
    }

    func keyHints() -> [(key: String, action: String)] {
        var hints: [(key: String, action: String)] = []
        switch state.screen {
        case .overview: hints = [("tab", "panel"), ("enter", "open"), ("r", "retry group"), ("+/-", "window")]
        case .connectors: hints = [("p", "pause/resume"), ("x", "run job now"), ("enter", "failures"), ("s", "sort"), ("/", "filter")]
        case .failed:
            hints = state.failedGrouped && state.failedGroupFilter == nil
                ? [("enter", "deliveries"), ("r", "retry group"), ("v", "flat"), ("/", "filter")]
                : [("r", "retry"), ("R", "retry all"), ("d", "discard"), ("space", "mark"), ("enter", "event"), ("v", "grouped")]
        case .retryQueue: hints = [("r", "retry now"), ("R", "retry all"), ("d", "discard"), ("space", "mark"), ("enter", "event")]
        case .events: hints = [("enter", "detail"), ("/", "search"), (":", "events topic=…"), ("PgDn", "older")]
        case .detail: hints = [("tab", "delivery"), ("r", "retry it"), ("d", "discard it"), ("j/k", "scroll")]
        case .aging: hints = [("enter", "invoices"), ("b", "by due/invoice"), (":", "aging YYYY-MM-DD")]
        case .invoices: hints = [("s", "sort"), ("/", "filter")]
        case .map: hints = Self.mapKeys
        case .alerts: hints = [("enter", "open subject"), ("s", "sort"), ("/", "filter")]
        }
        return hints + [("esc", "back"), ("1-9", "views"), ("?", "help"), ("q", "quit")]
    }

    private func renderKeyHints(in area: Rect, into buffer: inout Buffer) {
        KeyHints(keyHints(), keyStyle: theme.key, textStyle: theme.muted).render(in: area.inset(horizontal: 1, vertical: 0), into: &buffer)
    }

    private func renderHelp(in area: Rect, into buffer: inout Buffer) {
        let lines: [Line] = [
            Line("Keys for \(state.screen.title)", theme.title), "",
        ] + keyHints().map { Line([Span(String($0.key.padding(toLength: 8, withPad: " ", startingAt: 0)), theme.key), Span($0.action, theme.text)]) }
        + [
            "",
            Line("Everywhere", theme.title),
            Line([Span("j/k ↑/↓ ", theme.key), Span("move   g/G top/bottom   PgUp/PgDn page", theme.text)]),
            Line([Span("1-9     ", theme.key), Span("overview, connectors, failed, retries, events, detail, aging, map, alerts", theme.text)]),
            Line([Span("9 :alerts", theme.key), Span(" firing first, then resolved; enter opens what one is about", theme.text)]),
            Line([Span("/ :     ", theme.key), Span("filter the list · command (:failed :events topic=… :aging 2026-11-30 :q)", theme.text)]),
            Line([Span(":replay ", theme.key), Span("to=CONNECTOR in the event history: send the events its filter shows again", theme.text)]),
            Line([Span("space   ", theme.key), Span("mark rows; r and d act on marked rows", theme.text)]),
            Line([Span("x       ", theme.key), Span("on a batch job (connectors, 2): ask the hub to run it now", theme.text)]),
            Line([Span("h/l s   ", theme.key), Span("choose a column, sort by it", theme.text)]),
            Line([Span("+/-     ", theme.key), Span("time window 15m 1h 6h 24h 7d", theme.text)]),
            Line([Span("ctrl-r L", theme.key), Span(" refresh now · pause live updates", theme.text)]),
        ]
        let box = area.centered(width: min(area.width - 4, 86), height: min(area.height - 2, lines.count + 2))
        buffer.fill(box, style: theme.text)
        let inner = Block(title: Line("Help (? or esc closes)", theme.title), borderStyle: theme.focusedBorder, focused: true)
            .render(in: box, into: &buffer)
        Paragraph(lines).render(in: inner, into: &buffer)
    }

    // MARK: Overview

    private func renderOverview(in area: Rect, into buffer: inout Buffer) {
        let rows = Layout.vertical([.percentage(50), .fill(1)]).split(area)
        let top = Layout.horizontal([.percentage(55), .fill(1)]).split(rows[0])
        let bottom = Layout.horizontal([.percentage(55), .fill(1)]).split(rows[1])
        renderThroughput(in: top[0], into: &buffer)
        // The currency most failing deliveries carry, `+N` for the others (never added together).
        let atRisk = state.money.map { $0.total.amounts.isEmpty ? "" : " · \(Rows.atRisk($0.total, theme: theme).plainText) at risk" } ?? ""
        renderPanelTable(.failed, title: "Failed deliveries by error" + atRisk, in: top[1], into: &buffer)
        renderPanelTable(.retryQueue, title: "Retry queue", in: bottom[0], into: &buffer)
        renderAgingPanel(in: bottom[1], into: &buffer)
    }

    private func block(_ title: String, panel: OverviewPanel?) -> Block {
        let focused = panel != nil && state.panel == panel
        return Block(title: Line(title, theme.title), borderStyle: focused ? theme.focusedBorder : theme.border,
                     titleStyle: theme.title, focused: focused)
    }

    private func renderThroughput(in area: Rect, into buffer: inout Buffer) {
        let inner = block("Throughput · \(state.window.label)", panel: .throughput).render(in: area, into: &buffer)
        guard !inner.isEmpty, let overview = state.overview else { return }
        let series = overview.throughput
        // The current rate: the last complete bucket, per second.
        let last = series.dropLast().last
        let perSecond = Double(last?.received ?? 0) / state.window.bucket
        let delivered = series.reduce(0) { $0 + $1.delivered }
        let failed = series.reduce(0) { $0 + $1.failed }
        let received = series.reduce(0) { $0 + $1.received }
        let legend = Line([
            Span("■ received \(received)", theme.received), Span("  ■ delivered \(delivered)", theme.delivered),
            Span("  ■ failed \(failed)", theme.failed), Span(String(format: "  %.2f/s", perSecond), theme.header),
        ])
        buffer.write(legend, x: inner.x, y: inner.y, maxWidth: inner.width)
        let sinks = overview.statuses.filter { $0.connector.direction == .sink }
        let sparkRows = min(sinks.count, max(0, (inner.height - 4) / 2))
        let chartArea = Rect(x: inner.x, y: inner.y + 1, width: inner.width, height: inner.height - 1 - sparkRows)
        TimeChart(series: [
            .init("received", series.map(\.received), style: theme.received),
            .init("delivered", series.map(\.delivered), style: theme.delivered),
            .init("failed", series.map(\.failed), style: theme.failed),
        ], axisStyle: theme.muted).render(in: chartArea, into: &buffer)
        // Per-connector sparklines of deliveries, busiest first.
        let ranked = sinks.sorted {
            (overview.byConnector[$0.connector.id] ?? []).reduce(0) { $0 + $1.delivered }
                > (overview.byConnector[$1.connector.id] ?? []).reduce(0) { $0 + $1.delivered }
        }
        for (index, status) in ranked.prefix(sparkRows).enumerated() {
            let y = chartArea.bottom + index
            let nameWidth = min(20, inner.width / 3)
            buffer.write(TextWidth.truncate(status.connector.name, to: nameWidth), x: inner.x, y: y, maxWidth: nameWidth,
                         style: theme.style(for: status.connector.health.rawValue))
            let values = (overview.byConnector[status.connector.id] ?? []).map(\.delivered)
            Sparkline(values, style: theme.delivered).render(
                in: Rect(x: inner.x + nameWidth + 1, y: y, width: inner.width - nameWidth - 1, height: 1), into: &buffer)
        }
    }

    private func renderPanelTable(_ panel: OverviewPanel, title: String, in area: Rect, into buffer: inout Buffer) {
        let inner = block(title, panel: panel).render(in: area, into: &buffer)
        guard !inner.isEmpty, let overview = state.overview else { return }
        let rows: RowSet
        switch panel {
        case .failed:
            rows = Rows.groups(overview.groups, theme: theme, now: state.now, money: state.money)
            if rows.ids.isEmpty { buffer.write("Nothing failing.", x: inner.x + 1, y: inner.y, style: theme.ok); return }
        default:
            rows = Rows.retries(overview.retryQueue, theme: theme, now: state.now)
            if rows.ids.isEmpty { buffer.write("Nothing waiting to retry.", x: inner.x + 1, y: inner.y, style: theme.ok); return }
        }
        // Narrow panels keep the columns that matter most.
        let wide = inner.width >= 60
        let keep: [Int] = panel == .failed ? (wide ? [0, 1, 4, 5, 6] : [0, 1, 6]) : (wide ? [1, 2, 3, 4] : [1, 2, 4])
        let columns = keep.map { rows.columns[$0] }
        let cells = rows.rows.map { row in keep.map { row[$0] } }
        drawTable(key: "overview.\(panel)", columns: columns, rows: cells, in: inner, into: &buffer,
                  showSelection: state.panel == panel)
    }

    private func renderAgingPanel(in area: Rect, into buffer: inout Buffer) {
        let inner = block("Invoice aging · \(state.agingAsOf)", panel: .aging).render(in: area, into: &buffer)
        guard !inner.isEmpty, let overview = state.overview else { return }
        if overview.aging.isEmpty { buffer.write("No open invoices.", x: inner.x + 1, y: inner.y, style: theme.muted); return }
        var y = inner.y
        for report in overview.aging {
            guard y < inner.bottom else { break }
            let total = Money.formatGrouped(minor: report.totalMinor, currency: report.currency)
            buffer.write(Line([Span("\(report.currency) ", theme.header), Span("\(total) open · \(report.count) invoices", theme.text)]),
                         x: inner.x, y: y, maxWidth: inner.width)
            y += 1
            let top = AgingBucket.allCases.map { report[$0].amountMinor }.max() ?? 1
            for bucket in AgingBucket.allCases where y < inner.bottom {
                let amount = report[bucket].amountMinor
                BarRow(label: bucket.rawValue, value: amount, maxValue: max(1, top),
                       valueText: Money.formatGrouped(minor: amount, currency: report.currency),
                       style: Rows.bucketStyle(bucket, theme: theme), labelWidth: 7)
                    .render(in: Rect(x: inner.x, y: y, width: inner.width, height: 1), into: &buffer)
                y += 1
            }
        }
        // The most overdue customers, across currencies.
        let overdue = overview.aging.flatMap { report in report.customers.map { (report.currency, $0) } }
            .filter { $0.1.maxDaysPastDue > 0 }
            .sorted { $0.1.maxDaysPastDue > $1.1.maxDaysPastDue }
        if y + 1 < inner.bottom, !overdue.isEmpty {
            buffer.write("Most overdue", x: inner.x, y: y, style: theme.header)
            y += 1
            for (currency, customer) in overdue where y < inner.bottom {
                let amount = Money.formatGrouped(minor: customer.totalMinor, currency: currency)
                buffer.write(Line([Span("\(customer.maxDaysPastDue)d ", theme.dead), Span(customer.customer, theme.text),
                                   Span(" \(currency) \(amount)", theme.muted)]), x: inner.x, y: y, maxWidth: inner.width)
                y += 1
            }
        }
    }

    // MARK: Lists

    private func renderList(in area: Rect, into buffer: inout Buffer) {
        var title = state.screen.title
        if state.screen == .failed {
            if let group = state.failedGroupFilter { title += " · group \(group.id) (\(group.connector))" }
            else if state.failedGrouped { title += " · by error" }
            if let id = state.failedConnector, let name = state.overview?.statuses.first(where: { $0.connector.id == id })?.connector.name {
                title += " · \(name)"
            }
        }
        if state.screen == .aging { title += " · as of \(state.agingAsOf) · by \(state.agingBasis.rawValue) date" }
        let inner = Block(title: Line(title, theme.title), borderStyle: theme.border, titleStyle: theme.title).render(in: area, into: &buffer)
        guard !inner.isEmpty, let rows = currentRows() else { return }
        if rows.ids.isEmpty {
            buffer.write(emptyMessage(), x: inner.x + 1, y: inner.y + 1, maxWidth: inner.width - 2, style: theme.muted)
            return
        }
        var tableArea = inner
        if state.screen == .connectors, inner.height >= 8 {
            // The selected connector in words: what a source received, a batch job's last run, a sink's money at risk.
            let parts = Layout.vertical([.fill(1), .length(2)]).split(inner)
            tableArea = parts[0]
            let list = state.list(state.listKey)
            let id = rows.ids[min(list.selected, rows.ids.count - 1)]
            if let status = state.connectorStatuses.first(where: { $0.connector.id == id }) {
                renderConnectorDetail(status, in: parts[1], into: &buffer)
            }
        }
        if state.screen == .alerts, inner.height >= 8 {
            // The selected alert whole: its summary is cut in the table on a narrow terminal.
            let parts = Layout.vertical([.fill(1), .length(2)]).split(inner)
            tableArea = parts[0]
            let id = rows.ids[min(state.list(state.listKey).selected, rows.ids.count - 1)]
            if let alert = state.alertRows.first(where: { $0.id == id }) {
                renderAlertDetail(alert, in: parts[1], into: &buffer)
            }
        }
        drawTable(key: state.listKey, columns: rows.columns, rows: rows.rows, in: tableArea, into: &buffer,
                  showSelection: true, ids: rows.ids)
    }

    /// Two lines under the alerts table about the selected alert: what it measured and when, then its summary.
    private func renderAlertDetail(_ alert: AlertRecord, in area: Rect, into buffer: inout Buffer) {
        let firing = alert.state == .firing
        var first: [Span] = [Span(alert.rule, theme.header), Span(" · \(alert.kind.rawValue) · ", theme.muted),
                             Span(alert.subject, theme.text)]
        if let value = alert.value { first.append(Span(" · value \(value)", theme.text)) }
        if let threshold = alert.threshold { first.append(Span(" · threshold \(threshold)", theme.muted)) }
        if let sent = alert.lastNotifiedAt {
            first.append(Span(" · \(alert.notifications) sent, last \(Rows.ago(sent, now: state.now)) ago", theme.muted))
        }
        // Last: the table shows how long ago; these are the exact times, for a postmortem.
        first.append(Span(" · fired \(Date(millis: alert.firedAt).iso8601)", theme.muted))
        if let resolved = alert.resolvedAt { first.append(Span(" · resolved \(Date(millis: resolved).iso8601)", theme.ok)) }
        buffer.write(Line(first), x: area.x + 1, y: area.y, maxWidth: area.width - 2)
        buffer.write(Line(alert.summary, firing ? theme.error : theme.muted), x: area.x + 1, y: area.y + 1,
                     maxWidth: area.width - 2)
    }

    /// ` · token good 24m (refreshed 6m ago)`, or why there is none.
    private func tokenSpans(_ token: TokenState) -> [Span] {
        let now = state.now.millis
        if let error = token.lastError, !token.hasAccessToken || !token.hasRefreshToken {
            return [Span(" · token: ", theme.muted), Span(error, theme.error)]
        }
        guard token.hasAccessToken else { return [Span(" · token: none yet", theme.muted)] }
        let refreshed = Span(" (refreshed \(Rows.ago(token.updatedAt, now: state.now)) ago)", theme.muted)
        guard let expires = token.accessExpiresAt else { return [Span(" · token held", theme.ok), refreshed] }
        if expires <= now { return [Span(" · token expired \(Rows.ago(expires, now: state.now)) ago", theme.warn), refreshed] }
        let left = Rows.ago(now - (expires - now), now: state.now)
        return [Span(" · token good \(left)", theme.ok), refreshed]
    }

    /// ` · Xero quota 4,812/5,000 today · 57/min` (how old the reading is when over a minute).
    private func quotaSpans(_ quota: APIQuota) -> [Span] {
        var spans: [Span] = []
        if let day = quota.dayRemaining {
            let limit = quota.dayLimit.map { "/" + MapFormat.grouped($0) } ?? ""
            let low = quota.dayLimit.map { day * 10 < $0 } ?? (day < 100)
            spans.append(Span(" · quota \(MapFormat.grouped(day))\(limit) left today", day == 0 ? theme.error : low ? theme.warn : theme.text))
        }
        // A minute's count says nothing once that minute is over.
        if let minute = quota.minuteRemaining, state.now.millis - quota.observedAt <= 60_000 {
            spans.append(Span(" · \(minute) left this minute", minute == 0 ? theme.warn : theme.muted))
        }
        if state.now.millis - quota.observedAt > 60_000 {
            spans.append(Span(" (read \(Rows.ago(quota.observedAt, now: state.now)) ago)", theme.muted))
        }
        return spans
    }

    /// Two lines under the connectors table about the selected connector.
    private func renderConnectorDetail(_ status: ConnectorStatus, in area: Rect, into buffer: inout Buffer) {
        let c = status.connector
        let window = state.window.label
        var first: [Span] = [Span(c.name, theme.header)]
        var second: [Span] = []
        var sparkline: [Int]?
        if let job = state.connectorHealth.jobs[c.id] {
            first.append(Span(" · batch job · ", theme.muted))
            if let run = job.lastRun {
                first += [Span("last run \(Rows.ago(run.startedAt, now: state.now)) ago ", theme.text),
                          Span(run.status.rawValue, run.status == .failed ? theme.dead : run.status == .running ? theme.retrying : theme.ok),
                          Span(" · read \(run.rowsRead) · loaded \(run.rowsLoaded) · rejected \(run.rowsRejected)", theme.text)]
                if let error = run.error { second.append(Span(error + "  ", theme.error)) }
            } else {
                first.append(Span("never ran", theme.muted))
            }
            let next: String
            if let nextRun {
                if let (schedule, at) = nextRun(job.job, job.lastRun?.startedAt, state.now) {
                    let when = at.map { $0 <= state.now ? "due now" : "in " + Rows.ago($0.millis, now: state.now)
                        .replacingOccurrences(of: "in ", with: "") } ?? "-"
                    next = "next run \(when) (\(schedule)) · x runs it now"
                } else {
                    next = "no schedule in the configuration · x runs it now"
                }
            } else {
                next = "next run: - (patchbay dash --config FILE shows it) · x runs it now"
            }
            second += [Span(job.runRequestedAt != nil ? "run asked for: the hub starts it within seconds" : next, theme.muted)]
        } else if c.direction == .source, let source = state.connectorHealth.sources[c.id] {
            first += [Span(" · source · ", theme.muted),
                      Span(source.activity.rawValue, source.activity == .quiet ? theme.warn : source.activity == .usual ? theme.ok : theme.muted),
                      Span(" · last hour \(source.lastHour)" + (source.usual.map { " (usual \($0))" } ?? " (usual: no history yet)"), theme.text),
                      Span(" · last received " + (source.lastReceivedAt.map { Rows.ago($0, now: state.now) + " ago" } ?? "never"), theme.muted)]
            second = [Span("today \(source.receivedToday) received, \(source.refusedToday) refused · \(window): "
                           + "\(source.receivedInWindow) received, \(source.refusedInWindow) refused  ", theme.text)]
            sparkline = (state.connectorSeries[c.id] ?? []).map(\.received)
        } else {
            let risk = state.money.map { $0.connector(c.id) }
            first += [Span(" · \(c.direction.rawValue) · ", theme.muted),
                      Span("\(status.count(.retrying) + status.count(.dead)) failing", theme.text)]
            second = [Span("at risk: ", theme.muted), Span(risk.map(\.summary) ?? "…", (risk?.amounts.isEmpty ?? true) ? theme.muted : theme.warn)]
            if let error = c.lastError { second.append(Span("  last error: \(error)", theme.muted)) }
        }
        // A SaaS connection's standing: its OAuth tokens and what is left of the provider's quota. A
        // batch job's first line is full already: its standing goes after the next run.
        var standing: [Span] = []
        if let token = state.connectorHealth.tokens[c.id] { standing += tokenSpans(token) }
        if let quota = state.connectorHealth.quotas[c.id] { standing += quotaSpans(quota) }
        if state.connectorHealth.jobs[c.id] != nil { second += standing } else { first += standing }
        buffer.write(Line(first), x: area.x + 1, y: area.y, maxWidth: area.width - 2)
        let line = Line(second)
        buffer.write(line, x: area.x + 1, y: area.y + 1, maxWidth: area.width - 2)
        if let sparkline {
            let used = min(area.width - 2, TextWidth.of(line.plainText))
            let x = area.x + 1 + used
            if area.right - x >= 4 {
                Sparkline(sparkline, style: theme.received).render(
                    in: Rect(x: x, y: area.y + 1, width: min(area.right - x - 1, max(4, sparkline.count)), height: 1), into: &buffer)
            }
        }
    }

    private func emptyMessage() -> String {
        switch state.screen {
        case .failed: return "No failing deliveries."
        case .retryQueue: return "Nothing waiting to retry."
        case .events:
            guard let page = state.eventPage else { return "Loading…" }
            if page.partial, let next = page.nextCursor {
                return "No match in the events after #\(next) yet. PgDn searches older ones."
            }
            return "No events match."
        case .aging: return "No open invoices as of \(state.agingAsOf)."
        case .invoices: return "No open invoices."
        case .alerts: return "No alerts yet. Rules go under alerts: in patchbay.yaml."
        default: return "Nothing here yet."
        }
    }

    func drawTable(key: String, columns: [Table.Column], rows: [[Line]], in area: Rect,
                           into buffer: inout Buffer, showSelection: Bool, ids: [Int64] = []) {
        var list = state.list(key)
        list.clamp(count: rows.count)
        let marked = Set(ids.enumerated().filter { list.marked.contains($0.element) }.map(\.offset))
        let table = Table(
            columns: columns, rows: rows, selected: showSelection ? list.selected : nil, marked: marked,
            sortColumn: list.sortColumn, sortDescending: list.sortDescending,
            focusedColumn: key.hasPrefix("overview.") ? nil : list.focusedColumn,
            headerStyle: theme.header, selectedStyle: theme.selection, markedStyle: theme.marked)
        let offset = table.render(in: area, into: &buffer, offset: list.offset)
        if list.offset != offset || list.selected != state.list(key).selected {
            list.offset = offset
            state.lists[key] = list
        }
        hits.append((Rect(x: area.x, y: area.y + 1, width: area.width, height: area.height - 1), key, offset))
    }

    // MARK: Event detail

    private func renderDetail(in area: Rect, into buffer: inout Buffer) {
        guard case .detail(let id) = state.screen else { return }
        let inner = Block(title: Line("Event \(id)", theme.title), borderStyle: theme.border).render(in: area, into: &buffer)
        guard !inner.isEmpty else { return }
        guard let detail = state.detail else {
            buffer.write("Loading…", x: inner.x + 1, y: inner.y, style: theme.muted)
            return
        }
        let lines = detailLines(detail)
        let maxScroll = max(0, lines.count - inner.height)
        if state.detailScroll > maxScroll { state.detailScroll = maxScroll }
        Paragraph(lines, wrap: true, offset: state.detailScroll).render(in: inner, into: &buffer)
    }

    func detailLines(_ detail: EventDetail) -> [Line] {
        let e = detail.event
        func time(_ ms: Int64) -> String { Date(millis: ms).iso8601 }
        var lines: [Line] = [
            Line([Span(e.topic, theme.header), Span(" from ", theme.muted), Span(detail.source, theme.text),
                  Span("  received \(time(e.receivedAt))", theme.muted)]),
            Line([Span("correlation ", theme.muted), Span(e.correlationId ?? "-", theme.accent),
                  Span("  key ", theme.muted), Span(e.idempotencyKey, theme.text)]),
            "",
        ]
        for (index, history) in detail.deliveries.enumerated() {
            let d = history.delivery
            let selected = index == state.detailDelivery
            lines.append(Line([
                Span(selected ? "▶ " : "  ", theme.accent),
                Span("→ \(history.connector) ", selected ? theme.header : theme.text),
                Span(d.state.rawValue, theme.style(for: d.state.rawValue)),
                Span("  attempt \(d.attempts)/\(d.maxAttempts)", theme.muted),
                Span(d.nextAttemptAt.map { $0 <= state.now.millis ? "  due" : "  next \(Rows.ago($0, now: state.now))" } ?? "",
                     theme.retrying),
                Span("  delivery \(d.id)", theme.muted),
            ]))
            for attempt in history.attempts {
                let status = attempt.statusCode.map { " \($0)" } ?? ""
                let outcomeStyle = attempt.outcome == .success ? theme.ok : theme.error
                lines.append(Line([
                    Span("     #\(attempt.number) \(time(attempt.startedAt)) ", theme.muted),
                    Span("\(attempt.durationMs) ms ", theme.muted),
                    Span("\(attempt.outcome.rawValue)\(status)", outcomeStyle),
                    Span(attempt.error.map { "  \($0)" } ?? "", theme.text),
                    Span(attempt.note.map { "  · \($0)" } ?? "", theme.accent),
                ]))
            }
            for transition in history.transitions {
                lines.append(Line([
                    Span("     \(time(transition.at)) ", theme.muted),
                    Span(transition.fromState.rawValue, theme.style(for: transition.fromState.rawValue)),
                    Span(" → ", theme.muted),
                    Span(transition.toState.rawValue, theme.style(for: transition.toState.rawValue)),
                    Span(" [\(transition.actor.rawValue)]", transition.actor == .operator_ ? theme.warn : theme.muted),
                    Span(transition.reason.map { " \($0)" } ?? "", theme.text),
                ]))
            }
        }
        lines.append("")
        lines.append(Line("Payload (sha256 \(e.payloadHash.prefix(12))…)", theme.header))
        lines += JSONHighlighter.lines(e.payload, theme: theme)
        return lines
    }
}
