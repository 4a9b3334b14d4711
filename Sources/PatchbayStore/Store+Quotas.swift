import Foundation
import GRDB

extension Store: QuotaLedger {
    /// One `BEGIN IMMEDIATE` upsert: the row is created, or overwritten only by a reading observed
    /// no earlier than the stored one (two nodes' answers may arrive out of order).
    public func recordQuota(_ quota: APIQuota) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO api_quotas(connector_id, day_remaining, day_limit, minute_remaining, app_minute_remaining,
                  observed_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(connector_id) DO UPDATE SET day_remaining = excluded.day_remaining,
                  day_limit = excluded.day_limit, minute_remaining = excluded.minute_remaining,
                  app_minute_remaining = excluded.app_minute_remaining, observed_at = excluded.observed_at
                WHERE excluded.observed_at >= api_quotas.observed_at
                """, arguments: [quota.connector, quota.dayRemaining, quota.dayLimit, quota.minuteRemaining,
                                 quota.appMinuteRemaining, quota.observedAt])
        }
    }

    public func quotas() throws -> [APIQuota] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT connector_id, day_remaining, day_limit, minute_remaining, app_minute_remaining, observed_at
                FROM api_quotas ORDER BY connector_id
                """).map { row in
                APIQuota(connector: row["connector_id"], dayRemaining: row["day_remaining"], dayLimit: row["day_limit"],
                         minuteRemaining: row["minute_remaining"], appMinuteRemaining: row["app_minute_remaining"],
                         observedAt: row["observed_at"])
            }
        }
    }
}
