import Foundation
import GRDB

extension Store {
    // MARK: Rejections

    /// Records refused requests (one transaction for the batch).
    public func recordRejections(_ rejections: [NewRejection]) throws {
        guard !rejections.isEmpty else { return }
        try write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT INTO rejections(connector_id, received_at, status, reason, remote, path, body_bytes, body_excerpt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            // Counted only: the same counters the insert trigger keeps, without the row.
            let counters = try [("minute", 60_000), ("quarter", 900_000), ("hour", 3_600_000)].map { table, width in
                try db.cachedStatement(sql: """
                    INSERT INTO throughput_\(table)(bucket, connector_id, rejected) VALUES (? / \(width), ?, 1)
                      ON CONFLICT(bucket, connector_id) DO UPDATE SET rejected = rejected + 1
                    """)
            }
            for r in rejections {
                if !r.keepDetail, let connector = r.connectorId {
                    for counter in counters { try counter.execute(arguments: [r.receivedAt.millis, connector]) }
                    continue
                }
                try insert.execute(arguments: [
                    r.connectorId, r.receivedAt.millis, r.status, String(r.reason.prefix(1000)),
                    r.remote.map { String($0.prefix(100)) }, String(r.path.prefix(500)), r.bodyBytes,
                    r.bodyExcerpt.map { String($0.prefix(500)) },
                ])
            }
        }
    }

    /// The most recent refused requests, newest first.
    public func rejections(limit: Int) throws -> [RejectedRequest] {
        try read { db in
            try RejectedRequest.fetchAll(db, sql: "SELECT * FROM rejections ORDER BY received_at DESC, id DESC LIMIT ?",
                                   arguments: [max(0, limit)])
        }
    }

    /// Deletes refused requests received before `cutoff`, in batches; their counts stay in the rollups.
    @discardableResult
    public func pruneRejections(before cutoff: Date, batchSize: Int = Store.rowPruneBatch) throws -> Int {
        var total = 0
        while true {
            let deleted = try write { db -> Int in
                try db.execute(sql: """
                    DELETE FROM rejections WHERE id IN (
                      SELECT id FROM rejections WHERE received_at < ? ORDER BY received_at LIMIT ?)
                    """, arguments: [cutoff.millis, batchSize])
                return db.changesCount
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }

    /// Refused requests since a time, from the rollups.
    public func rejectedCount(since: Date) throws -> Int {
        try rollupSum(.rejected, since: since)
    }

    // MARK: Delivery scheduling

    /// When the next due delivery of a connector falls due (ms), or nil when none is waiting.
    /// A read through the `deliveries_due` index: workers sleep until then instead of polling with writes.
    public func nextDueAt(connector: ConnectorID) throws -> Int64? {
        try read { db in
            try Int64.fetchOne(db, sql: """
                SELECT MIN(next_attempt_at) FROM deliveries
                WHERE connector_id = ? AND state IN ('pending', 'retrying')
                """, arguments: [connector])
        }
    }

    /// Deliveries per state across all connectors, from the `delivery_counts` rollup.
    public func deliveryCountsByConnector() throws -> [ConnectorID: [DeliveryState: Int]] {
        try read { db in
            var counts: [ConnectorID: [DeliveryState: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT connector_id, state, n FROM delivery_counts") {
                guard let state = DeliveryState(rawValue: row[1]) else { continue }
                counts[row[0], default: [:]][state] = row[2]
            }
            return counts
        }
    }

    // MARK: Resumable batch runs

    /// Starts a run of `job` over `input`, or resumes the unfinished one over the same input.
    ///
    /// A run that crashed left `status = 'running'` and the count of rows it committed; resuming
    /// continues after them, so no row is skipped or loaded twice. A run stopped with its reason
    /// (`suspendBatchRun`) stays failed in the history; when it is the job's last run and over the
    /// same input, a new run starts after its cursor.
    public func beginBatchRun(job: String, connector: ConnectorID?, input: String, now: Date = Date()) throws -> BatchRunCursor {
        try write { db in
            if let row = try Row.fetchOne(db, sql: """
                SELECT id, cursor FROM batch_runs WHERE job = ? AND input = ? AND status = 'running'
                ORDER BY id DESC LIMIT 1
                """, arguments: [job, input]) {
                let cursor: String? = row[1]
                return BatchRunCursor(runId: row[0], rowsDone: cursor.flatMap { Int($0) } ?? 0, resumed: true)
            }
            if let row = try Row.fetchOne(db, sql: """
                SELECT status, input, cursor FROM batch_runs WHERE job = ? ORDER BY id DESC LIMIT 1
                """, arguments: [job]),
               let done = BatchRunCursor.resumable(status: row[0], input: row[1], cursor: row[2], over: input) {
                try db.execute(sql: """
                    INSERT INTO batch_runs(job, connector_id, started_at, status, rows_read, rows_loaded,
                                           rows_rejected, cursor, input)
                    VALUES (?, ?, ?, 'running', ?, 0, 0, ?, ?)
                    """, arguments: [job, connector, now.millis, done, String(done), input])
                return BatchRunCursor(runId: db.lastInsertedRowID, rowsDone: done, resumed: true)
            }
            // Runs of the same job over other inputs that never finished will not resume: close them.
            try db.execute(sql: """
                UPDATE batch_runs SET status = 'failed', finished_at = ?,
                  error = 'abandoned: a newer input replaced it before it finished'
                WHERE job = ? AND status = 'running'
                """, arguments: [now.millis, job])
            try db.execute(sql: """
                INSERT INTO batch_runs(job, connector_id, started_at, status, rows_read, rows_loaded,
                                       rows_rejected, cursor, input)
                VALUES (?, ?, ?, 'running', 0, 0, 0, '0', ?)
                """, arguments: [job, connector, now.millis, input])
            return BatchRunCursor(runId: db.lastInsertedRowID, rowsDone: 0, resumed: false)
        }
    }

    /// Upserts one chunk of invoices and advances the run's cursor, in one transaction: a crash
    /// leaves either both or neither.
    ///
    /// - Parameter cursor: the count of input rows done once this chunk is committed.
    public func loadInvoiceChunk(_ invoices: [InvoiceInput], run: Int64, source: ConnectorID, cursor: Int,
                                 now: Date = Date()) throws {
        try InvoiceInput.validate(invoices)
        try write { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO invoices(source_id, external_id, number, kind, customer, currency, issue_date,
                                     due_date, total_minor, open_minor, status, synced_at, seen_run_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(source_id, external_id) DO UPDATE SET
                  number = excluded.number, kind = excluded.kind, customer = excluded.customer,
                  currency = excluded.currency, issue_date = excluded.issue_date, due_date = excluded.due_date,
                  total_minor = excluded.total_minor, open_minor = excluded.open_minor, status = excluded.status,
                  synced_at = excluded.synced_at, seen_run_id = excluded.seen_run_id
                """)
            for input in invoices {
                try upsert.execute(arguments: [
                    source, input.externalId, input.number, input.kind, input.customer, input.storedCurrency,
                    input.issueDate, input.dueDate, input.totalMinor, input.openMinor, input.storedStatus, now.millis, run,
                ])
            }
            try db.execute(sql: """
                UPDATE batch_runs SET cursor = ?, rows_read = ?, rows_loaded = rows_loaded + ?
                WHERE id = ? AND status = 'running'
                """, arguments: [String(cursor), cursor, invoices.count, run])
            guard db.changesCount == 1 else {
                throw StoreError.invalidInput("batch run \(run) is not running")
            }
        }
    }

    /// Finishes a run: with `snapshot`, open invoices of the source that this run never saw are closed
    /// (only in `currencies` when given: an export in one currency speaks for that currency only).
    /// - Returns: how many invoices were closed.
    @discardableResult
    public func finishBatchRun(_ run: Int64, source: ConnectorID?, snapshot: Bool, currencies: [String]? = nil,
                               rowsRejected: Int = 0, now: Date = Date()) throws -> Int {
        try write { db in
            var closed = 0
            if snapshot, let source {
                var sql = """
                    UPDATE invoices SET status = 'closed', open_minor = 0, synced_at = ?
                    WHERE source_id = ? AND (seen_run_id IS NULL OR seen_run_id <> ?)
                      AND (open_minor <> 0 OR status = 'open')
                    """
                var arguments: StatementArguments = [now.millis, source, run]
                if let currencies {
                    sql += " AND currency IN (\(databaseQuestionMarks(count: currencies.count)))"
                    arguments += StatementArguments(currencies.map { $0.uppercased() })
                }
                try db.execute(sql: sql, arguments: arguments)
                closed = db.changesCount
            }
            try db.execute(sql: """
                UPDATE batch_runs SET status = 'succeeded', finished_at = ?, rows_rejected = ?
                WHERE id = ? AND status = 'running'
                """, arguments: [now.millis, rowsRejected, run])
            return closed
        }
    }

    /// Stops a run that could not finish (an API refused, a page failed): failed with its reason,
    /// its committed rows and cursor kept, so the next run over the same input resumes after them.
    public func suspendBatchRun(_ run: Int64, error: String, now: Date = Date()) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE batch_runs SET status = 'failed', finished_at = ?, error = ?
                WHERE id = ? AND status = 'running'
                """, arguments: [now.millis, String(error.prefix(2000)), run])
        }
    }

    /// The last run of a job that finished, for schedules ("hourly" counts from it).
    public func lastBatchRun(job: String) throws -> BatchRun? {
        try read { db in
            try BatchRun.fetchOne(db, sql: "SELECT * FROM batch_runs WHERE job = ? ORDER BY id DESC LIMIT 1",
                                  arguments: [job])
        }
    }
}

extension Store {
    /// Advances a run's cursor after a chunk whose rows were stored idempotently elsewhere.
    public func advanceBatchRun(_ run: Int64, cursor: Int, rowsLoaded: Int) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE batch_runs SET cursor = ?, rows_read = ?, rows_loaded = rows_loaded + ?
                WHERE id = ? AND status = 'running'
                """, arguments: [String(cursor), cursor, rowsLoaded, run])
        }
    }

    /// Attaches a note (rejected rows and why) to a run.
    public func noteBatchRun(_ run: Int64, error: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE batch_runs SET error = ? WHERE id = ?", arguments: [String(error.prefix(2000)), run])
        }
    }
}

extension Store {
    /// The open invoices of one source connector in one currency (what an A/R export lists).
    public func openInvoices(currency: String, connector name: String) throws -> [Invoice] {
        try read { db in
            try Invoice.fetchAll(db, sql: """
                SELECT i.* FROM invoices i JOIN connectors c ON c.id = i.source_id
                WHERE c.name = ? AND i.currency = ? AND i.open_minor <> 0 AND i.kind = 'invoice'
                ORDER BY i.customer, i.issue_date, i.number
                """, arguments: [name, currency.uppercased()])
        }
    }
}

extension Store {
    /// Every delivery to one connector, oldest first (for tests and small tools; not paged).
    public func deliveries(connector: ConnectorID) throws -> [Delivery] {
        try read { db in
            try Delivery.fetchAll(db, sql: "SELECT * FROM deliveries WHERE connector_id = ? ORDER BY id", arguments: [connector])
        }
    }

    /// The attempts of one delivery, in order.
    public func attempts(delivery: DeliveryID) throws -> [Attempt] {
        try read { db in
            try Attempt.fetchAll(db, sql: "SELECT * FROM attempts WHERE delivery_id = ? ORDER BY id", arguments: [delivery])
        }
    }

    /// How many events a source has stored.
    public func eventCount(source: ConnectorID) throws -> Int {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE source_id = ?", arguments: [source]) ?? 0
        }
    }
}
