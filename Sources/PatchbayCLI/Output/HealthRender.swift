import Foundation
import PatchbayStore
import PatchbayText

/// A batch job's schedule as `status --config` read it: its text and the next run it gives.
public struct JobSchedule: Sendable, Equatable {
    public var text: String
    public var next: Date?

    public init(text: String, next: Date?) {
        self.text = text
        self.next = next
    }
}

/// Money at risk, sources and batch jobs mapped to JSON and tables. Pure functions.
extension Render {
    /// `{"amounts": [{"currency": "EUR", "amount": "12480.00", "deliveries": 2}], "without_amount": 1,
    /// "summary": "EUR 12,480.00 · 1 without an amount"}`: one amount per currency, never a total across them.
    public static func money(_ risk: MoneyAtRisk) -> JSON {
        [
            "amounts": .array(risk.amounts.map { amount in
                ["currency": .string(amount.currency), "amount": .string(amount.plain), "deliveries": .int(amount.deliveries)]
            }),
            "without_amount": .int(risk.withoutAmount),
            "summary": .string(risk.summary),
        ]
    }

    /// Per connector with failing deliveries: `xero-invoices  EUR 12,480.00 · 3 without an amount`.
    public static func moneyByConnector(_ report: MoneyAtRiskReport, names: [ConnectorID: String]) -> String {
        let rows = report.byConnector.filter { $0.value.deliveries > 0 }
            .sorted { (names[$0.key] ?? "") < (names[$1.key] ?? "") }
        guard !rows.isEmpty else { return "" }
        var table = TextTable(["CONNECTOR", "AT RISK"], maxWidth: 100)
        for (id, risk) in rows { table.add([names[id] ?? "#\(id)", risk.summary]) }
        return "Money at risk (failing deliveries, per currency)\n" + table.rendered()
    }

    /// `status --json`'s `source` object of a source connector.
    public static func source(_ health: SourceHealth, window: String) -> JSON {
        [
            "activity": .string(health.activity.rawValue),
            "last_hour": .int(health.lastHour), "usual": .int(health.usual),
            "received_today": .int(health.receivedToday), "refused_today": .int(health.refusedToday),
            "window": .string(window),
            "received_in_window": .int(health.receivedInWindow), "refused_in_window": .int(health.refusedInWindow),
            "last_received_at": .time(health.lastReceivedAt),
        ]
    }

    /// `status --json`'s `batch` object of a batch job.
    public static func batch(_ job: BatchJobHealth, schedule: JobSchedule?) -> JSON {
        let run: JSON = job.lastRun.map { run in
            [
                "id": .int(run.id), "status": .string(run.status.rawValue), "started_at": .time(run.startedAt),
                "finished_at": .time(run.finishedAt), "rows_read": .int(run.rowsRead), "rows_loaded": .int(run.rowsLoaded),
                "rows_rejected": .int(run.rowsRejected), "error": .string(run.error),
            ]
        } ?? .null
        return [
            "last_run": run,
            "schedule": .string(schedule?.text),
            "next_run_at": .time(schedule?.next?.millis),
            "run_requested_at": .time(job.runRequestedAt),
        ]
    }

    /// `status --json`'s `quota` object: what the provider's last answer said is left.
    public static func quota(_ quota: APIQuota) -> JSON {
        [
            "day_remaining": .int(quota.dayRemaining), "day_limit": .int(quota.dayLimit),
            "minute_remaining": .int(quota.minuteRemaining), "app_minute_remaining": .int(quota.appMinuteRemaining),
            "observed_at": .time(quota.observedAt),
        ]
    }

    /// API quotas: `xero-invoices  4,812 of 5,000  57  9,990  12s ago`.
    public static func quotaTable(_ rows: [(Connector, APIQuota)], now: Date) -> String {
        var table = TextTable(["CONNECTOR", "LEFT TODAY", "LEFT THIS MINUTE", "APP, THIS MINUTE", "READ"])
        for (connector, quota) in rows {
            func count(_ value: Int) -> String { MapRender.count(Double(value)) }
            let day = quota.dayRemaining.map { left in count(left) + (quota.dayLimit.map { " of " + count($0) } ?? "") } ?? "-"
            table.add([connector.name, day, quota.minuteRemaining.map(count) ?? "-",
                       quota.appMinuteRemaining.map(count) ?? "-", ago(quota.observedAt, now: now)])
        }
        return table.rendered()
    }

    /// Sources: what they received and refused, when last, and whether that is quiet for the hour.
    public static func sourcesTable(_ sources: [(Connector, SourceHealth)], window: String, now: Date) -> String {
        var table = TextTable(["SOURCE", "HEALTH", "LAST HOUR", "USUAL", "TODAY", "REFUSED TODAY", "IN \(window)",
                               "REFUSED \(window)", "LAST RECEIVED"])
        for (connector, health) in sources {
            table.add([connector.name + (connector.paused ? " (paused)" : ""), health.activity.rawValue,
                       "\(health.lastHour)", health.usual.map { "\($0)" } ?? "-", "\(health.receivedToday)",
                       "\(health.refusedToday)", "\(health.receivedInWindow)", "\(health.refusedInWindow)",
                       health.lastReceivedAt.map { ago($0, now: now) } ?? "never"])
        }
        return table.rendered()
    }

    /// Batch jobs: the last run, its rows, the next run (`-` without `--config`).
    public static func batchTable(_ jobs: [(Connector, BatchJobHealth, JobSchedule?)], now: Date) -> String {
        var table = TextTable(["JOB", "LAST RUN", "STATUS", "READ", "LOADED", "REJECTED", "NEXT RUN", "ERROR"])
        for (connector, job, schedule) in jobs {
            let run = job.lastRun
            table.add([connector.name + (connector.paused ? " (paused)" : ""),
                       run.map { ago($0.startedAt, now: now) } ?? "never", run?.status.rawValue ?? "-",
                       run.map { "\($0.rowsRead)" } ?? "-", run.map { "\($0.rowsLoaded)" } ?? "-",
                       run.map { "\($0.rowsRejected)" } ?? "-", nextRun(job, schedule: schedule, now: now),
                       run?.error ?? ""])
        }
        return table.rendered()
    }

    /// `requested`, `now` (an unfinished run resumes), `in 4m`, or `-` when the schedule is not known.
    static func nextRun(_ job: BatchJobHealth, schedule: JobSchedule?, now: Date) -> String {
        if job.runRequestedAt != nil { return "requested" }
        if job.lastRun?.status == .running { return "running" }
        guard let next = schedule?.next else { return schedule == nil ? "-" : "not scheduled" }
        return next <= now ? "due" : ago(next.millis, now: now)
    }
}
