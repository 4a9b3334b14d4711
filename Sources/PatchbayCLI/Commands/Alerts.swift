import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Alerts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Alerts: firing ones first, then the newest resolved, with their times.")

        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Only alerts that are firing now.") var firing = false
        @Option(help: "How many rows.") var limit = 50
        @OptionGroup var output: JSONOption

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1 to 10000, got \(limit)") }
        }

        func run() async throws {
            let store: any CommandStore = try database.openStore(readOnly: true)
            var alerts = try store.recentAlerts(limit: limit)
            if firing { alerts = alerts.filter { $0.state == .firing } }
            if output.json {
                emit(AlertRender.json(alerts).rendered(pretty: true))
            } else if alerts.isEmpty {
                emit(firing ? "No alert is firing." : "No alerts yet. Rules go under alerts: in patchbay.yaml.")
            } else {
                emit(AlertRender.table(alerts, now: Date()))
            }
        }
    }
}

enum AlertRender {
    static func json(_ alerts: [AlertRecord]) -> JSON {
        .array(alerts.map { alert in
            [
                "id": .int(alert.id), "rule": .string(alert.rule), "kind": .string(alert.kind.rawValue),
                "subject": .string(alert.subject), "state": .string(alert.state.rawValue),
                "summary": .string(alert.summary), "value": .string(alert.value), "threshold": .string(alert.threshold),
                "fired_at": .time(alert.firedAt), "last_notified_at": .time(alert.lastNotifiedAt),
                "notifications": .int(alert.notifications), "resolved_at": .time(alert.resolvedAt),
            ]
        })
    }

    static func table(_ alerts: [AlertRecord], now: Date) -> String {
        var table = TextTable(["ID", "STATE", "RULE", "SUBJECT", "FIRED", "RESOLVED", "SENT", "SUMMARY"])
        for alert in alerts {
            table.add(["\(alert.id)", alert.state.rawValue, alert.rule, alert.subject, Render.ago(alert.firedAt, now: now),
                       alert.resolvedAt.map { Render.ago($0, now: now) } ?? "-", "\(alert.notifications)", alert.summary])
        }
        let firing = alerts.filter { $0.state == .firing }.count
        return table.rendered() + "\n\(firing) firing"
    }
}
