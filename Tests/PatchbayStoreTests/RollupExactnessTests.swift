import Foundation
import GRDB
import PatchbayHub
@testable import PatchbayStore
import TestSupport
import Testing

/// Since migration v4 the store's batch writes keep the dashboard's counters themselves
/// (`RollupDelta`) instead of row triggers. These tests run every write path, in scripted and in
/// random orders, and recount every counter from the rows after each step.
@Suite("Counters equal a recount of the rows after every write path")
struct RollupExactnessTests {
    private typealias T = DeliveryFixture
    private static let everything = Date(millis: 0)

    private func expectExact(_ store: Store, _ label: String, since: Date = everything,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let wrong = try store.rollupDifferences(since: since)
        #expect(wrong.isEmpty, "\(label): \(wrong.joined(separator: "; "))", sourceLocation: sourceLocation)
    }

    @Test("a seeded history, then operators, lease expiry, duplicates and pruning")
    func scriptedPaths() throws {
        let (store, directory) = try makeTestStore()
        defer { directory.remove() }
        let now = Date(millis: 1_795_623_360_000)
        try Seeder(options: Seeder.Options(events: 800, days: 2, seed: 5, now: now)).run(on: store)
        try expectExact(store, "seeded")
        #expect(try !store.errorGroups(limit: 100).isEmpty, "the seed has failures to count")

        let groups = try store.errorGroups(limit: 100)
        _ = try store.retry(matching: FailureFilter(errorGroupId: groups[0].id), now: now)
        try expectExact(store, "retry(matching:) of a group")
        let dead = try store.failedDeliveries(FailureFilter(states: [.dead]), limit: 40)
        _ = try store.discard(dead.prefix(10).map(\.id) + [999_999_999], now: now)
        try expectExact(store, "discard, one id missing")
        _ = try store.retry(dead.prefix(15).map(\.id) + dead.suffix(3).map(\.id) + [999_999_998], now: now)
        try expectExact(store, "retry by id: discarded, dead, missing")

        // Claim everything due, let the leases expire, recover them.
        let later = now.addingTimeInterval(600)
        let claims = try store.claimDueDeliveries(limit: 300, lease: 30, owner: "test", now: later)
        #expect(!claims.isEmpty)
        try expectExact(store, "claimed")
        _ = try store.recoverExpiredLeases(now: later.addingTimeInterval(60))
        try expectExact(store, "leases recovered")

        // Claim again; record a mix of outcomes, some with stale tokens.
        let again = try store.claimDueDeliveries(limit: 300, lease: 30, owner: "test", now: later.addingTimeInterval(61))
        let at = later.addingTimeInterval(62)
        let outcomes = again.enumerated().map { index, claim -> DeliveryOutcome in
            switch index % 4 {
            case 0: return DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: .delivered,
                                           startedAt: at, durationMs: 10, statusCode: 201)
            case 1: return DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken,
                                           result: .retry(at: at.addingTimeInterval(30)), startedAt: at, durationMs: 10,
                                           statusCode: 503, error: "HTTP 503 #\(index)", errorSignature: "HTTP 503 #N")
            case 2: return DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: .dead,
                                           startedAt: at, durationMs: 10, statusCode: 400, error: "HTTP 400 bad",
                                           errorSignature: "HTTP 400 bad")
            default: return DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken &+ 1,
                                            result: .delivered, startedAt: at, durationMs: 10)
            }
        }
        _ = try store.record(outcomes, now: at)
        try expectExact(store, "outcomes recorded")

        // A batch with repeats of its own keys and of keys already stored.
        let source = try #require(try store.connectors().first { $0.direction == .source }).id
        let sinks = try store.connectors().filter { $0.direction == .sink }.map(\.id)
        func event(_ key: String) -> NewEvent {
            NewEvent(topic: "order_created", sourceId: source, idempotencyKey: key, payload: #"{"k":"\#(key)"}"#,
                     receivedAt: at, targets: sinks.prefix(2).map { DeliveryTarget(connectorId: $0, maxAttempts: 3) })
        }
        let first = try store.ingest([event("dup-a"), event("dup-b"), event("dup-a")])
        let second = try store.ingest([event("dup-b"), event("dup-c")])
        #expect(first[2] == .duplicate(first[0].eventId))
        #expect(second[0] == .duplicate(first[1].eventId))
        try expectExact(store, "ingest with repeats")

        // Pruning deletes rows but keeps every counter: the per-minute and per-hour rows do not
        // change, and the per-state and per-group counts still equal a recount of what is left.
        func throughput() throws -> [[Int64]] {
            try store.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT 0, bucket, connector_id, received, delivered, failed, retried, dead FROM throughput_minute
                    UNION ALL
                    SELECT 1, bucket, connector_id, received, delivered, failed, retried, dead FROM throughput_hour
                    ORDER BY 1, 2, 3
                    """).map { row in (0..<8).map { row[$0] as Int64 } }
            }
        }
        let before = try throughput()
        #expect(try store.prune(receivedBefore: now.addingTimeInterval(-86_400)) > 0)
        #expect(try throughput() == before, "pruning changed the throughput counters")
        let wrong = try store.rollupDifferences(since: Self.everything).filter {
            $0.hasPrefix("deliveries per connector") || $0.hasPrefix("retrying and dead")
        }
        #expect(wrong.isEmpty, "pruned: \(wrong)")
    }

    @Test("random operations on a small queue, checked after each", arguments: [1, 2, 3] as [UInt64])
    func randomPaths(seed: UInt64) throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        var random = SeededRandom(seed: seed)
        var clock: Int64 = 0
        var held: [Claim] = []
        var key = 0
        for step in 0..<160 {
            clock += Int64(random.below(40))
            let now = T.at(clock)
            switch random.below(7) {
            case 0, 1:
                let events = (0..<(1 + random.below(5))).map { _ -> NewEvent in
                    key += 1
                    // Some keys repeat an earlier one: duplicates, in the same batch or across batches.
                    let reused = key > 3 && random.below(5) == 0 ? key - 1 - random.below(3) : key
                    let targets = random.below(3) == 0 ? [f.erp, f.mail] : [random.below(2) == 0 ? f.erp : f.mail]
                    return f.newEvent("k\(reused)", at: clock, to: targets, maxAttempts: 1 + random.below(3))
                }
                _ = try f.store.ingest(events)
            case 2:
                let connector = random.below(3) == 0 ? f.mail : nil
                held += try f.store.claimDueDeliveries(connector: connector, limit: 1 + random.below(6),
                                                       lease: Double(5 + random.below(60)), owner: "w\(seed)", now: now)
            case 3:
                guard !held.isEmpty else { continue }
                held.shuffle(using: &random)
                let taken = held.prefix(1 + random.below(held.count))
                let outcomes = taken.map { claim -> DeliveryOutcome in
                    let signature = ["HTTP 503", "HTTP 429", "timeout"][random.below(3)]
                    switch random.below(4) {
                    case 0: return DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken,
                                                   result: .delivered, startedAt: now, durationMs: 5, statusCode: 200)
                    case 1: return DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken,
                                                   result: .dead, startedAt: now, durationMs: 5, statusCode: 422,
                                                   error: "\(signature) dead", errorSignature: signature)
                    default: return DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken,
                                                    result: .retry(at: T.at(clock + Int64(random.below(30)))),
                                                    startedAt: now, durationMs: 5, statusCode: 503,
                                                    error: "\(signature) at step \(step)", errorSignature: signature)
                    }
                }
                held.removeFirst(taken.count)
                _ = try f.store.record(outcomes, now: now)
            case 4:
                _ = try f.store.recoverExpiredLeases(now: now)
            case 5:
                let failing = try f.store.failedDeliveries(FailureFilter(), limit: 50).map(\.id)
                if random.below(2) == 0 {
                    _ = try f.store.retry(failing.filter { _ in random.below(2) == 0 } + [DeliveryID(random.below(400))], now: now)
                } else {
                    _ = try f.store.retry(matching: FailureFilter(states: random.below(2) == 0 ? [.dead] : []), now: now)
                }
            default:
                let ids = (0..<4).map { _ in DeliveryID(1 + random.below(300)) }
                _ = try f.store.discard(ids, now: now)
            }
            try expectExact(f.store, "seed \(seed), step \(step)")
        }
        #expect(key > 20, "the run ingested events")
    }
}

extension SeededRandom {
    /// Uniform in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }
}

@Suite("Upgrading a v3 database to batched counters")
struct BatchedRollupsMigrationTests {
    @Test("counters written by the v3 triggers carry over, quarters are filled from minutes, and writes go on exact")
    func upgradeFromV3() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("v3.sqlite")
        let t0: Int64 = 1_795_003_200_000
        // A database as v3 left it: the rows written by SQL, the counters by v3's triggers.
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: "v3-dashboard-reads")
            try queue.write { db in
                try db.execute(sql: "PRAGMA application_id = \(Schema.applicationID)")
                try db.execute(sql: "INSERT INTO settings(key, value) VALUES ('home_currency', 'EUR')")
                try db.execute(sql: """
                    INSERT INTO connectors(id, name, module, pattern, system, direction, created_at) VALUES
                      (1, 'shop', 'shopify-webhook', 'event', 'Shopify', 'source', \(t0)),
                      (2, 'erp', 'xero-invoices', 'point_to_point', 'Xero', 'sink', \(t0))
                    """)
                for i in 0..<40 {
                    let at = t0 + Int64(i) * 97_000
                    try db.execute(sql: """
                        INSERT INTO events(id, topic, source_id, received_at, idempotency_key, payload, payload_hash)
                        VALUES (?, 'order_created', 1, ?, ?, '{}', 'h')
                        """, arguments: [i + 1, at, "k\(i)"])
                    try db.execute(sql: """
                        INSERT INTO deliveries(id, event_id, connector_id, state, max_attempts, next_attempt_at,
                                               created_at, updated_at)
                        VALUES (?, ?, 2, 'pending', 5, ?, ?, ?)
                        """, arguments: [i + 1, i + 1, at, at, at])
                    let done = at + 5_000
                    try db.execute(sql: """
                        UPDATE deliveries SET state = 'in_flight', attempts = 1, lease_token = 1, lease_expires_at = ?,
                          next_attempt_at = NULL, updated_at = ? WHERE id = ?
                        """, arguments: [done + 60_000, at + 1_000, i + 1])
                    try db.execute(sql: """
                        INSERT INTO transitions(delivery_id, at, from_state, to_state, actor) VALUES (?, ?, 'pending', 'in_flight', 'worker')
                        """, arguments: [i + 1, at + 1_000])
                    let failed = i % 5 == 0
                    try db.execute(sql: """
                        UPDATE deliveries SET state = ?, lease_token = NULL, lease_expires_at = NULL,
                          next_attempt_at = ?, last_error = ?, error_signature = ?, updated_at = ? WHERE id = ?
                        """, arguments: [failed ? "retrying" : "delivered", failed ? done + 30_000 : nil,
                                         failed ? "HTTP 503" : nil, failed ? "HTTP 503" : nil, done, i + 1])
                    try db.execute(sql: """
                        INSERT INTO transitions(delivery_id, at, from_state, to_state, actor) VALUES (?, ?, 'in_flight', ?, 'worker')
                        """, arguments: [i + 1, done, failed ? "retrying" : "delivered"])
                }
            }
        }

        let store = try Store.open(at: path)
        #expect(try store.appliedMigrations().contains("v4-batched-rollups"))
        #expect(try store.rollupDifferences(since: Date(millis: 0)).isEmpty)
        let quarters = try store.read { db in
            try Int.fetchOne(db, sql: "SELECT sum(received) FROM throughput_quarter") ?? 0
        }
        #expect(quarters == 40)
        #expect(try store.errorGroups(limit: 10).map(\.retrying) == [8])

        // The v3 triggers are gone, and the store's own writes keep the counters exact.
        let due = Date(millis: t0 + 3_600_000)
        let claims = try store.claimDueDeliveries(limit: 3, lease: 60, owner: "w", now: due)
        #expect(claims.count == 3)
        _ = try store.record(claims.map {
            DeliveryOutcome(deliveryId: $0.deliveryId, leaseToken: $0.leaseToken, result: .delivered, startedAt: due,
                            durationMs: 5, statusCode: 200)
        }, now: due)
        #expect(try store.rollupDifferences(since: Date(millis: 0)).isEmpty)
        #expect(try store.errorGroups(limit: 10).map(\.retrying) == [5])
    }
}
