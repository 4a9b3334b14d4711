import Foundation
import PatchbayStore
import Testing

/// The rules both backends take from PatchbayModel, on their own: the conformance suites show the
/// backends agree; these show what the shared pieces decide where a backend's data rarely reaches.
@Suite("Model rules shared by the backends")
struct ModelRulesTests {
    @Test("merged candidates: newest first, an id in both lists once, cut at the count")
    func mergedCandidates() {
        #expect(EventPaging.merged([9, 7, 4], [8, 7, 2], count: 10) == [9, 8, 7, 4, 2])
        #expect(EventPaging.merged([9, 7, 4], [8, 7, 2], count: 3) == [9, 8, 7])
        #expect(EventPaging.merged([], [5, 3], count: 1) == [5, 3], "one side empty: the other as read")
    }

    @Test("a driven page asks for growing chunks and stops at its deadline with a cursor")
    func drivenPaging() {
        let log = Array((1...100).reversed()).map(Int64.init)
        var asked: [Int] = []
        // Only even ids pass the other filters.
        let page = EventPaging.driven(before: nil, limit: 30, deadline: nil, id: { $0 }) { below, count in
            asked.append(count)
            return Array(log.filter { $0 < below }.prefix(count))
        } rows: { ids in
            ids.filter { $0 % 2 == 0 }
        }
        #expect(asked == [31, 124], "the page's size plus one, then four times that")
        #expect(page.rows.count == 30 && page.rows.first == 100 && page.next == 42 && !page.partial)

        let exhausted = EventPaging.driven(before: 20, limit: 30, deadline: .now - .seconds(1), id: { $0 }) { below, count in
            Array(log.filter { $0 < below }.prefix(count))
        } rows: { ids in
            ids.filter { $0 % 10 == 0 }
        }
        #expect(exhausted.rows == [10] && exhausted.next == nil && !exhausted.partial,
                "the candidates ran out before the deadline was looked at")

        let partial = EventPaging.driven(before: nil, limit: 5, deadline: .now - .seconds(1), id: { $0 }) { below, count in
            Array(log.filter { $0 < below }.prefix(count))
        } rows: { ids in
            ids.filter { $0 % 10 == 0 }
        }
        #expect(partial.rows == [100] && partial.next == 95 && partial.partial,
                "stopped after one chunk of six, the cursor at its last id")
    }

    @Test("a text search stops at its deadline between windows, with the cursor where it stopped")
    func searchedPaging() {
        let found = EventPaging.searched(lowest: 1, highest: 100, before: nil, limit: 10, window: 20,
                                         deadline: .now - .seconds(1), id: { $0 }) { upper, lower, _ in
            Array((lower..<upper).reversed()).filter { $0 % 50 == 0 }
        }
        #expect(found.rows == [100] && found.next == 81 && found.partial, "one window of 20, then the deadline")
        let whole = EventPaging.searched(lowest: 1, highest: 100, before: nil, limit: 10, window: 20,
                                         deadline: nil, id: { $0 }) { upper, lower, _ in
            Array((lower..<upper).reversed()).filter { $0 % 50 == 0 }
        }
        #expect(whole.rows == [100, 50] && whole.next == nil && !whole.partial)
    }

    @Test("the traffic builder: the window's first hour counts, the first of equal hours is the peak")
    func trafficBuilder() {
        let day: Int64 = 86_400_000
        let now = 10 * day + 5 * 3_600_000
        let connectors = [
            Connector(id: 1, name: "shop", module: "webhook", pattern: .event, system: "Shop", direction: .source,
                      paused: false, health: .healthy, createdAt: 0),
            Connector(id: 2, name: "erp", module: "http", pattern: .event, system: "ERP", direction: .sink,
                      paused: false, health: .healthy, createdAt: 0),
        ]
        var builder = TrafficSnapshot.Builder(now: now, days: 0, historyDays: 0, connectors: connectors)
        #expect(builder.windowDays == 1 && builder.historyDays == 1, "at least a day, and history covers the window")
        let first = (now - day) / 3_600_000  // the hour the window starts in
        builder.addHour(bucket: first - 1, connector: 1, received: 50, delivered: 0, failed: 0, dead: 0)
        builder.addHour(bucket: first, connector: 1, received: 7, delivered: 0, failed: 0, dead: 0)
        builder.addHour(bucket: first + 2, connector: 1, received: 7, delivered: 0, failed: 0, dead: 0)
        builder.addHour(bucket: first + 3, connector: 2, received: 0, delivered: 0, failed: 0, dead: 0)
        builder.addHour(bucket: first + 3, connector: 2, received: 9, delivered: 2, failed: 1, dead: 3)
        var sample = TrafficSnapshot.SinkSample(sink: 2)
        sample.add(source: 1, topic: "order", state: "delivered", waitMs: -5)
        sample.add(source: 1, topic: "order", state: "dead", waitMs: 10)
        builder.add(sample)
        let snapshot = builder.build()
        let shop = snapshot.traffic.first { $0.connector == 1 }!
        #expect(shop.windowReceived == 14, "the hour before the window is history only")
        #expect(shop.peakHourStart == first * 3_600_000 && shop.peakHourEvents == 7)
        #expect(shop.firstActivity == (first - 1) * 3_600_000)
        let erp = snapshot.traffic.first { $0.connector == 2 }!
        #expect(erp.peakHourEvents == 5, "a sink carries what it delivered or dead-lettered")
        #expect(snapshot.routes == [.init(source: 1, sink: 2, topic: "order", deliveries: 2, delivered: 1, failing: 1,
                                          sampled: false)])
        #expect(snapshot.latencies.first?.p50Ms == 0, "a negative wait counts as none")
        #expect(snapshot.historyDays == 1, "never more history than was asked for")
    }

    @Test("ingest: a key twice in a batch is the first's duplicate; a repeated signed body is a replay")
    func ingestBatch() throws {
        let at = Date(timeIntervalSince1970: 1_000_000)
        let guardian = ReplayGuard(digest: "abc", window: 600)
        let events = [
            NewEvent(topic: "t", sourceId: 1, idempotencyKey: "a", payload: "{}", receivedAt: at,
                     targets: [DeliveryTarget(connectorId: 2, maxAttempts: 3)], replayGuard: guardian),
            NewEvent(topic: "t", sourceId: 1, idempotencyKey: "a", payload: "{}", receivedAt: at, targets: []),
            NewEvent(topic: "t", sourceId: 1, idempotencyKey: "b", payload: "{}", receivedAt: at, targets: [],
                     replayGuard: guardian),
            NewEvent(topic: "t", sourceId: 1, idempotencyKey: "c", payload: "{}", receivedAt: at, targets: []),
        ]
        #expect(events[0].replayWindowStart == at.millis - 600_000)
        var looked: [Int] = []
        var batch = IngestBatch(events) { index in
            looked.append(index)
            return nil
        }
        #expect(looked == [0], "a body's second event in the batch is not looked up")
        #expect(batch.replays == [2: .sameAs(0)] && batch.fresh.map(\.idempotencyKey) == ["a", "a", "c"])
        batch.inserted([IngestBatch.SourceKey(source: 1, key: "a"): 10])
        #expect(batch.missing == [3])
        #expect(batch.deliveries.map { [$0.event, $0.connector, Int64($0.maxAttempts), $0.at] }
                == [[10, 2, 3, at.millis]])
        do {
            try batch.found(nil, at: 3)
            Issue.record("an event neither stored nor found must fail the batch")
        } catch {}
        try batch.found(4, at: 3)
        #expect(batch.results(deliveryIds: [10: [2: 77]]) == [.accepted(10, deliveries: [77]), .duplicate(10),
                                                                .duplicate(10), .duplicate(4)])
        #expect(throws: StoreError.self) { try NewEvent.checkConnectors(events, known: [1]) }
    }

    @Test("outcomes: a lost lease and a second outcome for one delivery change nothing")
    func outcomeBatch() {
        let now: Int64 = 1_000_000
        let start = Date(millis: now - 100)
        let lease = HeldLease(token: 5, attempts: 1, maxAttempts: 3, connector: 2, signature: "old")
        let outcomes = [
            DeliveryOutcome(deliveryId: 1, leaseToken: 5, result: .retry(at: start), startedAt: start, durationMs: 1,
                            error: "HTTP 500 for order 12", errorSignature: "HTTP 500 for order #"),
            DeliveryOutcome(deliveryId: 1, leaseToken: 5, result: .delivered, startedAt: start, durationMs: 1),
            DeliveryOutcome(deliveryId: 2, leaseToken: 6, result: .delivered, startedAt: start, durationMs: 1),
        ]
        let batch = OutcomeBatch(outcomes, held: [1: lease, 2: lease], now: now)
        #expect(batch.results == [.recorded(.retrying), .leaseLost, .leaseLost])
        #expect(batch.recorded.count == 1 && batch.recorded[0].nextAttemptAt == now, "due no earlier than now")
        #expect(batch.recorded[0].signature == "HTTP 500 for order #" && batch.failed == [2: "HTTP 500 for order 12"])
        #expect(batch.succeeded.isEmpty)

        let expired = ExpiredLease(owner: nil, expiredAt: 0, attempts: 3, maxAttempts: 3)
        #expect(expired.state == .dead && expired.reason.hasSuffix("; no attempt left"))
        #expect(expired.error.hasPrefix("lease held by unknown worker expired at 1970-01-01"))
    }

    @Test("retarget: each reason to stay is given once, in the order named")
    func retargetRules() throws {
        let target = try RetargetDestination(id: 9, name: "erp2", direction: "sink", orphaned: false, maxAttempts: nil)
        #expect(throws: StoreError.self) {
            try RetargetDestination(id: 9, name: "shop", direction: "source", orphaned: false, maxAttempts: nil)
        }
        #expect(throws: StoreError.self) {
            try RetargetDestination(id: 9, name: "old", direction: "sink", orphaned: true, maxAttempts: nil)
        }
        func candidate(_ id: DeliveryID, _ state: DeliveryState, connector: ConnectorID = 2, event: EventID,
                       existing: DeliveryID? = nil) -> RetargetCandidate {
            RetargetCandidate(delivery: OperatorDelivery(id: id, state: state, connector: connector, signature: nil),
                              event: event, existing: existing)
        }
        let found: [DeliveryID: RetargetCandidate] = [
            1: candidate(1, .dead, event: 100), 2: candidate(2, .inFlight, event: 101),
            3: candidate(3, .dead, connector: 9, event: 102), 4: candidate(4, .pending, event: 103, existing: 50),
            5: candidate(5, .retrying, event: 100),
        ]
        var result = OperatorResult()
        var taken = Set<EventID>()
        let moving = result.retargetable([1, 2, 3, 4, 5, 6], found: found, to: target, eventsTaken: &taken)
        #expect(moving.map(\.id) == [1])
        #expect(result.skipped.map(\.id) == [2, 3, 4, 5, 6])
        #expect(result.skipped[0].reason.hasPrefix("it is in_flight; a worker holds it"))
        #expect(result.skipped[4].reason == "no such delivery")
        #expect(target.transitionReason("renamed") == "to 'erp2' and requeued by operator: renamed")
    }

    @Test("aging: groups split into customers and currencies; a bad date is named")
    func agingReport() throws {
        #expect(throws: StoreError.self) { try AgingReportBuilder(asOf: "2026-13-01", basis: .due) }
        var report = try AgingReportBuilder(asOf: "2026-03-31", basis: .due)
        try report.add(currency: "EUR", customer: "Acme", date: "2026-03-31", open: 100, count: 1)
        try report.add(currency: "EUR", customer: "Acme", date: "2025-12-01", open: 50, count: 2)
        try report.add(currency: "EUR", customer: "Beta", date: "2026-03-01", open: 10, count: 1)
        try report.add(currency: "USD", customer: "Acme", date: "2026-03-30", open: -5, count: 1)
        let currencies = try report.build()
        #expect(currencies.map(\.currency) == ["EUR", "USD"])
        #expect(currencies[0].customers.map(\.customer) == ["Acme", "Beta"])
        #expect(currencies[0][.over90] == BucketTotal(amountMinor: 50, count: 2))
        #expect(currencies[0].customers[0].maxDaysPastDue == 120 && currencies[1].totalMinor == -5)
        #expect(throws: StoreError.self) {
            try report.add(currency: "USD", customer: "Zed", date: "someday", open: 1, count: 1)
        }
    }

    @Test("an import plan rewrites only what changed and closes what a snapshot no longer lists")
    func importPlan() {
        func input(_ id: String, open: Int64) -> InvoiceInput {
            InvoiceInput(externalId: id, number: id, kind: .invoice, customer: "Acme", currency: "eur",
                         issueDate: "2026-01-01", dueDate: "2026-02-01", totalMinor: 100, openMinor: open, line: 2)
        }
        func stored(_ rowId: Int64, _ id: String, open: Int64, status: InvoiceStatus?) -> StoredInvoice {
            StoredInvoice(id: rowId, externalId: id, number: id, kind: "invoice", customer: "Acme", currency: "EUR",
                          issueDate: "2026-01-01", dueDate: "2026-02-01", totalMinor: 100, openMinor: open,
                          status: status)
        }
        let existing = [stored(1, "A", open: 100, status: .open), stored(2, "B", open: 100, status: .open),
                        stored(3, "C", open: 0, status: .paid), stored(4, "D", open: 5, status: .open),
                        stored(5, "E", open: 100, status: nil)]
        let plan = InvoiceImportPlan([input("A", open: 100), input("B", open: 0), input("E", open: 100),
                                      input("N", open: 1)],
                                     stored: existing, snapshot: true)
        #expect(plan.writes == [.update(id: 2, input("B", open: 0)), .update(id: 5, input("E", open: 100)),
                                .insert(input("N", open: 1))])
        #expect(plan.closing == [4], "a settled invoice keeps its status")
        #expect(plan.summary == InvoiceImportSummary(runId: 0, inserted: 1, updated: 2, unchanged: 1, closed: 1,
                                                     rowsRead: 4))
        #expect(InvoiceImportPlan([], stored: existing, snapshot: false).closing.isEmpty)
    }

    @Test("orphans: per-state rows become one line a connector; dead alone is not unfinished")
    func orphanTally() {
        var tally = OrphanedConnector.Tally()
        tally.add(name: "a", direction: .sink, state: "dead", count: 4)
        tally.add(name: "b", direction: .sink, state: "pending", count: 3)
        tally.add(name: "b", direction: .sink, state: "discarded", count: 8)
        tally.add(name: "b", direction: .sink, state: "retrying", count: 9)
        #expect(tally.unfinished == [OrphanedConnector(name: "b", direction: .sink, pending: 3, retrying: 9)])
    }
}
