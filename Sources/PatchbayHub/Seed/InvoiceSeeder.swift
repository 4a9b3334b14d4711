import Foundation
import PatchbayStore

/// Seeds receivables the way a nightly batch import would: one QuickBooks A/R snapshot per night
/// of the last week, through the same import the CLI and the batch connector use, so the aging
/// panel has invoices of several customers and currencies and the batch history has runs.
public struct InvoiceSeeder: Sendable {
    public var seed: UInt64
    public var now: Date
    public var invoices: Int
    public var nights: Int

    public init(seed: UInt64 = 42, now: Date = Date(), invoices: Int = 120, nights: Int = 7) {
        self.seed = seed
        self.now = now
        self.invoices = invoices
        self.nights = nights
    }

    /// Runs the nightly imports; returns how many invoices the last snapshot held.
    @discardableResult
    public func run(on store: any ConnectorCatalog & BatchLedger) throws -> Int {
        var rng = SeededRandom(seed: seed ^ 0xA5A5)
        let source = try store.saveConnector(ConnectorSpec(
            name: "quickbooks-ar", module: "quickbooks-csv", pattern: .batch, system: "QuickBooks", direction: .source),
            now: now.addingTimeInterval(-Double(nights) * 86_400))
        // Each invoice: issued up to 150 days ago, net 14/30/45/60, paid at some point or never.
        struct Planned { var input: InvoiceInput; var issued: Date; var paidAt: Date?; var partial: Bool }
        var planned: [Planned] = []
        for index in 0..<invoices {
            let customer = Seeder.customers[Int(rng.unit() * Double(Seeder.customers.count))]
            let issued = now.addingTimeInterval(-rng.unit() * 150 * 86_400)
            let terms = [14, 30, 30, 45, 60][Int(rng.unit() * 5)]
            let due = issued.addingTimeInterval(Double(terms) * 86_400)
            let total = Int64(5_000 + rng.unit() * 450_000)
            let isCredit = rng.unit() < 0.04
            let paidRoll = rng.unit()
            // Older invoices are more likely paid; a few stay unpaid for months.
            let paidAt: Date? = paidRoll < 0.55 ? due.addingTimeInterval((rng.unit() - 0.5) * 20 * 86_400) : nil
            planned.append(Planned(
                input: InvoiceInput(
                    externalId: isCredit ? "CM-\(3000 + index)" : "INV-\(2000 + index)",
                    number: isCredit ? "CM-\(3000 + index)" : "INV-\(2000 + index)",
                    kind: isCredit ? .creditMemo : .invoice, customer: customer.0, currency: customer.1,
                    issueDate: issued.isoDay, dueDate: (isCredit ? issued : due).isoDay,
                    totalMinor: isCredit ? -total / 10 : total, openMinor: isCredit ? -total / 10 : total,
                    line: index + 2),
                issued: issued, paidAt: paidAt, partial: !isCredit && rng.unit() < 0.1))
        }
        var last = 0
        for night in stride(from: nights - 1, through: 0, by: -1) {
            let runAt = now.startOfUTCDay.addingTimeInterval(-Double(night) * 86_400 + 2 * 3600)
            let snapshot = planned.filter { $0.issued <= runAt }.map { plan -> InvoiceInput in
                var input = plan.input
                if let paidAt = plan.paidAt, paidAt <= runAt { input.openMinor = 0 }
                else if plan.partial { input.openMinor = input.totalMinor / 2 }
                return input
            }
            guard !snapshot.isEmpty else { continue }
            _ = try store.importInvoices(snapshot, source: source.id, job: "nightly quickbooks-ar import", snapshot: true,
                                         now: runAt)
            last = snapshot.count
        }
        return last
    }
}
