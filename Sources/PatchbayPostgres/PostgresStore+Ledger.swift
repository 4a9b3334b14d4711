import Foundation
import PatchbayModel
import PatchbayValues
import PostgresNIO

// SQLite's batch runs (Store+Runtime) and invoice imports (Store+Invoices), on PostgreSQL.
//
// SQLite serializes every write; here several nodes may write at once, so the writes that read
// before they write take a transaction-scoped advisory lock first (two-key form, which never meets
// the single-key locks other writes take): one per job for beginning a run, one per source for
// writing its invoices.

extension PostgresStore {
    /// Advisory lock classes: "PBBR" (a job's runs) and "PBIV" (a source's invoices). Not "PBJB":
    /// a job's runner holds that one on a connection of its own while it calls these.
    private static let jobLockClass: Int32 = 0x5042_4252
    private static let invoiceLockClass: Int32 = 0x5042_4956

    private static func lockInvoices(of source: ConnectorID, _ session: Session) throws {
        try session.run("SELECT pg_advisory_xact_lock(\(invoiceLockClass), \(Int32(truncatingIfNeeded: source)))")
    }

    // MARK: Whole-file imports

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
        return try write { session in
            guard try !session.rows("SELECT 1 FROM connectors WHERE id = \(source)").isEmpty else {
                throw StoreError.invalidInput("no connector with id \(source)")
            }
            try Self.lockInvoices(of: source, session)
            let stored = try session.rows("""
                SELECT id, external_id, number, kind, customer, currency, issue_date, due_date,
                       total_minor, open_minor, status
                FROM invoices WHERE source_id = \(source)
                """).map(StoredInvoice.init(pgRow:))
            let plan = InvoiceImportPlan(invoices, stored: stored, snapshot: snapshot)

            let syncedAt = now.millis
            var inserts = InvoiceColumns()
            var updates = InvoiceColumns()
            var updateIds: [Int64] = []
            for write in plan.writes {
                switch write {
                case .update(let id, let input):
                    updates.add(input)
                    updateIds.append(id)
                case .insert(let input):
                    inserts.add(input)
                }
            }
            if !inserts.externalIds.isEmpty {
                var binds = inserts.bindings()
                binds.append(source)
                binds.append(syncedAt)
                // In the file's order, as SQLite inserts them (ids grow the same way).
                try session.run(PostgresQuery(unsafeSQL: """
                    INSERT INTO invoices(source_id, external_id, number, kind, customer, currency, issue_date,
                                         due_date, total_minor, open_minor, status, synced_at)
                    SELECT $11, u.external_id, u.number, u.kind, u.customer, u.currency, u.issue_date, u.due_date,
                           u.total_minor, u.open_minor, u.status, $12
                    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                $8::bigint[], $9::bigint[], $10::text[])
                      WITH ORDINALITY AS u(external_id, number, kind, customer, currency, issue_date, due_date,
                                           total_minor, open_minor, status, position)
                    ORDER BY u.position
                    """, binds: binds))
            }
            if !updateIds.isEmpty {
                // $1 (the external ids) goes unused: the rows are found by id.
                var binds = updates.bindings()
                binds.append(updateIds)
                binds.append(syncedAt)
                try session.run(PostgresQuery(unsafeSQL: """
                    UPDATE invoices AS i SET number = u.number, kind = u.kind, customer = u.customer,
                      currency = u.currency, issue_date = u.issue_date, due_date = u.due_date,
                      total_minor = u.total_minor, open_minor = u.open_minor, status = u.status, synced_at = $12
                    FROM unnest($11::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                $8::bigint[], $9::bigint[], $10::text[])
                      AS u(id, number, kind, customer, currency, issue_date, due_date, total_minor, open_minor, status)
                    WHERE i.id = u.id
                    """, binds: binds))
            }
            if !plan.closing.isEmpty {
                try session.run("""
                    UPDATE invoices SET status = 'closed', open_minor = 0, synced_at = \(syncedAt)
                    WHERE id = ANY(\(plan.closing))
                    """)
            }

            let elapsed = started.duration(to: clock.now).components
            let elapsedMillis = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
            let count = Int64(invoices.count)
            var summary = plan.summary
            summary.runId = try session.rows("""
                INSERT INTO batch_runs(job, connector_id, started_at, finished_at, status,
                                       rows_read, rows_loaded, rows_rejected)
                VALUES (\(job), \(source), \(syncedAt), \(syncedAt + elapsedMillis), 'succeeded', \(count), \(count), 0)
                RETURNING id
                """)[0].decode(Int64.self)
            return summary
        }
    }

    /// Records an import that was refused (an unreadable or invalid file), so that it shows in the runs.
    ///
    /// - Returns: the id of the `batch_runs` row.
    @discardableResult
    public func recordFailedBatchRun(job: String, connector: ConnectorID?, rowsRead: Int, error: String,
                                     now: Date = Date()) throws -> Int64 {
        try write { session in
            try session.rows("""
                INSERT INTO batch_runs(job, connector_id, started_at, finished_at, status,
                                       rows_read, rows_loaded, rows_rejected, error)
                VALUES (\(job), \(connector), \(now.millis), \(now.millis), 'failed', \(Int64(rowsRead)), 0,
                        \(Int64(rowsRead)), \(String(error.prefix(2000))))
                RETURNING id
                """)[0].decode(Int64.self)
        }
    }

    // MARK: Resumable batch runs

    /// Starts a run of `job` over `input`, or resumes the unfinished one over the same input.
    ///
    /// A run that crashed left `status = 'running'` and the count of rows it committed; resuming
    /// continues after them, so no row is skipped or loaded twice.
    public func beginBatchRun(job: String, connector: ConnectorID?, input: String, now: Date = Date()) throws
        -> BatchRunCursor
    {
        try write { session in
            // Two nodes starting the same job at once: one begins the run, the other resumes it.
            try session.run("SELECT pg_advisory_xact_lock(\(Self.jobLockClass), hashtext(\(job)))")
            if let row = try session.rows("""
                SELECT id, cursor FROM batch_runs WHERE job = \(job) AND input = \(input) AND status = 'running'
                ORDER BY id DESC LIMIT 1
                """).first {
                let (id, cursor) = try row.decode((Int64, String?).self)
                return BatchRunCursor(runId: id, rowsDone: cursor.flatMap { Int($0) } ?? 0, resumed: true)
            }
            // A run stopped with its reason stays failed; the next over the same input starts after it.
            if let row = try session.rows("""
                SELECT status, input, cursor FROM batch_runs WHERE job = \(job) ORDER BY id DESC LIMIT 1
                """).first {
                let (status, last, cursor) = try row.decode((String, String?, String?).self)
                if let done = BatchRunCursor.resumable(status: status, input: last, cursor: cursor, over: input) {
                    let id = try session.rows("""
                        INSERT INTO batch_runs(job, connector_id, started_at, status, rows_read, rows_loaded,
                                               rows_rejected, cursor, input)
                        VALUES (\(job), \(connector), \(now.millis), 'running', \(Int64(done)), 0, 0, \(String(done)), \(input))
                        RETURNING id
                        """)[0].decode(Int64.self)
                    return BatchRunCursor(runId: id, rowsDone: done, resumed: true)
                }
            }
            // Runs of the same job over other inputs that never finished will not resume: close them.
            try session.run("""
                UPDATE batch_runs SET status = 'failed', finished_at = \(now.millis),
                  error = 'abandoned: a newer input replaced it before it finished'
                WHERE job = \(job) AND status = 'running'
                """)
            let id = try session.rows("""
                INSERT INTO batch_runs(job, connector_id, started_at, status, rows_read, rows_loaded,
                                       rows_rejected, cursor, input)
                VALUES (\(job), \(connector), \(now.millis), 'running', 0, 0, 0, '0', \(input))
                RETURNING id
                """)[0].decode(Int64.self)
            return BatchRunCursor(runId: id, rowsDone: 0, resumed: false)
        }
    }

    /// Upserts one chunk of invoices and advances the run's cursor, in one transaction: a crash
    /// leaves either both or neither.
    ///
    /// - Parameter cursor: the count of input rows done once this chunk is committed.
    public func loadInvoiceChunk(_ invoices: [InvoiceInput], run: Int64, source: ConnectorID, cursor: Int,
                                 now: Date = Date()) throws {
        try InvoiceInput.validate(invoices)
        try write { session in
            if !invoices.isEmpty {
                try Self.lockInvoices(of: source, session)
                var rows = InvoiceColumns()
                for input in invoices { rows.add(input) }
                var binds = rows.bindings()
                binds.append(source)
                binds.append(now.millis)
                binds.append(run)
                try session.run(PostgresQuery(unsafeSQL: """
                    INSERT INTO invoices AS i(source_id, external_id, number, kind, customer, currency, issue_date,
                                              due_date, total_minor, open_minor, status, synced_at, seen_run_id)
                    SELECT $11, u.external_id, u.number, u.kind, u.customer, u.currency, u.issue_date, u.due_date,
                           u.total_minor, u.open_minor, u.status, $12, $13
                    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                $8::bigint[], $9::bigint[], $10::text[])
                      WITH ORDINALITY AS u(external_id, number, kind, customer, currency, issue_date, due_date,
                                           total_minor, open_minor, status, position)
                    ORDER BY u.position
                    ON CONFLICT (source_id, external_id) DO UPDATE SET
                      number = excluded.number, kind = excluded.kind, customer = excluded.customer,
                      currency = excluded.currency, issue_date = excluded.issue_date, due_date = excluded.due_date,
                      total_minor = excluded.total_minor, open_minor = excluded.open_minor, status = excluded.status,
                      synced_at = excluded.synced_at, seen_run_id = excluded.seen_run_id
                    """, binds: binds))
            }
            let changed = try session.run("""
                UPDATE batch_runs SET cursor = \(String(cursor)), rows_read = \(Int64(cursor)),
                  rows_loaded = rows_loaded + \(Int64(invoices.count))
                WHERE id = \(run) AND status = 'running'
                """)
            guard changed == 1 else {
                throw StoreError.invalidInput("batch run \(run) is not running")
            }
        }
    }

    /// Advances a run's cursor after a chunk whose rows were stored idempotently elsewhere.
    public func advanceBatchRun(_ run: Int64, cursor: Int, rowsLoaded: Int) throws {
        try write { session in
            _ = try session.run("""
                UPDATE batch_runs SET cursor = \(String(cursor)), rows_read = \(Int64(cursor)),
                  rows_loaded = rows_loaded + \(Int64(rowsLoaded))
                WHERE id = \(run) AND status = 'running'
                """)
        }
    }

    /// Finishes a run: with `snapshot`, open invoices of the source that this run never saw are closed
    /// (only in `currencies` when given: an export in one currency speaks for that currency only).
    /// - Returns: how many invoices were closed.
    @discardableResult
    public func finishBatchRun(_ run: Int64, source: ConnectorID?, snapshot: Bool, currencies: [String]? = nil,
                               rowsRejected: Int = 0, now: Date = Date()) throws -> Int {
        try write { session in
            var closed = 0
            if snapshot, let source {
                try Self.lockInvoices(of: source, session)
                if let currencies {
                    closed = try session.run("""
                        UPDATE invoices SET status = 'closed', open_minor = 0, synced_at = \(now.millis)
                        WHERE source_id = \(source) AND (seen_run_id IS NULL OR seen_run_id <> \(run))
                          AND (open_minor <> 0 OR status = 'open') AND currency = ANY(\(currencies.map { $0.uppercased() }))
                        """)
                } else {
                    closed = try session.run("""
                        UPDATE invoices SET status = 'closed', open_minor = 0, synced_at = \(now.millis)
                        WHERE source_id = \(source) AND (seen_run_id IS NULL OR seen_run_id <> \(run))
                          AND (open_minor <> 0 OR status = 'open')
                        """)
                }
            }
            try session.run("""
                UPDATE batch_runs SET status = 'succeeded', finished_at = \(now.millis), rows_rejected = \(Int64(rowsRejected))
                WHERE id = \(run) AND status = 'running'
                """)
            return closed
        }
    }

    /// Stops a run that could not finish (an API refused, a page failed): failed with its reason,
    /// its committed rows and cursor kept, so the next run over the same input resumes after them.
    public func suspendBatchRun(_ run: Int64, error: String, now: Date = Date()) throws {
        try write { session in
            _ = try session.run("""
                UPDATE batch_runs SET status = 'failed', finished_at = \(now.millis), error = \(String(error.prefix(2000)))
                WHERE id = \(run) AND status = 'running'
                """)
        }
    }

    /// Attaches a note (rejected rows and why) to a run.
    public func noteBatchRun(_ run: Int64, error: String) throws {
        try write { session in
            _ = try session.run("UPDATE batch_runs SET error = \(String(error.prefix(2000))) WHERE id = \(run)")
        }
    }

    /// The last run of a job, for schedules ("hourly" counts from it).
    public func lastBatchRun(job: String) throws -> BatchRun? {
        try read { session in
            var binds = PostgresBindings(capacity: 1)
            binds.append(job)
            return try session.rows(PostgresQuery(unsafeSQL: """
                SELECT \(BatchRun.pgColumns()) FROM batch_runs WHERE job = $1 ORDER BY id DESC LIMIT 1
                """, binds: binds)).first.map(BatchRun.init(pgRow:))
        }
    }

    // MARK: Validation (SQLite's, word for word)

}

/// Invoice fields as parallel arrays, bound as `$1…$10` for one `unnest(…)`.
private struct InvoiceColumns {
    var externalIds: [String] = [], numbers: [String] = [], kinds: [String] = [], customers: [String] = []
    var currencies: [String] = [], issueDates: [String] = [], dueDates: [String] = []
    var totals: [Int64] = [], opens: [Int64] = [], statuses: [String] = []

    /// The row as stored: currency in upper case, status from the open balance.
    mutating func add(_ input: InvoiceInput) {
        externalIds.append(input.externalId)
        numbers.append(input.number)
        kinds.append(input.kind.rawValue)
        customers.append(input.customer)
        currencies.append(input.storedCurrency)
        issueDates.append(input.issueDate)
        dueDates.append(input.dueDate)
        totals.append(input.totalMinor)
        opens.append(input.openMinor)
        statuses.append(input.storedStatus.rawValue)
    }

    func bindings() -> PostgresBindings {
        var binds = PostgresBindings(capacity: 13)
        binds.append(externalIds)
        binds.append(numbers)
        binds.append(kinds)
        binds.append(customers)
        binds.append(currencies)
        binds.append(issueDates)
        binds.append(dueDates)
        binds.append(totals)
        binds.append(opens)
        binds.append(statuses)
        return binds
    }
}

extension StoredInvoice {
    /// From `SELECT id, external_id, number, kind, customer, currency, issue_date, due_date,
    /// total_minor, open_minor, status`.
    fileprivate init(pgRow row: PostgresRow) throws {
        let (id, externalId, number, kind, customer, currency, issueDate, dueDate, totalMinor, openMinor, status) =
            try row.decode((Int64, String, String, String, String, String, String, String, Int64, Int64, String).self)
        self.init(id: id, externalId: externalId, number: number, kind: kind, customer: customer, currency: currency,
                  issueDate: issueDate, dueDate: dueDate, totalMinor: totalMinor, openMinor: openMinor,
                  status: InvoiceStatus(rawValue: status))
    }
}

extension PostgresStore: BatchLedger {}
