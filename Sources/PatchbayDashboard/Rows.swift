import Foundation
import PatchbayStore
import TerminalUI

/// A list as a screen shows it: columns, rows of cells, and the id behind each row.
public struct RowSet: Sendable {
    public var columns: [Table.Column]
    public var rows: [[Line]]
    public var ids: [Int64]

    /// Applies the list's text filter and sort. Pure: the same state gives the same rows.
    func arranged(by list: ListState) -> RowSet {
        var indices = Array(rows.indices)
        let needle = list.filter.lowercased()
        if !needle.isEmpty {
            indices = indices.filter { index in
                rows[index].contains { $0.plainText.lowercased().contains(needle) }
            }
        }
        if let column = list.sortColumn, column < columns.count {
            indices.sort { a, b in
                let order = RowSet.compare(rows[a][column].plainText, rows[b][column].plainText)
                if order == 0 { return a < b }
                return list.sortDescending ? order > 0 : order < 0
            }
        }
        return RowSet(columns: columns, rows: indices.map { rows[$0] }, ids: indices.map { ids[$0] })
    }

    /// Numbers compare as numbers (`9` before `10`, `1,200.00` as 1200), the rest as text.
    static func compare(_ a: String, _ b: String) -> Int {
        func number(_ s: String) -> Double? {
            let cleaned = s.replacingOccurrences(of: ",", with: "").trimmingCharacters(in: .whitespaces)
            return Double(cleaned.split(separator: " ").first.map(String.init) ?? cleaned)
        }
        if let x = number(a), let y = number(b) { return x < y ? -1 : (x > y ? 1 : 0) }
        let result = a.localizedCaseInsensitiveCompare(b)
        return result == .orderedAscending ? -1 : (result == .orderedDescending ? 1 : 0)
    }
}

/// Records mapped to rows: pure functions of data, theme and the clock.
enum Rows {
    static func ago(_ millis: Int64?, now: Date) -> String {
        guard let millis else { return "-" }
        let seconds = Int((now.millis - millis) / 1000)
        let s = abs(seconds)
        let text: String
        switch s {
        case ..<60: text = "\(s)s"
        case ..<3600: text = "\(s / 60)m"
        case ..<86_400: text = "\(s / 3600)h\(s % 3600 / 60 > 0 ? "\(s % 3600 / 60)m" : "")"
        default: text = "\(s / 86_400)d\(s % 86_400 / 3600 > 0 ? "\(s % 86_400 / 3600)h" : "")"
        }
        return seconds < 0 ? "in \(text)" : text
    }

    /// Sinks show their deliveries. Sources, which deliver nothing, show their activity as HEALTH
    /// (quiet, usual, unknown), events received in the window under DELIVERED, the share refused
    /// under ERR% and their last event under LAST OK; batch jobs show their last run's status as
    /// HEALTH, its rows loaded and rejected, and when it started. The line under the table says it
    /// in words for the selected row.
    static func connectors(_ statuses: [ConnectorStatus], series: [ConnectorID: [ThroughputBucket]],
                           theme: Theme, now: Date, health: ConnectorHealthSnapshot = .init()) -> RowSet {
        let columns = [
            Table.Column("CONNECTOR", .min(14)), Table.Column("PATTERN", .length(14)), Table.Column("SYSTEM", .length(12)),
            Table.Column("HEALTH", .length(8)), Table.Column("PEND", .length(6), alignRight: true),
            Table.Column("RETRY", .length(6), alignRight: true), Table.Column("DEAD", .length(6), alignRight: true),
            Table.Column("DELIVERED", .length(9), alignRight: true), Table.Column("ERR%", .length(5), alignRight: true),
            Table.Column("LAST OK", .length(7)), Table.Column("STATE", .length(7)),
        ]
        var rows: [[Line]] = []
        for status in statuses {
            let c = status.connector
            let state = c.paused ? Line("paused", theme.warn) : Line(c.direction.rawValue, theme.muted)
            if let job = health.jobs[c.id] {
                let run = job.lastRun
                let status = job.runRequestedAt != nil ? "asked" : run?.status.rawValue ?? "never"
                let style = run?.status == .failed ? theme.dead : run?.status == .running ? theme.retrying
                    : run == nil ? theme.muted : theme.ok
                rows.append([
                    Line(c.name, theme.text), Line(c.pattern.rawValue, theme.muted), Line(c.system, theme.text),
                    Line(status, style), Line("-", theme.muted), Line("-", theme.muted),
                    Line(run.map { "\($0.rowsRejected)" } ?? "-", (run?.rowsRejected ?? 0) > 0 ? theme.dead : theme.muted),
                    Line(run.map { "\($0.rowsLoaded)" } ?? "-", theme.text), Line("-", theme.muted),
                    Line(run.map { ago($0.startedAt, now: now) } ?? "-", theme.muted), state,
                ])
                continue
            }
            if c.direction == .source, let source = health.sources[c.id] {
                let offered = source.receivedInWindow + source.refusedInWindow
                rows.append([
                    Line(c.name, theme.text), Line(c.pattern.rawValue, theme.muted), Line(c.system, theme.text),
                    Line(source.activity.rawValue, source.activity == .quiet ? theme.warn
                         : source.activity == .usual ? theme.ok : theme.muted),
                    Line("-", theme.muted), Line("-", theme.muted), Line("-", theme.muted),
                    Line("\(source.receivedInWindow)", theme.received),
                    Line(offered > 0 ? "\(source.refusedInWindow * 100 / offered)" : "-",
                         source.refusedInWindow > 0 ? theme.warn : theme.muted),
                    Line(source.lastReceivedAt.map { ago($0, now: now) } ?? "-", theme.muted), state,
                ])
                continue
            }
            let window = series[c.id] ?? []
            let delivered = window.reduce(0) { $0 + $1.delivered }
            let failed = window.reduce(0) { $0 + $1.failed }
            let rate = delivered + failed > 0 ? "\(failed * 100 / (delivered + failed))" : "-"
            rows.append([
                Line(c.name, theme.text), Line(c.pattern.rawValue, theme.muted), Line(c.system, theme.text),
                // Orphaned: no worker sends this connector's queue (it is not in the hub's configuration).
                Line(c.health.rawValue, c.health == .orphaned ? theme.warn : theme.style(for: c.health.rawValue)),
                Line("\(status.count(.pending))", theme.text),
                Line("\(status.count(.retrying))", status.count(.retrying) > 0 ? theme.retrying : theme.muted),
                Line("\(status.count(.dead))", status.count(.dead) > 0 ? theme.dead : theme.muted),
                Line("\(status.count(.delivered))", theme.text), Line(rate, failed > 0 ? theme.warn : theme.muted),
                Line(c.lastSuccessAt.map { ago($0, now: now) } ?? "-", theme.muted), state,
            ])
        }
        return RowSet(columns: columns, rows: rows, ids: statuses.map(\.connector.id))
    }

    /// AT RISK: the money the group's failing deliveries carry, in the currency most of them carry,
    /// `+N` for the other currencies (`EUR 12,480.00 +1`; never added together); `…` until it is
    /// read, `-` when none carries an amount.
    static func groups(_ groups: [ErrorGroup], theme: Theme, now: Date, money: MoneyAtRiskReport? = nil) -> RowSet {
        let columns = [
            Table.Column("COUNT", .length(6), alignRight: true), Table.Column("CONNECTOR", .length(18)),
            Table.Column("RETRY", .length(5), alignRight: true), Table.Column("DEAD", .length(5), alignRight: true),
            Table.Column("SEEN", .length(6)), Table.Column("AT RISK", .length(17), alignRight: true),
            Table.Column("ERROR", .fill(1)),
        ]
        let rows = groups.map { g in
            [Line("\(g.count)", theme.error), Line(g.connector, theme.text),
             Line("\(g.retrying)", g.retrying > 0 ? theme.retrying : theme.muted),
             Line("\(g.dead)", g.dead > 0 ? theme.dead : theme.muted),
             Line(ago(g.lastSeen, now: now), theme.muted), atRisk(money.map { $0.group(g.id) }, theme: theme),
             Line(g.signature, theme.text)]
        }
        return RowSet(columns: columns, rows: rows, ids: groups.map(\.id))
    }

    static func atRisk(_ risk: MoneyAtRisk?, theme: Theme) -> Line {
        guard let risk else { return Line("…", theme.muted) }
        guard let first = risk.amounts.max(by: { $0.deliveries < $1.deliveries }) else { return Line("-", theme.muted) }
        return Line(first.text + (risk.amounts.count > 1 ? " +\(risk.amounts.count - 1)" : ""), theme.warn)
    }

    static func failures(_ rows: [FailedDelivery], theme: Theme, now: Date) -> RowSet {
        let columns = [
            Table.Column("ID", .length(7), alignRight: true), Table.Column("CONNECTOR", .length(18)),
            Table.Column("STATE", .length(8)), Table.Column("TRIES", .length(5), alignRight: true),
            Table.Column("FAILED", .length(6)), Table.Column("ERROR", .fill(1)),
        ]
        let lines = rows.map { d in
            [Line("\(d.id)", theme.muted), Line(d.connector, theme.text), Line(d.state.rawValue, theme.style(for: d.state.rawValue)),
             Line("\(d.attempts)/\(d.maxAttempts)", theme.text), Line(ago(d.updatedAt, now: now), theme.muted),
             Line(d.lastError ?? "", theme.text)]
        }
        return RowSet(columns: columns, rows: lines, ids: rows.map(\.id))
    }

    static func retries(_ rows: [FailedDelivery], theme: Theme, now: Date) -> RowSet {
        let columns = [
            Table.Column("ID", .length(7), alignRight: true), Table.Column("CONNECTOR", .length(18)),
            Table.Column("NEXT", .length(7)), Table.Column("ATTEMPT", .length(7), alignRight: true),
            Table.Column("LAST ERROR", .fill(1)),
        ]
        let lines = rows.map { d in
            [Line("\(d.id)", theme.muted), Line(d.connector, theme.text),
             Line(d.nextAttemptAt.map { $0 <= now.millis ? "due" : ago($0, now: now) } ?? "-", theme.retrying),
             Line("\(d.attempts)/\(d.maxAttempts)", theme.text), Line(d.lastError ?? "", theme.text)]
        }
        return RowSet(columns: columns, rows: lines, ids: rows.map(\.id))
    }

    static func events(_ page: EventPage?, theme: Theme, now: Date) -> RowSet {
        let columns = [
            Table.Column("ID", .length(8), alignRight: true), Table.Column("TOPIC", .length(20)),
            Table.Column("SOURCE", .length(18)), Table.Column("RECEIVED", .length(8)),
            Table.Column("CORRELATION", .length(14)), Table.Column("DELIVERIES", .fill(1)),
        ]
        let summaries = page?.events ?? []
        let lines = summaries.map { s -> [Line] in
            var spans: [Span] = []
            for state in DeliveryState.allCases {
                guard let n = s.deliveryStates[state] else { continue }
                if !spans.isEmpty { spans.append(Span(" ", theme.text)) }
                spans.append(Span("\(n) \(state.rawValue)", theme.style(for: state.rawValue)))
            }
            return [Line("\(s.event.id)", theme.muted), Line(s.event.topic, theme.text), Line(s.source, theme.text),
                    Line(ago(s.event.receivedAt, now: now), theme.muted), Line(s.event.correlationId ?? "", theme.muted),
                    Line(spans)]
        }
        return RowSet(columns: columns, rows: lines, ids: summaries.map(\.event.id))
    }

    /// Firing alerts first (in red), then resolved ones, in the order the store gives them. FIRED and
    /// RESOLVED are how long ago; SENT counts the notifications (the first, repeats, the resolution).
    static func alerts(_ alerts: [AlertRecord], theme: Theme, now: Date) -> RowSet {
        let columns = [
            Table.Column("STATE", .length(8)), Table.Column("RULE", .length(16)), Table.Column("SUBJECT", .length(16)),
            Table.Column("FIRED", .length(6)), Table.Column("RESOLVED", .length(8)),
            Table.Column("SENT", .length(4), alignRight: true), Table.Column("SUMMARY", .fill(1)),
        ]
        let rows = alerts.map { alert -> [Line] in
            let firing = alert.state == .firing
            return [Line(alert.state.rawValue, firing ? theme.dead : theme.ok), Line(alert.rule, theme.text),
                    Line(alert.subject, theme.text), Line(ago(alert.firedAt, now: now), theme.muted),
                    Line(ago(alert.resolvedAt, now: now), theme.muted), Line("\(alert.notifications)", theme.muted),
                    Line(alert.summary, firing ? theme.text : theme.muted)]
        }
        return RowSet(columns: columns, rows: rows, ids: alerts.map(\.id))
    }

    static func aging(_ reports: [CurrencyAging], theme: Theme) -> RowSet {
        let buckets = AgingBucket.allCases
        let columns = [Table.Column("CUR", .length(3)), Table.Column("CUSTOMER", .min(10))]
            + buckets.map { Table.Column($0.rawValue, .length(9), alignRight: true) }
            + [Table.Column("TOTAL", .length(10), alignRight: true)]
        var rows: [[Line]] = []
        var ids: [Int64] = []
        for report in reports {
            for customer in report.customers {
                rows.append([Line(report.currency, theme.muted), Line(customer.customer, theme.text)]
                    + buckets.map { bucket in
                        let amount = customer[bucket].amountMinor
                        return Line(Money.formatGrouped(minor: amount, currency: report.currency),
                                    amount == 0 ? theme.muted : bucketStyle(bucket, theme: theme))
                    }
                    + [Line(Money.formatGrouped(minor: customer.totalMinor, currency: report.currency), theme.header)])
                ids.append(Int64(ids.count))
            }
        }
        return RowSet(columns: columns, rows: rows, ids: ids)
    }

    static func bucketStyle(_ bucket: AgingBucket, theme: Theme) -> Style {
        switch bucket {
        case .current: return theme.ok
        case .days1to30: return theme.text
        case .days31to60: return theme.warn
        case .days61to90: return theme.retrying
        case .over90: return theme.dead
        }
    }

    static func invoices(_ invoices: [Invoice], asOf: String, theme: Theme) -> RowSet {
        let columns = [
            Table.Column("NUMBER", .length(12)), Table.Column("KIND", .length(11)), Table.Column("ISSUED", .length(10)),
            Table.Column("DUE", .length(10)), Table.Column("DAYS", .length(5), alignRight: true),
            Table.Column("TOTAL", .length(11), alignRight: true), Table.Column("OPEN", .fill(1), alignRight: true),
        ]
        let today = CivilDate.dayNumber(asOf) ?? 0
        let rows = invoices.map { invoice -> [Line] in
            let days = today - (CivilDate.dayNumber(invoice.dueDate) ?? today)
            let bucket = AgingBucket.bucket(daysPastDue: days)
            return [Line(invoice.number, theme.text), Line(invoice.kind.rawValue, theme.muted),
                    Line(invoice.issueDate, theme.muted), Line(invoice.dueDate, theme.text),
                    Line("\(max(0, days))", bucketStyle(bucket, theme: theme)),
                    Line(Money.formatGrouped(minor: invoice.totalMinor, currency: invoice.currency), theme.text),
                    Line(Money.formatGrouped(minor: invoice.openMinor, currency: invoice.currency), theme.header)]
        }
        return RowSet(columns: columns, rows: rows, ids: invoices.map(\.id))
    }
}
