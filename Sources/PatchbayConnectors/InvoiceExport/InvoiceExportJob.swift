import Crypto
import Foundation
import PatchbayHub
import PatchbayStore

/// `quickbooks-csv` and `xero-csv`: an A/R export dropped as a file, loaded into the invoices table
/// on a schedule, feeding the aging panel.
///
/// The whole file is validated first (a bad row refuses the file with its line, nothing loaded).
/// Then rows are loaded in chunks; each chunk and the run's cursor commit together, so a run that
/// crashes resumes after its last committed chunk: no row skipped, none loaded twice. A file that
/// has not changed since the last successful run is skipped. The file is a snapshot of its currency:
/// open invoices of that currency it no longer lists are closed when the run finishes.
public struct InvoiceExportJob: BatchJob {
    public var file: URL
    public var format: InvoiceCSVFormat
    public var currency: String
    public var chunkSize: Int

    public init(file: URL, format: InvoiceCSVFormat, currency: String, chunkSize: Int = 500) {
        self.file = file
        self.format = format
        self.currency = currency
        self.chunkSize = max(1, chunkSize)
    }

    public func run(_ context: BatchContext) async throws -> BatchReport {
        let store = context.store
        let job = context.connector.name
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            if !FileManager.default.fileExists(atPath: file.path) {
                return BatchReport(runId: nil, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0,
                                   skipped: "no file at \(file.path) yet")
            }
            let message = "cannot read \(file.path): \((error as NSError).localizedDescription)"
            let id = try store.recordFailedBatchRun(job: job, connector: context.connector.id, rowsRead: 0, error: message,
                                                    now: context.now)
            return BatchReport(runId: id, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0, skipped: message)
        }
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        let input = "\(file.lastPathComponent)#sha256:\(digest.prefix(16))"
        if let last = try store.lastBatchRun(job: job), last.input == input, last.status == .succeeded {
            return BatchReport(runId: nil, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0,
                               skipped: "\(file.lastPathComponent) has not changed since run \(last.id)")
        }
        let invoices: [InvoiceInput]
        do {
            invoices = try InvoiceCSV.parse(data, format: format, currency: currency, file: file.lastPathComponent)
        } catch {
            let id = try store.recordFailedBatchRun(job: job, connector: context.connector.id, rowsRead: 0,
                                                    error: "\(error)", now: context.now)
            context.logger.warning("batch file refused", metadata: ["job": "\(job)", "error": "\(error)"])
            return BatchReport(runId: id, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0)
        }
        let cursor = try store.beginBatchRun(job: job, connector: context.connector.id, input: input, now: context.now)
        var done = min(cursor.rowsDone, invoices.count)
        if cursor.resumed {
            context.logger.notice("resuming batch run", metadata: ["job": "\(job)", "run": "\(cursor.runId)", "after_row": "\(done)"])
        }
        var loaded = 0
        while done < invoices.count {
            let end = min(invoices.count, done + chunkSize)
            try store.loadInvoiceChunk(Array(invoices[done..<end]), run: cursor.runId, source: context.connector.id,
                                       cursor: end, now: context.now)
            loaded += end - done
            done = end
            Faults.check("batch.after-chunk")
            await Task.yield()
        }
        try store.finishBatchRun(cursor.runId, source: context.connector.id, snapshot: true, currencies: [currency],
                                 rowsRejected: 0, now: context.now)
        return BatchReport(runId: cursor.runId, rowsRead: invoices.count, rowsLoaded: loaded, rowsRejected: 0,
                           resumed: cursor.resumed)
    }
}
