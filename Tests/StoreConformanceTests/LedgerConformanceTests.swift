import Foundation
import PatchbayStore
import Testing

/// Batch runs resume at their cursor; invoices import as snapshots and age into the same buckets.
@Suite("Conformance: batch ledger and aging")
struct LedgerConformanceTests {
    private func invoice(_ id: String, customer: String = "Granja Olmo", due: String, open: Int64,
                         currency: String = "EUR", kind: InvoiceKind = .invoice, line: Int = 2) -> InvoiceInput {
        InvoiceInput(externalId: id, number: id, kind: kind, customer: customer, currency: currency,
                     issueDate: "2026-09-01", dueDate: due, totalMinor: open, openMinor: open, line: line)
    }

    @Test("an unfinished run over the same input resumes at its committed cursor; another input starts anew",
          arguments: Backend.available)
    func resumableRuns(backend: Backend) throws {
        let h = try backend.make()
        let run = try h.store.beginBatchRun(job: "qb-ar", connector: h.shop, input: "file@sha-1", now: Harness.at(0))
        #expect(run.rowsDone == 0 && !run.resumed)
        try h.store.loadInvoiceChunk([invoice("INV-1", due: "2026-11-30", open: 10_000)], run: run.runId, source: h.shop,
                                     cursor: 1, now: Harness.at(1))
        // A crash here: the next start over the same input resumes after row 1.
        let resumed = try h.store.beginBatchRun(job: "qb-ar", connector: h.shop, input: "file@sha-1", now: Harness.at(5))
        #expect(resumed.runId == run.runId && resumed.rowsDone == 1 && resumed.resumed)
        try h.store.loadInvoiceChunk([invoice("INV-2", due: "2026-10-15", open: 2_500)], run: run.runId, source: h.shop,
                                     cursor: 2, now: Harness.at(6))
        _ = try h.store.finishBatchRun(run.runId, source: h.shop, snapshot: true, currencies: ["EUR"], rowsRejected: 0,
                                       now: Harness.at(7))
        let last = try #require(try h.store.lastBatchRun(job: "qb-ar"))
        #expect(last.status == .succeeded && last.rowsLoaded == 2)
        let next = try h.store.beginBatchRun(job: "qb-ar", connector: h.shop, input: "file@sha-2", now: Harness.at(8))
        #expect(next.runId != run.runId && next.rowsDone == 0)
    }

    @Test("a snapshot import updates in place, closes what it no longer lists, and ages by due date",
          arguments: Backend.available)
    func importAndAge(backend: Backend) throws {
        let h = try backend.make()
        let first = try h.store.importInvoices([
            invoice("INV-1", due: "2026-11-30", open: 10_000),                        // current on 11-30
            invoice("INV-2", due: "2026-11-15", open: 2_500),                         // 15 days: 1-30
            invoice("INV-3", customer: "Casa Núñez S.L.", due: "2026-08-01", open: 7_000),  // 121 days: 91+
            invoice("CM-1", due: "2026-11-01", open: -1_250, kind: .creditMemo),      // 29 days: 1-30
        ], source: h.shop, job: "import", snapshot: true, now: Harness.at(0))
        #expect(first.inserted == 4 && first.closed == 0)
        let again = try h.store.importInvoices([
            invoice("INV-1", due: "2026-11-30", open: 4_000),
            invoice("INV-2", due: "2026-11-15", open: 2_500),
            invoice("CM-1", due: "2026-11-01", open: -1_250, kind: .creditMemo),
        ], source: h.shop, job: "import", snapshot: true, now: Harness.at(60))
        #expect(again.inserted == 0 && again.updated == 1 && again.unchanged == 2 && again.closed == 1)
        let aging = try h.store.aging(asOf: "2026-11-30", by: .due)
        let eur = try #require(aging.first { $0.currency == "EUR" })
        #expect(eur.buckets[.current] == BucketTotal(amountMinor: 4_000, count: 1))
        #expect(eur.buckets[.days1to30] == BucketTotal(amountMinor: 1_250, count: 2))
        #expect(eur.buckets[.over90] == BucketTotal(amountMinor: 0, count: 0))
        #expect(eur.totalMinor == 5_250 && eur.count == 3)
    }
}
