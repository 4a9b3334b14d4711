import GRDB

// `RollupDelta` (PatchbayModel) sums what a write changes in the counters; this writes the sums.

extension RollupDelta {
    /// Writes the sums: one statement per counter row touched.
    func apply(_ db: Database) throws {
        let count = try db.cachedStatement(sql: """
            INSERT INTO delivery_counts(connector_id, state, n) VALUES (?, ?, ?)
            ON CONFLICT(connector_id, state) DO UPDATE SET n = n + excluded.n
            """)
        for change in countChanges {
            try count.execute(arguments: [change.connector, change.state, change.n])
        }
        for granularity in Granularity.allCases {
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO \(granularity.table)(bucket, connector_id, received, delivered, failed, retried, dead)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(bucket, connector_id) DO UPDATE SET
                  received = received + excluded.received, delivered = delivered + excluded.delivered,
                  failed = failed + excluded.failed, retried = retried + excluded.retried, dead = dead + excluded.dead
                """)
            for (bucket, connector, flow) in flowChanges(granularity) {
                try upsert.execute(arguments: [bucket, connector, flow.received, flow.delivered, flow.failed,
                                               flow.retried, flow.dead])
            }
        }
        let leave = try db.cachedStatement(sql: """
            UPDATE error_groups SET retrying = retrying + ?, dead = dead + ? WHERE connector_id = ? AND signature = ?
            """)
        let enter = try db.cachedStatement(sql: """
            INSERT INTO error_groups(connector_id, signature, sample_error, last_status,
                                     retrying, dead, occurrences, first_seen, last_seen)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(connector_id, signature) DO UPDATE SET
              retrying = retrying + excluded.retrying,
              dead = dead + excluded.dead,
              occurrences = occurrences + excluded.occurrences,
              sample_error = excluded.sample_error,
              last_status = excluded.last_status,
              last_seen = max(last_seen, excluded.last_seen)
            """)
        for (connector, signature, change) in groupChanges {
            if let entered = change.entered {
                try enter.execute(arguments: [
                    connector, signature, entered.sample, entered.status, change.retrying, change.dead,
                    entered.occurrences, entered.firstSeen, entered.lastSeen,
                ])
            } else if change.retrying != 0 || change.dead != 0 {
                try leave.execute(arguments: [change.retrying, change.dead, connector, signature])
            }
        }
    }
}

/// Integer rows or ids for one statement, as a JSON array the statement reads with `json_each`.
///
/// A batch write binds one text argument instead of thousands of placeholders, so its statement is
/// prepared once and cached, whatever the batch size (parsing a 400-row `VALUES` list every time was
/// a fifth of a claim's cost). Only integers go in: rows with text use `Store.insertRows`.
struct JSONRows {
    private(set) var text = "["
    private(set) var count = 0
    private var firstInRow = true

    init() {}

    mutating func row(_ build: (inout JSONRows) -> Void) {
        if count > 0 { text += "," }
        text += "["
        firstInRow = true
        build(&self)
        text += "]"
        count += 1
    }

    mutating func add(_ value: Int64) {
        if !firstInRow { text += "," }
        firstInRow = false
        text += String(value)
    }

    mutating func add(_ value: Int) { add(Int64(value)) }

    /// The finished array.
    var json: String { text + "]" }

    /// A JSON array of integers, for `id IN (SELECT value FROM json_each(?))`.
    static func ids<S: Sequence>(_ ids: S) -> String where S.Element == Int64 {
        var text = "["
        var first = true
        for id in ids {
            if !first { text += "," }
            first = false
            text += String(id)
        }
        return text + "]"
    }
}
