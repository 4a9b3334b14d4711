import Foundation
import PatchbayPostgres
import PatchbayStore
import TestSupport
import Testing

/// One request a target received, as the accounting sees it.
struct Reception: Sendable, Equatable {
    /// The sender's message id, read from the body (nil when the body carried none).
    var messageId: String?
    var idempotencyKey: String?
    /// The target answered 2xx: it took the message (a repeat of an accepted message is a duplicate).
    var accepted: Bool

    init(messageId: String?, idempotencyKey: String?, accepted: Bool) {
        self.messageId = messageId
        self.idempotencyKey = idempotencyKey
        self.accepted = accepted
    }

    init(_ received: Received) {
        self.init(messageId: received.messageId, idempotencyKey: received.headers["idempotency-key"],
                  accepted: (200..<300).contains(received.status))
    }
}

/// What the senders, the store and the target say about the same messages, compared.
///
/// - lost: acknowledged to a sender, but not `delivered`, `dead` or `discarded` at the end (or not
///   stored at all, or `delivered` in the store while the target never accepted it);
/// - unexpected: accepted by the target but never acknowledged to any sender;
/// - duplicated: accepted by the target more than once; the extra acceptances (`repeats`) must stay
///   within `duplicateBound` (sink concurrency × crashes: only what was in flight may be repeated);
/// - every request for one message carries one Idempotency-Key, and no two messages share one.
struct AccountingReport: CustomStringConvertible {
    var acked = 0
    var storedEvents = 0
    /// Final delivery states of the acknowledged messages.
    var states: [DeliveryState: Int] = [:]
    /// Message id → why it counts as lost.
    var lost: [String: String] = [:]
    var unexpected: [String] = []
    /// Requests whose body had no message id.
    var unidentified = 0
    /// Message id → how many times the target accepted it (only those above one).
    var duplicated: [String: Int] = [:]
    var repeats: Int { duplicated.values.reduce(0) { $0 + $1 - 1 } }
    /// Every request the target received for these messages, refused ones included.
    var requests = 0
    var accepted = 0
    /// Message id → what is wrong with its idempotency keys.
    var keyProblems: [String: String] = [:]
    /// Acknowledged ids stored as more than one event.
    var storedTwice: [String] = []
    var duplicateBound = 0

    var problems: [String] {
        var out: [String] = []
        func sample<S: Sequence>(_ s: S) -> String where S.Element == String { s.sorted().prefix(10).joined(separator: ", ") }
        if !lost.isEmpty {
            out.append("\(lost.count) lost: " + lost.sorted { $0.key < $1.key }.prefix(10).map { "\($0.key) (\($0.value))" }.joined(separator: ", "))
        }
        if !unexpected.isEmpty { out.append("\(unexpected.count) delivered but never acknowledged: \(sample(unexpected))") }
        if unidentified > 0 { out.append("\(unidentified) requests without a message id") }
        if repeats > duplicateBound {
            out.append("\(repeats) repeats exceed the bound of \(duplicateBound): \(sample(duplicated.keys))")
        }
        if !keyProblems.isEmpty {
            out.append("\(keyProblems.count) with idempotency-key problems: " + keyProblems.sorted { $0.key < $1.key }.prefix(10).map { "\($0.key) (\($0.value))" }.joined(separator: ", "))
        }
        if !storedTwice.isEmpty { out.append("\(storedTwice.count) stored as more than one event: \(sample(storedTwice))") }
        return out
    }

    var isSound: Bool { problems.isEmpty }

    var description: String {
        let states = DeliveryState.allCases.compactMap { s in self.states[s].map { "\(s.rawValue)=\($0)" } }.joined(separator: " ")
        var text = "acked=\(acked) stored=\(storedEvents) [\(states)] requests=\(requests) accepted=\(accepted) " +
            "repeats=\(repeats) (bound \(duplicateBound)) lost=\(lost.count) unexpected=\(unexpected.count)"
        for problem in problems { text += "\n  ✗ " + problem }
        return text
    }
}

/// The reads the accounting makes, on either backend.
protocol AccountingReading {
    func connector(named name: String) throws -> Connector?
    func events(_ filter: EventFilter, limit: Int, before: EventID?, textBudget: TextSearchBudget) throws -> EventPage
    func deliveries(connector: ConnectorID) throws -> [Delivery]
}

extension Store: AccountingReading {}
extension PostgresStore: AccountingReading {}

enum Accounting {
    /// Compares the senders' acknowledged ids with the store (read-only) and the target's requests.
    ///
    /// `sink` is the sink connector whose deliveries the target received; every acknowledged message
    /// must have one delivery to it.
    static func check(acked: Set<String>, store: any AccountingReading, sink: String, received: [Reception],
                      duplicateBound: Int) throws -> AccountingReport {
        var report = AccountingReport()
        report.acked = acked.count
        report.duplicateBound = duplicateBound
        guard let sinkId = try store.connector(named: sink)?.id else {
            report.lost = Dictionary(uniqueKeysWithValues: acked.map { ($0, "no connector \(sink)") })
            return report
        }

        // The store: message id (the event's idempotency key) → events, and event → delivery to the sink.
        var eventsByKey: [String: [EventID]] = [:]
        var before: EventID?
        repeat {
            let page = try store.events(EventFilter(connectorId: sinkId), limit: 5000, before: before, textBudget: .standard)
            for summary in page.events { eventsByKey[summary.event.idempotencyKey, default: []].append(summary.event.id) }
            before = page.nextCursor
        } while before != nil
        report.storedEvents = eventsByKey.values.reduce(0) { $0 + $1.count }
        var deliveryByEvent: [EventID: Delivery] = [:]
        for delivery in try store.deliveries(connector: sinkId) { deliveryByEvent[delivery.eventId] = delivery }

        // The target.
        var receptions: [String: [Reception]] = [:]
        for reception in received {
            report.requests += 1
            if reception.accepted { report.accepted += 1 }
            guard let id = reception.messageId else {
                report.unidentified += 1
                continue
            }
            receptions[id, default: []].append(reception)
        }

        for id in acked {
            let events = eventsByKey[id] ?? []
            if events.count > 1 { report.storedTwice.append(id) }
            guard let event = events.first else {
                report.lost[id] = "acknowledged but not stored"
                continue
            }
            guard let delivery = deliveryByEvent[event] else {
                report.lost[id] = "stored without a delivery to \(sink)"
                continue
            }
            report.states[delivery.state, default: 0] += 1
            let acceptedCount = receptions[id]?.filter(\.accepted).count ?? 0
            switch delivery.state {
            case .delivered:
                if acceptedCount == 0 { report.lost[id] = "delivered in the store, never accepted by the target" }
            case .dead, .discarded:
                break
            case .pending, .retrying, .inFlight:
                report.lost[id] = "still \(delivery.state.rawValue) after \(delivery.attempts) attempts"
            }
        }

        var owners: [String: String] = [:]  // idempotency key → message id
        for (id, list) in receptions {
            let acceptedCount = list.filter(\.accepted).count
            if !acked.contains(id), acceptedCount > 0 { report.unexpected.append(id) }
            if acceptedCount > 1 { report.duplicated[id] = acceptedCount }
            let keys = Set(list.map { $0.idempotencyKey ?? "" })
            if keys.contains("") {
                report.keyProblems[id] = "a request without an Idempotency-Key"
            } else if keys.count > 1 {
                report.keyProblems[id] = "\(keys.count) different keys: \(keys.sorted().joined(separator: " "))"
            }
            for key in keys where !key.isEmpty {
                if let other = owners[key], other != id {
                    report.keyProblems[id] = "shares the key \(key) with \(other)"
                }
                owners[key] = id
            }
        }
        return report
    }
}

extension Proofs {
    /// The checker itself must be able to fail: a store and a target's log with one of each fault.
    @Suite("Accounting checker")
    struct AccountingCheckerTests {
        @Test("reports lost, unexpected, duplicated and re-keyed messages, and the duplicate bound")
        func catchesEveryKindOfFault() throws {
            let (store, directory) = try makeTestStore()
            defer { directory.remove() }
            let source = try store.saveConnector(ConnectorSpec(name: "events", module: "webhook", pattern: .event,
                                                               system: "GitHub", direction: .source))
            let sink = try store.saveConnector(ConnectorSpec(name: "sink", module: "http", pattern: .event,
                                                             system: "ERP", direction: .sink))
            let ids = ["m-ok", "m-twice", "m-pending", "m-rekeyed", "m-dead"]
            _ = try store.ingest(ids.map {
                NewEvent(topic: "order_created", sourceId: source.id, idempotencyKey: $0, payload: #"{"id":"\#($0)"}"#,
                         targets: [DeliveryTarget(connectorId: sink.id, maxAttempts: 3)])
            })
            // Deliver all but m-pending; m-dead fails for good.
            let claims = try store.claimDueDeliveries(connector: sink.id, limit: 10, lease: 60, owner: "test")
            #expect(claims.count == 5)
            var keyOf: [String: String] = [:]
            for claim in claims {
                let id = try #require((try JSONSerialization.jsonObject(with: Data(claim.payload.utf8)) as? [String: Any])?["id"] as? String)
                keyOf[id] = claim.idempotencyKey
                if id == "m-pending" { continue }
                let result: DeliveryOutcome.Result = id == "m-dead" ? .dead : .delivered
                _ = try store.record(DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken,
                                                     result: result, startedAt: Date(), durationMs: 1, statusCode: 200))
            }
            _ = try store.recoverExpiredLeases(now: Date().addingTimeInterval(120))  // m-pending: back to retrying
            let readOnly = try Store.open(at: store.path, mode: .readOnly)

            let received = [
                Reception(messageId: "m-ok", idempotencyKey: keyOf["m-ok"], accepted: true),
                Reception(messageId: "m-twice", idempotencyKey: keyOf["m-twice"], accepted: true),
                Reception(messageId: "m-twice", idempotencyKey: keyOf["m-twice"], accepted: true),
                Reception(messageId: "m-rekeyed", idempotencyKey: keyOf["m-rekeyed"], accepted: false),
                Reception(messageId: "m-rekeyed", idempotencyKey: "another-key", accepted: true),
                Reception(messageId: "m-dead", idempotencyKey: keyOf["m-dead"], accepted: false),
                Reception(messageId: "m-stray", idempotencyKey: "stray-key", accepted: true),
            ]
            let report = try Accounting.check(acked: Set(ids), store: readOnly, sink: "sink", received: received,
                                              duplicateBound: 1)
            #expect(Set(report.lost.keys) == ["m-pending"], "\(report)")
            #expect(report.unexpected == ["m-stray"])
            #expect(report.duplicated == ["m-twice": 2])
            #expect(report.repeats == 1)
            #expect(Set(report.keyProblems.keys) == ["m-rekeyed"])
            #expect(report.states[.delivered] == 3 && report.states[.dead] == 1 && report.states[.retrying] == 1)
            #expect(!report.isSound)
            #expect(!report.problems.contains { $0.contains("exceed the bound") })

            let strict = try Accounting.check(acked: Set(ids), store: readOnly, sink: "sink", received: received,
                                              duplicateBound: 0)
            #expect(strict.problems.contains { $0.contains("exceed the bound") })

            // Acknowledged but never stored is lost too; a clean log is sound.
            let clean = try Accounting.check(acked: ["m-ok", "m-never-stored"], store: readOnly, sink: "sink",
                                             received: [received[0]], duplicateBound: 0)
            #expect(clean.lost == ["m-never-stored": "acknowledged but not stored"])
            let sound = try Accounting.check(acked: ["m-ok", "m-dead"], store: readOnly, sink: "sink",
                                             received: [received[0], received[5]], duplicateBound: 0)
            #expect(sound.isSound, "\(sound)")
        }
    }
}
