import Foundation
import PatchbayStore
import TestSupport
import Testing

/// `failed --group` with money at risk, `status` with sources and batch jobs, through the real binary.
@Suite("CLI: money at risk, sources and batch jobs")
struct HealthCLITests {
    @Test("failed --group --json: each group's and connector's money at risk per currency, equal to a sum from the payloads")
    func moneyAtRiskJSON() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("seeded.sqlite")
        #expect(try BinaryRunner.run(["seed", "--db", db, "--events", "1500", "--days", "3"]).status == 0)

        // The reference: every failing xero-invoices delivery's payload, read and summed here.
        let store = try Store.open(at: db, mode: .readOnly)
        let xero = try #require(try store.connector(named: "xero-invoices"))
        let failing = try store.failedDeliveries(FailureFilter(connectorId: xero.id), limit: 10_000, before: nil)
        var expected: [String: Int64] = [:]
        var without = 0
        for delivery in failing {
            let payload = try #require(try store.eventDetail(delivery.eventId)).event.payload
            let object = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
            if let currency = object["currency"] as? String, let total = object["total"] as? String,
               let minor = try? Money.parseMinor(total, currency: currency) {
                expected[currency, default: 0] += minor
            } else {
                without += 1
            }
        }
        #expect(!expected.isEmpty, "the seeded history has failing orders with amounts")

        let run = try BinaryRunner.run(["failed", "--group", "--json", "--db", db])
        #expect(run.status == 0, "\(run.stderr)")
        let groups = try jsonArray(run.stdout)
        let xeroGroups = groups.filter { $0["connector"] as? String == "xero-invoices" }
        let connectorRisk = try #require(xeroGroups.first?["connector_money_at_risk"] as? [String: Any])
        func sums(_ risk: [String: Any]) throws -> [String: Int64] {
            var out: [String: Int64] = [:]
            for item in try #require(risk["amounts"] as? [[String: Any]]) {
                let currency = try #require(item["currency"] as? String)
                #expect(out[currency] == nil, "one amount per currency, never two")
                out[currency] = try Money.parseMinor(try #require(item["amount"] as? String), currency: currency)
            }
            return out
        }
        #expect(try sums(connectorRisk) == expected)
        #expect(connectorRisk["without_amount"] as? Int == without)
        // The groups of a connector add up to the connector, currency by currency.
        var byGroups: [String: Int64] = [:]
        for group in xeroGroups {
            for (currency, minor) in try sums(try #require(group["money_at_risk"] as? [String: Any])) {
                byGroups[currency, default: 0] += minor
            }
        }
        #expect(byGroups == expected)
        // The fields scripts already read are unchanged.
        for key in ["group", "connector", "signature", "sample_error", "last_status", "count", "retrying", "dead",
                    "occurrences", "first_seen", "last_seen"] {
            #expect(xeroGroups.first?.keys.contains(key) == true, "failed --group --json lacks \(key)")
        }

        let table = try BinaryRunner.run(["failed", "--group", "--db", db])
        #expect(table.stdout.contains("AT RISK"))
        #expect(table.stdout.contains("Money at risk (failing deliveries, per currency)"))
    }

    @Test("status: sources show their traffic and activity, batch jobs their last run and, with --config, their next")
    func sourcesAndJobs() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("seeded.sqlite")
        #expect(try BinaryRunner.run(["seed", "--db", db, "--events", "600", "--days", "2"]).status == 0)
        // A config whose secrets are not set: status reads only the schedules.
        let config = dir.path("patchbay.yaml")
        try """
            connectors:
              erp-stock-export:
                module: csv-events
                path: /nowhere/erp.csv
                topic: stock_level_changed
                schedule: every 5m
              shopify-orders:
                module: webhook
                secret: ${NOT_SET_ANYWHERE}
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let run = try BinaryRunner.run(["status", "--json", "--db", db, "--config", config])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = try jsonArray(run.stdout)
        let shopify = try #require(rows.first { $0["connector"] as? String == "shopify-orders" })
        let source = try #require(shopify["source"] as? [String: Any])
        #expect(source["activity"] as? String == "unknown", "two days of history is no previous week")
        #expect((source["received_today"] as? Int ?? 0) > 0)
        #expect(source["last_received_at"] is String)
        #expect(shopify["batch"] is NSNull)
        #expect(shopify["health"] as? String == "unknown", "the health field scripts read is unchanged")
        let job = try #require(rows.first { $0["connector"] as? String == "erp-stock-export" })
        let batch = try #require(job["batch"] as? [String: Any])
        #expect(batch["last_run"] is NSNull)
        #expect(batch["schedule"] as? String == "every 5m")
        #expect(batch["next_run_at"] is String, "a job that never ran is due at once")
        let sink = try #require(rows.first { $0["connector"] as? String == "xero-invoices" })
        #expect(sink["source"] is NSNull && sink["batch"] is NSNull)

        // run-now: the request shows in status until the hub takes it; a sink is refused.
        let asked = try BinaryRunner.run(["run-now", "erp-stock-export", "--db", db])
        #expect(asked.status == 0, "\(asked.stderr)")
        let after = try jsonArray(try BinaryRunner.run(["status", "--json", "--db", db]).stdout)
        let requested = try #require(after.first { $0["connector"] as? String == "erp-stock-export" }?["batch"] as? [String: Any])
        #expect(requested["run_requested_at"] is String)
        let refused = try BinaryRunner.run(["run-now", "xero-invoices", "--db", db])
        #expect(refused.status != 0 && refused.stderr.contains("not a batch job"))

        let table = try BinaryRunner.run(["status", "--db", db])
        #expect(table.stdout.contains("requested"))
        #expect(table.stdout.contains("Sources\nSOURCE"))
        #expect(table.stdout.contains("Batch jobs (next run: pass --config)"))
    }
}
