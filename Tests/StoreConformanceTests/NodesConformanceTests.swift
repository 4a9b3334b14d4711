import Foundation
import PatchbayPostgres
import PatchbayStore
import Synchronization
import Testing

/// Several hub nodes (processes) on one database: claims never overlap, operator actions and
/// outcomes do not interleave, and what the roles promise holds whichever node asks.
@Suite("Conformance: several nodes on one database")
struct NodesConformanceTests {
    @Test("two nodes claiming at once take every due delivery exactly once", arguments: Backend.available)
    func concurrentClaims(backend: Backend) throws {
        let h = try backend.make()
        let events = (0..<300).map { h.event("E\($0)", to: [h.erp, h.mail]) }
        _ = try h.store.ingest(events)
        let nodes: [any ConformanceStore] = [h.store, try h.openAnother()]
        let claimed = Mutex<[Int: [DeliveryID]]>([:])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let store = nodes[worker % 2]
            var mine: [DeliveryID] = []
            do {
                while true {
                    let claims = try store.claimDueDeliveries(connector: nil, limit: 5, lease: 60, owner: "w\(worker)",
                                                              now: Harness.at(1))
                    if claims.isEmpty { break }
                    mine += claims.map(\.deliveryId)
                }
            } catch {
                failures.withLock { $0.append("worker \(worker): \(error)") }
            }
            claimed.withLock { $0[worker] = mine }
        }
        #expect(failures.withLock { $0 } == [])
        let all = claimed.withLock { $0.values.flatMap { $0 } }
        #expect(all.count == 600, "every delivery claimed once: \(all.count) claims")
        #expect(Set(all).count == all.count, "no delivery claimed twice")
        #expect(try h.countersAgree() == [])
    }

    @Test("an outcome recorded by one node while another retries by filter: each delivery ends in one state, counted once",
          arguments: Backend.available)
    func operatorBesideWorker(backend: Backend) throws {
        let h = try backend.make()
        for n in 0..<40 { try h.ingest("E\(n)", maxAttempts: 1) }
        let claims = try h.claim(limit: 40, at: 1)
        // Half fail (dead at once: one attempt), half are still in flight when the operator acts.
        _ = try h.store.record(claims.prefix(20).map { h.outcome($0, .dead, at: 2, error: "HTTP 400") }, now: Harness.at(2))
        let other = try h.openAnother()
        let results = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { side in
            do {
                if side == 0 {
                    let result = try other.retry(matching: FailureFilter(connectorId: h.erp, states: [.dead]), reason: "bulk",
                                                 now: Harness.at(3))
                    results.withLock { $0.append("retried \(result.changed.count)") }
                } else {
                    let recorded = try h.store.record(claims.suffix(20).map { h.outcome($0, .delivered, at: 3) }, now: Harness.at(3))
                    results.withLock { $0.append("recorded \(recorded.filter { $0 == .recorded(.delivered) }.count)") }
                }
            } catch {
                results.withLock { $0.append("error: \(error)") }
            }
        }
        #expect(Set(results.withLock { $0 }) == ["retried 20", "recorded 20"])
        let states = try h.store.deliveries(connector: h.erp).map(\.state)
        #expect(states.filter { $0 == .pending }.count == 20 && states.filter { $0 == .delivered }.count == 20)
        #expect(try h.countersAgree() == [])
    }
}

/// The limits a backend shared by several nodes holds in the database (PostgreSQL).
@Suite("Conformance: shared limits and the change feed")
struct SharedLimitsTests {
    static var sharedBackends: [Backend] { Backend.available.filter { $0 == .postgres } }

    @Test("a sink's concurrency holds over two nodes: in-flight deliveries never exceed it", arguments: sharedBackends)
    func concurrencyInTotal(backend: Backend) throws {
        let h = try backend.make()
        for n in 0..<10 { try h.ingest("E\(n)") }
        let limits = try #require(h.store as? any SharedDeliveryLimits)
        try limits.setDeliveryLimits(connector: h.erp, concurrency: 3, ratePerSecond: nil, burst: nil)
        let other = try h.openAnother()
        let a = try h.claim(limit: 10, at: 1, owner: "node-a")
        #expect(a.count == 3, "node a takes what the limit allows")
        #expect(try other.claimDueDeliveries(connector: h.erp, limit: 10, lease: 30, owner: "node-b", now: Harness.at(1)).isEmpty,
                "node b gets nothing while three are in flight")
        _ = try h.store.record([h.outcome(a[0], .delivered, at: 2)], now: Harness.at(2))
        let b = try other.claimDueDeliveries(connector: h.erp, limit: 10, lease: 30, owner: "node-b", now: Harness.at(2))
        #expect(b.count == 1, "one slot freed, one taken")
        // An expired lease still counts until it is recovered; then its slot is free again.
        _ = try h.store.recoverExpiredLeases(now: Harness.at(40), limit: 100)
        #expect(try other.claimDueDeliveries(connector: h.erp, limit: 10, lease: 30, owner: "node-b", now: Harness.at(40)).count == 3)
        #expect(try h.countersAgree() == [])
    }

    @Test("a sink's rate holds over two nodes: one token bucket, refilled with time", arguments: sharedBackends)
    func rateInTotal(backend: Backend) throws {
        let h = try backend.make()
        for n in 0..<20 { try h.ingest("E\(n)") }
        let limits = try #require(h.store as? any SharedDeliveryLimits)
        try limits.setDeliveryLimits(connector: h.erp, concurrency: 100, ratePerSecond: 2, burst: 4)
        let other = try h.openAnother()
        #expect(try h.claim(limit: 10, at: 1, owner: "node-a").count == 4, "the burst")
        #expect(try other.claimDueDeliveries(connector: h.erp, limit: 10, lease: 30, owner: "node-b", now: Harness.at(1)).isEmpty)
        // Two seconds at two a second: four tokens, shared.
        #expect(try other.claimDueDeliveries(connector: h.erp, limit: 3, lease: 30, owner: "node-b", now: Harness.at(3)).count == 3)
        #expect(try h.claim(limit: 10, at: 3, owner: "node-a").count == 1)
    }

    @Test("another node's ingest reaches this node's change feed as due work for its connectors", arguments: sharedBackends)
    func changeFeed(backend: Backend) async throws {
        let h = try backend.make()
        let feed = try #require(h.store as? any ChangeFeed)
        let seen = Mutex<[StoreChange]>([])
        let subscription = try feed.watchChanges { change in seen.withLock { $0.append(change) } }
        defer { subscription.cancel() }
        let other = try h.openAnother()
        _ = try other.ingest([h.event("A", to: [h.erp, h.mail])])
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !seen.withLock({ $0.contains(.due([h.erp, h.mail])) }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(seen.withLock { $0 }.contains(.due([h.erp, h.mail])))
    }

    @Test("a batch job runs on one node at a time; when the holder's connection ends, another node takes the job",
          arguments: sharedBackends)
    func jobLocks(backend: Backend) throws {
        let h = try backend.make()
        let a = try #require(h.store as? any JobLocks)
        let b = try #require(try h.openAnother() as? any JobLocks)
        let held = try #require(try a.tryJobLock("qb-ar"))
        #expect(try b.tryJobLock("qb-ar") == nil, "held by node a")
        let other = try #require(try b.tryJobLock("xero-sync"), "another job is free")
        other.release()
        // Releasing is what a dead node's connection does too: the server lets go of the lock.
        held.release()
        let taken = try #require(try b.tryJobLock("qb-ar"), "node b takes the job once a lets go")
        #expect(try a.tryJobLock("qb-ar") == nil)
        taken.release()
    }

    @Test("every session commits durably: synchronous_commit and fsync are on", arguments: sharedBackends)
    func durableCommits(backend: Backend) throws {
        let h = try backend.make()
        let store = try #require(h.store as? PostgresStore)
        #expect(try store.durabilitySettings() == ["synchronous_commit": "on", "fsync": "on"])
    }
}
