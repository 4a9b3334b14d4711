import Foundation
import PatchbayModel
import PostgresNIO

extension PostgresStore: QuotaLedger {
    /// One upsert: the row is created, or overwritten only by a reading observed no earlier than the
    /// stored one (nodes' answers may arrive out of order); concurrent upserts of one connector
    /// serialize on its row.
    public func recordQuota(_ quota: APIQuota) throws {
        _ = try write { session in
            try session.run("""
                INSERT INTO api_quotas(connector_id, day_remaining, day_limit, minute_remaining, app_minute_remaining,
                  observed_at) VALUES (\(quota.connector), \(quota.dayRemaining.map(Int64.init)),
                  \(quota.dayLimit.map(Int64.init)), \(quota.minuteRemaining.map(Int64.init)),
                  \(quota.appMinuteRemaining.map(Int64.init)), \(quota.observedAt))
                ON CONFLICT (connector_id) DO UPDATE SET day_remaining = excluded.day_remaining,
                  day_limit = excluded.day_limit, minute_remaining = excluded.minute_remaining,
                  app_minute_remaining = excluded.app_minute_remaining, observed_at = excluded.observed_at
                WHERE excluded.observed_at >= api_quotas.observed_at
                """)
        }
    }

    public func quotas() throws -> [APIQuota] {
        try read { session in
            try session.rows("""
                SELECT connector_id, day_remaining, day_limit, minute_remaining, app_minute_remaining, observed_at
                FROM api_quotas ORDER BY connector_id
                """).map { row in
                let (connector, day, limit, minute, appMinute, observed) =
                    try row.decode((Int64, Int64?, Int64?, Int64?, Int64?, Int64).self)
                return APIQuota(connector: connector, dayRemaining: day.map { Int($0) }, dayLimit: limit.map { Int($0) },
                                minuteRemaining: minute.map { Int($0) }, appMinuteRemaining: appMinute.map { Int($0) },
                                observedAt: observed)
            }
        }
    }
}
