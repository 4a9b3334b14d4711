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

    @Test("a run stopped with its reason stays failed in the history; the next run over the same input starts after its cursor, another input or an empty cursor starts anew",
          arguments: Backend.available)
    func suspendedRuns(backend: Backend) throws {
        let h = try backend.make()
        let run = try h.store.beginBatchRun(job: "xero-ar", connector: h.shop, input: "pages of 2", now: Harness.at(0))
        try h.store.loadInvoiceChunk([invoice("INV-1", due: "2026-11-30", open: 10_000),
                                      invoice("INV-2", due: "2026-11-30", open: 500)],
                                     run: run.runId, source: h.shop, cursor: 2, now: Harness.at(1))
        try h.store.suspendBatchRun(run.runId, error: "HTTP 503; 2 rows read so far", now: Harness.at(2))
        var stopped = try #require(try h.store.lastBatchRun(job: "xero-ar"))
        #expect(stopped.status == .failed && stopped.cursor == "2" && stopped.rowsLoaded == 2
                && stopped.error == "HTTP 503; 2 rows read so far" && stopped.finishedAt == Harness.at(2).millis)
        // A chunk for a stopped run is refused: it is no longer running.
        #expect(throws: StoreError.self) {
            try h.store.loadInvoiceChunk([invoice("INV-9", due: "2026-11-30", open: 1)], run: run.runId, source: h.shop,
                                         cursor: 3, now: Harness.at(3))
        }
        let next = try h.store.beginBatchRun(job: "xero-ar", connector: h.shop, input: "pages of 2", now: Harness.at(60))
        #expect(next.runId != run.runId && next.rowsDone == 2 && next.resumed)
        try h.store.loadInvoiceChunk([invoice("INV-3", due: "2026-11-30", open: 700)], run: next.runId, source: h.shop,
                                     cursor: 3, now: Harness.at(61))
        _ = try h.store.finishBatchRun(next.runId, source: h.shop, snapshot: false, currencies: nil, rowsRejected: 0,
                                       now: Harness.at(62))
        let runs = try h.store.batchRuns(limit: 10).sorted { $0.id < $1.id }
        #expect(runs.map(\.status) == [.failed, .succeeded])
        #expect(runs[1].rowsRead == 3 && runs[1].rowsLoaded == 1 && runs[0].error == "HTTP 503; 2 rows read so far")
        // A succeeded run is not resumed; a stopped run is resumed once only.
        let fresh = try h.store.beginBatchRun(job: "xero-ar", connector: h.shop, input: "pages of 2", now: Harness.at(120))
        #expect(fresh.rowsDone == 0 && !fresh.resumed)
        try h.store.suspendBatchRun(fresh.runId, error: "HTTP 401; nothing read yet", now: Harness.at(121))
        // Stopped before its first page: nothing to resume after.
        let again = try h.store.beginBatchRun(job: "xero-ar", connector: h.shop, input: "pages of 2", now: Harness.at(180))
        #expect(again.rowsDone == 0 && !again.resumed)
        try h.store.loadInvoiceChunk([invoice("INV-1", due: "2026-11-30", open: 10_000)], run: again.runId, source: h.shop,
                                     cursor: 1, now: Harness.at(181))
        try h.store.suspendBatchRun(again.runId, error: "HTTP 500", now: Harness.at(182))
        // Another input (an incremental run's) does not resume the stopped full one.
        let other = try h.store.beginBatchRun(job: "xero-ar", connector: h.shop, input: "pages of 2 modified since 5",
                                              now: Harness.at(240))
        #expect(other.rowsDone == 0 && !other.resumed)
        stopped = try #require(try h.store.batchRuns(limit: 10).first { $0.id == again.runId })
        #expect(stopped.status == .failed && stopped.error == "HTTP 500", "a stopped run keeps its reason when another starts")
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
