import Foundation
import GRDB

extension Store: CircuitBreaking {
    public func tripBreaker(connector: ConnectorID, reason: String, now: Date) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE connectors SET paused = 1, paused_by = 'breaker', paused_reason = ?
                WHERE id = ? AND paused = 0
                """, arguments: [reason, connector])
            return db.changesCount > 0
        }
    }

    public func closeBreaker(connector: ConnectorID, now: Date) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE connectors SET paused = 0, paused_by = NULL, paused_reason = NULL
                WHERE id = ? AND paused = 1 AND paused_by = 'breaker'
                """, arguments: [connector])
            return db.changesCount > 0
        }
    }
}

extension Store: BatchRunRequests {
    public func requestBatchRun(job: String, now: Date) throws {
        try write { db in
            guard let pattern = try String.fetchOne(db, sql: "SELECT pattern FROM connectors WHERE name = ?",
                                                    arguments: [job]) else {
                throw StoreError.unknownConnector(job)
            }
            guard pattern == IntegrationPattern.batch.rawValue else {
                throw StoreError.invalidInput("'\(job)' is not a batch job; only batch jobs run on request")
            }
            try db.execute(sql: "UPDATE connectors SET run_requested_at = ? WHERE name = ?", arguments: [now.millis, job])
        }
    }

    public func batchRunRequest(job: String) throws -> Int64? {
        try read { db in
            try Int64.fetchOne(db, sql: "SELECT run_requested_at FROM connectors WHERE name = ?", arguments: [job])
        }
    }

    public func clearBatchRunRequest(job: String, upTo requestedAt: Int64) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE connectors SET run_requested_at = NULL WHERE name = ? AND run_requested_at <= ?
                """, arguments: [job, requestedAt])
        }
    }
}
