import Crypto
import Foundation
import PatchbayHub
import PatchbayStore

/// `csv-events`: a CSV file drop (an ERP's stock export, a nightly report) whose rows become events
/// on one topic, delivered to that topic's subscribers like any other event.
///
/// Each row becomes a JSON object keyed by the header's column names. A row whose width differs
/// from the header's is rejected with its line (counted in the run, kept out of the queue); the rest
/// load. Rows are ingested in chunks, each row keyed by the file's digest and its line, and the
/// run's cursor advances after each chunk: a run that crashed resumes after its last committed
/// chunk, and a chunk it repeats is recognised row by row as already stored. Nothing skipped, nothing
/// doubled.
public struct CSVEventsJob: BatchJob {
    public var file: URL
    public var topic: String
    public var chunkSize: Int
    public var keyColumn: String?

    public init(file: URL, topic: String, chunkSize: Int = 500, keyColumn: String? = nil) {
        self.file = file
        self.topic = topic
        self.chunkSize = max(1, chunkSize)
        self.keyColumn = keyColumn
    }

    public func run(_ context: BatchContext) async throws -> BatchReport {
        let store = context.store
        let job = context.connector.name
        guard FileManager.default.fileExists(atPath: file.path) else {
            return BatchReport(runId: nil, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0, skipped: "no file at \(file.path) yet")
        }
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            let id = try store.recordFailedBatchRun(job: job, connector: context.connector.id, rowsRead: 0,
                                                    error: "cannot read \(file.path): \((error as NSError).localizedDescription)")
            return BatchReport(runId: id, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0)
        }
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined().prefix(16)
        let input = "\(file.lastPathComponent)#sha256:\(digest)"
        if let last = try store.lastBatchRun(job: job), last.input == input, last.status == .succeeded {
            return BatchReport(runId: nil, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0,
                               skipped: "\(file.lastPathComponent) has not changed since run \(last.id)")
        }
        let records: [CSVRecord]
        do {
            records = try CSVReader.records(in: data).filter { !$0.isBlank }
        } catch {
            let id = try store.recordFailedBatchRun(job: job, connector: context.connector.id, rowsRead: 0,
                                                    error: "\(file.lastPathComponent): \(error)")
            return BatchReport(runId: id, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0)
        }
        guard let header = records.first else {
            let id = try store.recordFailedBatchRun(job: job, connector: context.connector.id, rowsRead: 0,
                                                    error: "\(file.lastPathComponent): the file is empty")
            return BatchReport(runId: id, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0)
        }
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        let keyIndex = keyColumn.flatMap { columns.firstIndex(of: $0) }
        let rows = Array(records.dropFirst())
        let cursor = try store.beginBatchRun(job: job, connector: context.connector.id, input: input, now: context.now)
        var done = min(cursor.rowsDone, rows.count)
        var loaded = 0
        var rejected: [String] = []
        let targets = context.targets(topic)
        while done < rows.count {
            let end = min(rows.count, done + chunkSize)
            var events: [NewEvent] = []
            for record in rows[done..<end] {
                guard record.fields.count == columns.count else {
                    rejected.append("line \(record.line): \(record.fields.count) fields, the header has \(columns.count)")
                    continue
                }
                var object: [String: String] = [:]
                for (name, value) in zip(columns, record.fields) { object[name] = value }
                let payload = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                let key = keyIndex.map { "\(input):\(record.fields[$0])" } ?? "\(input):line-\(record.line)"
                events.append(NewEvent(topic: topic, sourceId: context.connector.id, idempotencyKey: String(key.prefix(200)),
                                       payload: payload, receivedAt: Date(), targets: targets))
            }
            let results = try store.ingest(events)
            loaded += results.filter { if case .accepted = $0 { true } else { false } }.count
            try store.advanceBatchRun(cursor.runId, cursor: end, rowsLoaded: results.count)
            done = end
            Faults.check("batch.after-chunk")
            await Task.yield()
        }
        if rejected.isEmpty {
            try store.finishBatchRun(cursor.runId, source: nil, snapshot: false, currencies: nil, rowsRejected: 0, now: Date())
        } else {
            try store.finishBatchRun(cursor.runId, source: nil, snapshot: false, currencies: nil, rowsRejected: rejected.count,
                                     now: Date())
            try store.noteBatchRun(cursor.runId, error: "\(rejected.count) rows rejected: " + rejected.prefix(5).joined(separator: "; "))
        }
        return BatchReport(runId: cursor.runId, rowsRead: rows.count, rowsLoaded: loaded, rowsRejected: rejected.count,
                           resumed: cursor.resumed)
    }
}
