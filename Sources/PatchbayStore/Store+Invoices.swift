import Foundation
import GRDB

extension Store {
    /// Upserts a batch of receivables from one source in one transaction, and records the run.
    ///
    /// Every row is validated before anything is written; a bad row fails the whole batch with an
    /// error naming its line. Rows are keyed by (source, external id) and only rewritten when a field
    /// changed. With `snapshot`, the batch is taken as the complete list of what the source has open:
    /// open invoices of the source that it does not list are closed (open balance 0). Invoices already
    /// settled (open balance 0) that it does not list keep their status.
    public func importInvoices(_ invoices: [InvoiceInput], source: ConnectorID, job: String,
                               snapshot: Bool = true, now: Date = Date()) throws -> InvoiceImportSummary {
        let clock = ContinuousClock()
        let started = clock.now
        try InvoiceInput.validate(invoices)
        return try write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM connectors WHERE id = ?", arguments: [source]) != nil else {
                throw StoreError.invalidInput("no connector with id \(source)")
            }
            let stored = try Row.fetchAll(db, sql: """
                SELECT id, external_id, number, kind, customer, currency, issue_date, due_date,
                       total_minor, open_minor, status
                FROM invoices WHERE source_id = ?
                """, arguments: [source]).map(StoredInvoice.init(row:))
            let plan = InvoiceImportPlan(invoices, stored: stored, snapshot: snapshot)

            let insert = try db.cachedStatement(sql: """
                INSERT INTO invoices(source_id, external_id, number, kind, customer, currency, issue_date,
                                     due_date, total_minor, open_minor, status, synced_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let update = try db.cachedStatement(sql: """
                UPDATE invoices SET number = ?, kind = ?, customer = ?, currency = ?, issue_date = ?,
                  due_date = ?, total_minor = ?, open_minor = ?, status = ?, synced_at = ?
                WHERE id = ?
                """)
            let syncedAt = now.millis
            for write in plan.writes {
                switch write {
                case .update(let id, let input):
                    try update.execute(arguments: [
                        input.number, input.kind, input.customer, input.storedCurrency, input.issueDate, input.dueDate,
                        input.totalMinor, input.openMinor, input.storedStatus, syncedAt, id,
                    ])
                case .insert(let input):
                    try insert.execute(arguments: [
                        source, input.externalId, input.number, input.kind, input.customer, input.storedCurrency,
                        input.issueDate, input.dueDate, input.totalMinor, input.openMinor, input.storedStatus, syncedAt,
                    ])
                }
            }
            let close = try db.cachedStatement(sql: """
                UPDATE invoices SET status = 'closed', open_minor = 0, synced_at = ? WHERE id = ?
                """)
            for id in plan.closing {
                try close.execute(arguments: [syncedAt, id])
            }

            let elapsed = started.duration(to: clock.now).components
            let elapsedMillis = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
            try db.execute(sql: """
                INSERT INTO batch_runs(job, connector_id, started_at, finished_at, status,
                                       rows_read, rows_loaded, rows_rejected)
                VALUES (?, ?, ?, ?, 'succeeded', ?, ?, 0)
                """, arguments: [job, source, syncedAt, syncedAt + elapsedMillis, invoices.count, invoices.count])
            var summary = plan.summary
            summary.runId = db.lastInsertedRowID
            return summary
        }
    }

    /// Records an import that was refused (an unreadable or invalid file), so that it shows in the runs.
    ///
    /// - Returns: the id of the `batch_runs` row.
    @discardableResult
    public func recordFailedBatchRun(job: String, connector: ConnectorID?, rowsRead: Int, error: String,
                                     now: Date = Date()) throws -> Int64 {
        try write { db in
            try db.execute(sql: """
                INSERT INTO batch_runs(job, connector_id, started_at, finished_at, status,
                                       rows_read, rows_loaded, rows_rejected, error)
                VALUES (?, ?, ?, ?, 'failed', ?, 0, ?, ?)
                """, arguments: [job, connector, now.millis, now.millis, rowsRead, rowsRead,
                                 String(error.prefix(2000))])
            return db.lastInsertedRowID
        }
    }

    /// The most recent batch runs, newest first.
    public func batchRuns(limit: Int) throws -> [BatchRun] {
        try read { db in
            try BatchRun.fetchAll(db, sql: "SELECT * FROM batch_runs ORDER BY started_at DESC, id DESC LIMIT ?",
                                  arguments: [max(0, limit)])
        }
    }

    /// Open balances by currency, customer and age as of a date (`YYYY-MM-DD`).
    ///
    /// Settled items (open balance 0) are left out; credit memos and unapplied payments count with
    /// their negative balance. Currencies come sorted by code.
    public func aging(asOf: String, by basis: AgingBasis = .due) throws -> [CurrencyAging] {
        let empty = try AgingReportBuilder(asOf: asOf, basis: basis)
        let dateColumn = basis == .due ? "due_date" : "issue_date"
        return try read { db in
            // invoices_open covers every column read here (v3), so this reads the index alone; by due
            // date it is also in the index's order. One row per customer and date, summed by SQLite.
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT currency, customer, \(dateColumn), sum(open_minor), count(*)
                FROM invoices INDEXED BY invoices_open
                WHERE open_minor <> 0
                GROUP BY currency, customer, \(dateColumn)
                ORDER BY currency, customer, \(dateColumn)
                """))
            var report = empty
            do {
                while let row = try rows.next() {
                    try report.add(currency: try row.decode(atIndex: 0), customer: try row.decode(atIndex: 1),
                                   date: try row.decode(atIndex: 2), open: try row.decode(atIndex: 3),
                                   count: try row.decode(atIndex: 4))
                }
            } catch let error as DatabaseError where error.message?.contains("integer overflow") == true {
                throw StoreError.invalidInput(AgingSums.overflowMessage)
            }
            return try report.build()
        }
    }

    /// A customer's open items, oldest due first, for drilling into an aging line.
    public func openInvoices(customer: String, currency: String? = nil) throws -> [Invoice] {
        try read { db in
            if let currency {
                return try Invoice.fetchAll(db, sql: """
                    SELECT * FROM invoices WHERE open_minor <> 0 AND customer = ? AND currency = ?
                    ORDER BY due_date, issue_date, number, id
                    """, arguments: [customer, currency.uppercased()])
            }
            return try Invoice.fetchAll(db, sql: """
                SELECT * FROM invoices WHERE open_minor <> 0 AND customer = ?
                ORDER BY currency, due_date, issue_date, number, id
                """, arguments: [customer])
        }
    }
}

extension StoredInvoice {
    /// From `SELECT id, external_id, number, kind, customer, currency, issue_date, due_date,
    /// total_minor, open_minor, status`.
    init(row: Row) {
        self.init(id: row[0], externalId: row[1], number: row[2], kind: row[3], customer: row[4], currency: row[5],
                  issueDate: row[6], dueDate: row[7], totalMinor: row[8], openMinor: row[9],
                  status: InvoiceStatus(rawValue: row[10]))
    }
}

/// An aging report and the invoices and day it was computed for.
struct AgingCacheEntry: Sendable {
    var invoicesVersion: String
    var asOf: String
    var basis: AgingBasis
    var report: [CurrencyAging]
}

extension Store {
    /// The aging report, computed again only when an invoice changed (`invoices_version`, moved by
    /// triggers on the table) or another day or basis is asked for. The dashboard redraws on every
    /// write to the file, and invoices change only when an import runs.
    ///
    /// The version is read before the report, so a report is never kept under a version older
    /// than its data: at worst it is computed once more.
    public func agingCached(asOf: String, by basis: AgingBasis = .due) throws -> [CurrencyAging] {
        let version = try read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM settings WHERE key = 'invoices_version'"))
        }
        if let version, let entry = agingCache.withLock({ $0 }),
           entry.invoicesVersion == version, entry.asOf == asOf, entry.basis == basis {
            return entry.report
        }
        let report = try aging(asOf: asOf, by: basis)
        if let version {
            agingCache.withLock { $0 = AgingCacheEntry(invoicesVersion: version, asOf: asOf, basis: basis, report: report) }
        }
        return report
    }
}
