import Foundation
import PatchbayStore
import PatchbayText

/// Records mapped to the JSON objects and table rows the CLI prints. Pure functions.
public enum Render {
    public static func failed(_ rows: [FailedDelivery]) -> JSON {
        .array(rows.map { row in
            [
                "id": .int(row.id), "event_id": .int(row.eventId), "topic": .string(row.topic),
                "connector": .string(row.connector), "state": .string(row.state.rawValue),
                "attempts": .int(row.attempts), "max_attempts": .int(row.maxAttempts),
                "next_attempt_at": .time(row.nextAttemptAt), "last_status": .int(row.lastStatus),
                "last_error": .string(row.lastError), "error_signature": .string(row.errorSignature),
                "updated_at": .time(row.updatedAt),
            ]
        })
    }

    public static func failedTable(_ rows: [FailedDelivery], now: Date) -> String {
        var table = TextTable(["ID", "EVENT", "CONNECTOR", "STATE", "ATTEMPTS", "FAILED", "LAST ERROR"])
        for row in rows {
            table.add(["\(row.id)", "\(row.eventId)", row.connector, row.state.rawValue,
                       "\(row.attempts)/\(row.maxAttempts)", ago(row.updatedAt, now: now), row.lastError ?? ""])
        }
        return table.rendered()
    }

    /// With `money`, each group also carries `money_at_risk` (its own) and `connector_money_at_risk`
    /// (its connector's), per currency; the fields before them are unchanged.
    public static func groups(_ groups: [ErrorGroup], money: MoneyAtRiskReport? = nil) -> JSON {
        .array(groups.map { group in
            var members: [(String, JSON)] = [
                ("group", .int(group.id)), ("connector", .string(group.connector)), ("signature", .string(group.signature)),
                ("sample_error", .string(group.sampleError)), ("last_status", .int(group.lastStatus)),
                ("count", .int(group.count)), ("retrying", .int(group.retrying)), ("dead", .int(group.dead)),
                ("occurrences", .int(group.occurrences)),
                ("first_seen", .time(group.firstSeen)), ("last_seen", .time(group.lastSeen)),
            ]
            if let money {
                members.append(("money_at_risk", Render.money(money.group(group.id))))
                members.append(("connector_money_at_risk", Render.money(money.connector(group.connectorId))))
            }
            return .object(members)
        })
    }

    public static func groupsTable(_ groups: [ErrorGroup], now: Date, money: MoneyAtRiskReport? = nil) -> String {
        var table = TextTable(["GROUP", "CONNECTOR", "COUNT", "RETRYING", "DEAD", "FIRST SEEN", "LAST SEEN"]
                              + (money == nil ? [] : ["AT RISK"]) + ["ERROR"])
        for group in groups {
            table.add(["\(group.id)", group.connector, "\(group.count)", "\(group.retrying)", "\(group.dead)",
                       ago(group.firstSeen, now: now), ago(group.lastSeen, now: now)]
                      + (money.map { [$0.group(group.id).summary] } ?? []) + [group.signature])
        }
        return table.rendered()
    }

    /// Every connector; sources also carry `source` (their traffic and activity) and batch jobs
    /// `batch` (their last and next run), null for the others. The fields before them are unchanged.
    public static func status(_ statuses: [ConnectorStatus], sources: [ConnectorID: SourceHealth]? = nil,
                              jobs: [ConnectorID: BatchJobHealth] = [:], quotas: [ConnectorID: APIQuota] = [:],
                              schedule: (BatchJobHealth) -> JobSchedule? = { _ in nil }, window: String = "1h") -> JSON {
        .array(statuses.map { status in
            let c = status.connector
            var members: [(String, JSON)] = [
                ("connector", .string(c.name)), ("module", .string(c.module)), ("pattern", .string(c.pattern.rawValue)),
                ("system", .string(c.system)), ("direction", .string(c.direction.rawValue)), ("paused", .bool(c.paused)),
                ("paused_reason", .string(c.pausedReason)), ("paused_by", .string(c.pausedBy?.rawValue)), ("health", .string(c.health.rawValue)),
                ("counts", .object(DeliveryState.allCases.map { ($0.rawValue, .int(status.count($0))) })),
                ("last_success_at", .time(c.lastSuccessAt)), ("last_error_at", .time(c.lastErrorAt)),
                ("last_error", .string(c.lastError)),
            ]
            if let sources {
                members.append(("source", sources[c.id].map { Render.source($0, window: window) } ?? .null))
                members.append(("batch", jobs[c.id].map { Render.batch($0, schedule: schedule($0)) } ?? .null))
                members.append(("quota", quotas[c.id].map(Render.quota) ?? .null))
            }
            return .object(members)
        })
    }

    /// With `sources`, a source's HEALTH is its activity (quiet, usual, unknown) rather than the
    /// delivery health it never has.
    public static func statusTable(_ statuses: [ConnectorStatus], now: Date,
                                   sources: [ConnectorID: SourceHealth] = [:]) -> String {
        var table = TextTable(["CONNECTOR", "PATTERN", "SYSTEM", "DIR", "HEALTH", "PENDING", "IN FLIGHT",
                               "DELIVERED", "RETRYING", "DEAD", "LAST SUCCESS", "LAST ERROR"])
        for status in statuses {
            let c = status.connector
            table.add([c.name + (c.paused ? " (paused)" : ""), c.pattern.rawValue, c.system, c.direction.rawValue,
                       c.health == .unknown ? (sources[c.id]?.activity.rawValue ?? "unknown") : c.health.rawValue,
                       "\(status.count(.pending))", "\(status.count(.inFlight))",
                       "\(status.count(.delivered))", "\(status.count(.retrying))", "\(status.count(.dead))",
                       c.lastSuccessAt.map { ago($0, now: now) } ?? "-", c.lastError ?? ""])
        }
        return table.rendered()
    }

    public static func events(_ page: EventPage) -> JSON {
        .array(page.events.map { summary in
            let e = summary.event
            return [
                "id": .int(e.id), "topic": .string(e.topic), "source": .string(summary.source),
                "received_at": .time(e.receivedAt), "occurred_at": .time(e.occurredAt),
                "correlation_id": .string(e.correlationId), "idempotency_key": .string(e.idempotencyKey),
                "payload_hash": .string(e.payloadHash),
                "deliveries": .object(DeliveryState.allCases.compactMap { state in
                    summary.deliveryStates[state].map { (state.rawValue, .int($0)) }
                }),
            ]
        })
    }

    public static func eventsTable(_ page: EventPage, now: Date) -> String {
        var table = TextTable(["ID", "TOPIC", "SOURCE", "RECEIVED", "CORRELATION", "DELIVERIES"])
        for summary in page.events {
            let states = DeliveryState.allCases.compactMap { state in
                summary.deliveryStates[state].map { "\($0) \(state.rawValue)" }
            }.joined(separator: ", ")
            table.add(["\(summary.event.id)", summary.event.topic, summary.source,
                       ago(summary.event.receivedAt, now: now), summary.event.correlationId ?? "", states])
        }
        var out = table.rendered()
        if let next = page.nextCursor {
            out += page.partial ? "\n(the search stopped at event \(next) to answer quickly; older: --before \(next))"
                : "\n(more: --before \(next))"
        }
        return out
    }

    public static func eventDetail(_ detail: EventDetail) -> JSON {
        let e = detail.event
        let payload: JSON = .string(e.payload)
        return [
            "id": .int(e.id), "topic": .string(e.topic), "source": .string(detail.source),
            "received_at": .time(e.receivedAt), "occurred_at": .time(e.occurredAt),
            "correlation_id": .string(e.correlationId), "idempotency_key": .string(e.idempotencyKey),
            "payload_hash": .string(e.payloadHash), "payload": payload,
            "deliveries": .array(detail.deliveries.map { history in
                let d = history.delivery
                return [
                    "id": .int(d.id), "connector": .string(history.connector), "state": .string(d.state.rawValue),
                    "attempts": .int(d.attempts), "max_attempts": .int(d.maxAttempts),
                    "next_attempt_at": .time(d.nextAttemptAt), "last_status": .int(d.lastStatus),
                    "last_error": .string(d.lastError), "created_at": .time(d.createdAt), "updated_at": .time(d.updatedAt),
                    "attempt_log": .array(history.attempts.map { a in
                        [
                            "number": .int(a.number), "started_at": .time(a.startedAt), "duration_ms": .int(a.durationMs),
                            "outcome": .string(a.outcome.rawValue), "status_code": .int(a.statusCode),
                            "error": .string(a.error), "response_excerpt": .string(a.responseExcerpt),
                            "note": .string(a.note),
                        ]
                    }),
                    "transitions": .array(history.transitions.map { t in
                        [
                            "at": .time(t.at), "from": .string(t.fromState.rawValue), "to": .string(t.toState.rawValue),
                            "actor": .string(t.actor.rawValue), "reason": .string(t.reason),
                        ]
                    }),
                ]
            }),
        ]
    }

    public static func eventDetailText(_ detail: EventDetail) -> String {
        let e = detail.event
        var lines: [String] = []
        lines.append("Event \(e.id)  \(SafeText.line(e.topic))  from \(SafeText.line(detail.source))")
        lines.append("  received \(Date(millis: e.receivedAt).iso8601)"
                     + (e.occurredAt.map { "  occurred \(Date(millis: $0).iso8601)" } ?? ""))
        lines.append("  correlation \(SafeText.line(e.correlationId ?? "-"))  key \(SafeText.line(e.idempotencyKey))")
        lines.append("  payload (sha256 \(e.payloadHash.prefix(16))…):")
        for line in SafeText.multiline(prettyJSON(e.payload)).split(separator: "\n", omittingEmptySubsequences: false) {
            lines.append("    " + line)
        }
        for history in detail.deliveries {
            let d = history.delivery
            lines.append("")
            lines.append("Delivery \(d.id) → \(SafeText.line(history.connector)): \(d.state.rawValue), "
                         + "attempt \(d.attempts) of \(d.maxAttempts)"
                         + (d.nextAttemptAt.map { ", next at \(Date(millis: $0).iso8601)" } ?? ""))
            lines.append("  created \(Date(millis: d.createdAt).iso8601) (pending)")
            for a in history.attempts {
                let status = a.statusCode.map { " \($0)" } ?? ""
                lines.append("  attempt \(a.number)  \(Date(millis: a.startedAt).iso8601)  \(a.durationMs) ms  "
                             + "\(a.outcome.rawValue)\(status)" + (a.error.map { "  \(SafeText.line($0))" } ?? "")
                             + (a.note.map { "  (\(SafeText.line($0)))" } ?? ""))
            }
            for t in history.transitions {
                lines.append("  \(Date(millis: t.at).iso8601)  \(t.fromState.rawValue) → \(t.toState.rawValue)  "
                             + "[\(t.actor.rawValue)]" + (t.reason.map { "  \(SafeText.line($0))" } ?? ""))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Re-indents a JSON payload for reading; returns it unchanged when it does not parse.
    public static func prettyJSON(_ text: String) -> String {
        guard let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
              let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]),
              let string = String(data: pretty, encoding: .utf8) else { return text }
        return string
    }

    public static func aging(_ reports: [CurrencyAging]) -> JSON {
        func buckets(_ get: (AgingBucket) -> BucketTotal, currency: String) -> JSON {
            .object(AgingBucket.allCases.map { bucket in
                let total = get(bucket)
                return (bucket.rawValue, ["amount": .string(Money.format(minor: total.amountMinor, currency: currency)),
                                          "count": .int(total.count)])
            })
        }
        return .array(reports.map { report in
            [
                "currency": .string(report.currency), "as_of": .string(report.asOf), "by": .string(report.basis.rawValue),
                "buckets": buckets({ report[$0] }, currency: report.currency),
                "total": .string(Money.format(minor: report.totalMinor, currency: report.currency)),
                "count": .int(report.count),
                "customers": .array(report.customers.map { customer in
                    [
                        "customer": .string(customer.customer),
                        "buckets": buckets({ customer[$0] }, currency: report.currency),
                        "total": .string(Money.format(minor: customer.totalMinor, currency: report.currency)),
                        "count": .int(customer.count),
                        "max_days_past_due": .int(customer.maxDaysPastDue),
                    ]
                }),
            ]
        })
    }

    public static func agingTable(_ reports: [CurrencyAging]) -> String {
        var sections: [String] = []
        for report in reports {
            var table = TextTable(["CUSTOMER"] + AgingBucket.allCases.map(\.rawValue) + ["TOTAL"])
            for customer in report.customers {
                table.add([customer.customer] + AgingBucket.allCases.map {
                    Money.formatGrouped(minor: customer[$0].amountMinor, currency: report.currency)
                } + [Money.formatGrouped(minor: customer.totalMinor, currency: report.currency)])
            }
            table.add(["TOTAL (\(report.count) open)"] + AgingBucket.allCases.map {
                Money.formatGrouped(minor: report[$0].amountMinor, currency: report.currency)
            } + [Money.formatGrouped(minor: report.totalMinor, currency: report.currency)])
            sections.append("\(SafeText.line(report.currency)) aging as of \(SafeText.line(report.asOf)), "
                            + "by \(report.basis.rawValue) date\n" + table.rendered())
        }
        return sections.isEmpty ? "No open invoices." : sections.joined(separator: "\n\n")
    }

    /// `aging --csv`: every field through `SafeText.csvField`, the encoder the file sink uses too, so a
    /// customer named `=HYPERLINK(…)` or holding an escape sequence is inert in a spreadsheet and on
    /// the terminal the CSV is printed to (line breaks in a name are escaped: one row per line).
    public static func agingCSV(_ reports: [CurrencyAging]) -> String {
        func row(_ fields: [String]) -> String { fields.map { SafeText.csvField($0) }.joined(separator: ",") }
        var lines = [row(["currency", "customer"] + AgingBucket.allCases.map(\.rawValue) + ["total"])]
        for report in reports {
            func amounts(_ total: (AgingBucket) -> Int64, _ sum: Int64) -> [String] {
                AgingBucket.allCases.map { Money.format(minor: total($0), currency: report.currency) }
                    + [Money.format(minor: sum, currency: report.currency)]
            }
            for customer in report.customers {
                lines.append(row([report.currency, customer.customer]
                                 + amounts({ customer[$0].amountMinor }, customer.totalMinor)))
            }
            lines.append(row([report.currency, "TOTAL"] + amounts({ report[$0].amountMinor }, report.totalMinor)))
        }
        return lines.joined(separator: "\n")
    }

    /// `42s ago`, `3m ago`, `5h ago`, `2d ago`; `in 3m` for future times.
    public static func ago(_ millis: Int64, now: Date) -> String {
        let seconds = Int((now.millis - millis) / 1000)
        let future = seconds < 0
        let s = abs(seconds)
        let text: String
        switch s {
        case ..<60: text = "\(s)s"
        case ..<3600: text = "\(s / 60)m"
        case ..<86_400: text = "\(s / 3600)h"
        default: text = "\(s / 86_400)d"
        }
        return future ? "in \(text)" : "\(text) ago"
    }
}
