import Foundation

/// What batch jobs keep: their runs (begun, resumed at the cursor, advanced, finished, failed, noted)
/// and the invoices an import loads chunk by chunk with the cursor.
public protocol BatchLedger: Sendable {
    /// Starts a run of `job` over `input`, or resumes the unfinished one over the same input.
    func beginBatchRun(job: String, connector: ConnectorID?, input: String, now: Date) throws -> BatchRunCursor
    /// Advances a run's cursor after a chunk whose rows were stored idempotently elsewhere.
    func advanceBatchRun(_ run: Int64, cursor: Int, rowsLoaded: Int) throws
    /// Upserts one chunk of invoices and advances the run's cursor in the same transaction.
    func loadInvoiceChunk(_ invoices: [InvoiceInput], run: Int64, source: ConnectorID, cursor: Int, now: Date) throws
    /// Finishes a run; with `snapshot`, closes the source's open invoices the run never saw.
    /// - Returns: how many invoices were closed.
    @discardableResult
    func finishBatchRun(_ run: Int64, source: ConnectorID?, snapshot: Bool, currencies: [String]?,
                        rowsRejected: Int, now: Date) throws -> Int
    /// Attaches a note (rejected rows and why) to a run.
    func noteBatchRun(_ run: Int64, error: String) throws
    /// Stops a run that could not finish: failed with its reason, its cursor kept, so the next run
    /// over the same input (`beginBatchRun`) starts after its committed rows.
    func suspendBatchRun(_ run: Int64, error: String, now: Date) throws
    /// Records an import that was refused before it started. - Returns: the run's id.
    @discardableResult
    func recordFailedBatchRun(job: String, connector: ConnectorID?, rowsRead: Int, error: String, now: Date) throws
        -> Int64
    /// The last run of a job, for schedules and for skipping an input already loaded.
    func lastBatchRun(job: String) throws -> BatchRun?
    /// Loads a whole file of invoices as one run (`patchbay import`); with `snapshot`, closes the
    /// source's open invoices the file does not list.
    func importInvoices(_ invoices: [InvoiceInput], source: ConnectorID, job: String, snapshot: Bool, now: Date) throws
        -> InvoiceImportSummary
}

extension BatchLedger {
    @discardableResult
    public func recordFailedBatchRun(job: String, connector: ConnectorID?, rowsRead: Int, error: String) throws -> Int64 {
        try recordFailedBatchRun(job: job, connector: connector, rowsRead: rowsRead, error: error, now: Date())
    }

    public func importInvoices(_ invoices: [InvoiceInput], source: ConnectorID, job: String, snapshot: Bool = true) throws
        -> InvoiceImportSummary
    {
        try importInvoices(invoices, source: source, job: job, snapshot: snapshot, now: Date())
    }
}

/// "Run it now" for batch jobs: an operator (CLI or dashboard, another process) asks; the hub that
/// runs the job starts a run at its next look (within seconds) and clears the request.
public protocol BatchRunRequests: Sendable {
    /// Asks for a run of `job` now. Throws for an unknown connector or one that is not a batch job.
    func requestBatchRun(job: String, now: Date) throws
    /// When a run was asked for and not yet started (ms), if it was.
    func batchRunRequest(job: String) throws -> Int64?
    /// Clears the request once a run started for it (a later request stays).
    func clearBatchRunRequest(job: String, upTo requestedAt: Int64) throws
}
