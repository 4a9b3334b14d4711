import Foundation
import PatchbayModel
import PostgresNIO

extension RollupDelta {
    /// Writes the sums, in the same transaction as the rows they count: one statement per counter
    /// table, each upserting its rows from arrays, in key order (every writer locks counter rows in
    /// the same order, so two nodes never deadlock on them).
    func apply(_ session: Session) throws {
        let counts = countChanges
        if !counts.isEmpty {
            try session.run("""
                INSERT INTO delivery_counts AS c(connector_id, state, n)
                SELECT * FROM unnest(\(counts.map(\.connector))::bigint[], \(counts.map(\.state.rawValue))::text[],
                                     \(counts.map { Int64($0.n) })::bigint[])
                ON CONFLICT (connector_id, state) DO UPDATE SET n = c.n + excluded.n
                """)
        }
        for granularity in Granularity.allCases {
            let flows = flowChanges(granularity)
            guard !flows.isEmpty else { continue }
            var binds = PostgresBindings(capacity: 7)
            binds.append(flows.map(\.bucket))
            binds.append(flows.map(\.connector))
            binds.append(flows.map { Int64($0.flow.received) })
            binds.append(flows.map { Int64($0.flow.delivered) })
            binds.append(flows.map { Int64($0.flow.failed) })
            binds.append(flows.map { Int64($0.flow.retried) })
            binds.append(flows.map { Int64($0.flow.dead) })
            try session.run(PostgresQuery(unsafeSQL: """
                INSERT INTO \(granularity.table) AS t(bucket, connector_id, received, delivered, failed, retried, dead)
                SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                                     $6::bigint[], $7::bigint[])
                ON CONFLICT (bucket, connector_id) DO UPDATE SET
                  received = t.received + excluded.received, delivered = t.delivered + excluded.delivered,
                  failed = t.failed + excluded.failed, retried = t.retried + excluded.retried,
                  dead = t.dead + excluded.dead
                """, binds: binds))
        }
        for (connector, signature, change) in groupChanges {
            if let entered = change.entered {
                try session.run("""
                    INSERT INTO error_groups AS g(connector_id, signature, sample_error, last_status,
                                                  retrying, dead, occurrences, first_seen, last_seen)
                    VALUES (\(connector), \(signature), \(entered.sample), \(entered.status), \(Int64(change.retrying)),
                            \(Int64(change.dead)), \(Int64(entered.occurrences)), \(entered.firstSeen), \(entered.lastSeen))
                    ON CONFLICT (connector_id, signature) DO UPDATE SET
                      retrying = g.retrying + excluded.retrying,
                      dead = g.dead + excluded.dead,
                      occurrences = g.occurrences + excluded.occurrences,
                      sample_error = excluded.sample_error,
                      last_status = excluded.last_status,
                      last_seen = greatest(g.last_seen, excluded.last_seen)
                    """)
            } else if change.retrying != 0 || change.dead != 0 {
                try session.run("""
                    UPDATE error_groups SET retrying = retrying + \(Int64(change.retrying)), dead = dead + \(Int64(change.dead))
                    WHERE connector_id = \(connector) AND signature = \(signature)
                    """)
            }
        }
    }
}
