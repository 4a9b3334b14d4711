import Foundation
import GRDB
import PatchbayHub
@testable import PatchbayStore
import TestSupport
import Testing

/// The event list as it was read before v3: one walk of the log newest first, testing each event.
/// The driven reads must return exactly what this returns, page for page.
private func legacyEventIds(_ store: Store, _ filter: EventFilter) throws -> [EventID] {
    try store.read { db in
        var clauses: [String] = []
        var arguments = StatementArguments()
        func add(_ clause: String, _ values: [any DatabaseValueConvertible]) {
            clauses.append(clause)
            _ = arguments.append(contentsOf: StatementArguments(values))
        }
        if let topic = filter.topic { add("e.topic = ?", [topic]) }
        if let connector = filter.connectorId {
            add("(e.source_id = ? OR EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id AND x.connector_id = ?))",
                [connector, connector])
        }
        if let state = filter.state {
            add("EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id AND x.state = ?)", [state])
        }
        if let since = filter.since { add("e.received_at >= ?", [since.millis]) }
        if let text = filter.text, !text.isEmpty {
            let pattern = "%" + text.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
            add("""
                (e.payload LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id
                  AND x.last_error LIKE ? ESCAPE '\\'))
                """, [pattern, pattern])
        }
        let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        return try EventID.fetchAll(db, sql: "SELECT e.id FROM events e \(whereSQL) ORDER BY e.id DESC",
                                    arguments: arguments)
    }
}

/// Every page of a filter, following `nextCursor` to the end.
private func pagedIds(_ store: Store, _ filter: EventFilter, limit: Int,
                      budget: TextSearchBudget = .standard) throws -> (ids: [EventID], pages: Int, partial: Int) {
    var ids: [EventID] = []
    var before: EventID?
    var pages = 0, partial = 0
    repeat {
        let page = try store.events(filter, limit: limit, before: before, textBudget: budget)
        #expect(page.events.count <= limit)
        if page.partial { partial += 1 } else if let next = page.nextCursor {
            #expect(next == page.events.last?.event.id)
        }
        ids += page.events.map(\.event.id)
        before = page.nextCursor
        pages += 1
    } while before != nil && pages < 10_000
    return (ids, pages, partial)
}

@Suite("Event list: driven from an index, the same events as a walk of the log")
struct EventListTests {
    private typealias T = DeliveryFixture

    /// The demo company's week, small: every connector, every flow, failures, retries and dead letters.
    private static func seededStore() throws -> (Store, TemporaryDirectory) {
        let (store, directory) = try makeTestStore()
        let now = Date(millis: 1_795_623_360_000)
        try Seeder(options: Seeder.Options(events: 1500, days: 2, seed: 7, now: now)).run(on: store)
        // An operator discards a few dead letters, and requeues one.
        let dead = try store.failedDeliveries(FailureFilter(states: [.dead]), limit: 12)
        _ = try store.discard(dead.prefix(8).map(\.id), now: now)
        _ = try store.retry(dead.suffix(1).map(\.id), now: now)
        return (store, directory)
    }

    @Test("on a seeded store, every connector and state filter pages through the same events as before")
    func drivenFiltersMatchTheWalk() throws {
        let (store, directory) = try Self.seededStore()
        defer { directory.remove() }
        let connectors = try store.connectors()
        var filters: [EventFilter] = connectors.map { EventFilter(connectorId: $0.id) }
        filters += DeliveryState.allCases.map { EventFilter(state: $0) }
        let erp = try #require(connectors.first { $0.name == "erp-sync" })
        let xero = try #require(connectors.first { $0.name == "xero-invoices" })
        filters += [
            EventFilter(connectorId: erp.id, state: .retrying),
            EventFilter(connectorId: xero.id, state: .dead),
            EventFilter(connectorId: erp.id, state: .delivered),
            EventFilter(topic: "order_created", state: .dead),
            EventFilter(topic: "contact_updated", connectorId: erp.id),
            EventFilter(state: .pending, text: "a"),
        ]
        var nonEmpty = 0
        for filter in filters {
            let expected = try legacyEventIds(store, filter)
            if !expected.isEmpty { nonEmpty += 1 }
            for limit in [1, 7, 200] where limit > 1 || expected.count < 300 {
                let paged = try pagedIds(store, filter, limit: limit)
                #expect(paged.ids == expected, "\(filter), limit \(limit)")
                #expect(paged.partial == 0)
            }
        }
        #expect(nonEmpty > 15)
    }

    @Test("a connector that only receives lists the events sent to it, newest first, across pages")
    func connectorThatOnlyReceives() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        var toMail: [EventID] = []
        for i in 0..<25 {
            let event = try f.ingest("e\(i)", at: Int64(i), to: i % 3 == 0 ? [f.erp, f.mail] : [f.erp]).event
            if i % 3 == 0 { toMail.append(event) }
        }
        let quiet = try f.store.saveConnector(ConnectorSpec(
            name: "quiet", module: "http", pattern: .hub, system: "Nobody", direction: .sink), now: T.t0).id
        for limit in [1, 2, 4, 9, 50] {
            let paged = try pagedIds(f.store, EventFilter(connectorId: f.mail), limit: limit)
            #expect(paged.ids == toMail.reversed(), "limit \(limit)")
            #expect(paged.pages == max(1, (toMail.count + limit - 1) / limit))
            let none = try f.store.events(EventFilter(connectorId: quiet), limit: limit)
            #expect(none.events.isEmpty && none.nextCursor == nil)
        }
        // A source that also receives: both its own events and those sent to it, once each.
        let both = try f.ingest("from-mail", at: 30, to: [f.erp], source: f.mail).event
        let sentToItself = try f.ingest("mail-to-mail", at: 31, to: [f.mail], source: f.mail).event
        let paged = try pagedIds(f.store, EventFilter(connectorId: f.mail), limit: 3)
        #expect(paged.ids == [sentToItself, both] + toMail.reversed())
    }

    @Test("events by state page by keyset across pages, for every state, and follow the deliveries as they move")
    func stateKeysetPaging() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        var events: [(event: EventID, deliveries: [DeliveryID])] = []
        for i in 0..<30 { events.append(try f.ingest("e\(i)", at: Int64(i), to: [f.erp, f.mail])) }
        // erp: every third delivery dead, every third retrying, the rest delivered; mail stays pending.
        for (i, event) in events.enumerated() {
            let claim = try f.claimOne(event.deliveries[0], at: 100 + Int64(i))
            switch i % 3 {
            case 0: try f.record(claim, .dead, at: 100 + Int64(i), status: 400, error: "HTTP 400", signature: "HTTP 400")
            case 1: try f.record(claim, .retry(at: T.at(10_000)), at: 100 + Int64(i), status: 503, error: "HTTP 503",
                                 signature: "HTTP 503")
            default: try f.record(claim, .delivered, at: 100 + Int64(i), status: 200)
            }
        }
        let dead = events.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        _ = try f.store.discard(dead.prefix(4).map { $0.deliveries[0] }, now: T.at(500))
        _ = try f.claim(at: 600, limit: 5, connector: f.mail)  // five mail deliveries in flight
        for state in DeliveryState.allCases {
            let expected = try legacyEventIds(f.store, EventFilter(state: state))
            for limit in [1, 2, 3, 4, 50] {
                let paged = try pagedIds(f.store, EventFilter(state: state), limit: limit)
                #expect(paged.ids == expected, "\(state), limit \(limit)")
            }
        }
        #expect(try legacyEventIds(f.store, EventFilter(state: .discarded)).count == 4)
        #expect(try legacyEventIds(f.store, EventFilter(state: .inFlight)).count == 5)
        // Requeued by an operator, a dead delivery leaves the dead list for pending.
        let requeued = dead[5].deliveries[0]
        _ = try f.store.retry([requeued], now: T.at(700))
        #expect(try !pagedIds(f.store, EventFilter(state: .dead), limit: 2).ids.contains(dead[5].event))
        #expect(try pagedIds(f.store, EventFilter(state: .pending), limit: 2).ids.contains(dead[5].event))
    }

    @Test("a text search that runs out of budget returns a partial page; paging on finds what LIKE finds")
    func textSearchWindows() throws {
        let (store, directory) = try Self.seededStore()
        defer { directory.remove() }
        for text in ["Hoffmann", "stock", "HTTP 5", "zz-not-there", "1"] {
            let expected = try legacyEventIds(store, EventFilter(text: text))
            // No time at all: every step reads one window of 97 ids, then hands back a cursor.
            let tight = try pagedIds(store, EventFilter(text: text), limit: 20,
                                     budget: TextSearchBudget(window: 97, seconds: 0))
            #expect(tight.ids == expected, "\(text)")
            if expected.count < 40 { #expect(tight.partial > 0, "\(text)") }  // rare: windows run out first
            let roomy = try pagedIds(store, EventFilter(text: text), limit: 20)
            #expect(roomy.ids == expected, "\(text)")
            #expect(roomy.partial == 0)
            // With a driving filter too.
            let dead = try legacyEventIds(store, EventFilter(state: .dead, text: text))
            let drivenTight = try pagedIds(store, EventFilter(state: .dead, text: text), limit: 3,
                                           budget: TextSearchBudget(window: 97, seconds: 0))
            #expect(drivenTight.ids == dead, "\(text), dead")
        }
    }

    @Test("an event page counts each event's deliveries by state")
    func pageStateCounts() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        let a = try f.ingest("a", at: 0, to: [f.erp, f.mail])
        let b = try f.ingest("b", at: 1, to: [])
        try f.fail(a.deliveries[0], at: 5, dead: true)
        for filter in [EventFilter(), EventFilter(state: .dead), EventFilter(connectorId: f.erp)] {
            let page = try f.store.events(filter)
            let summary = try #require(page.events.first { $0.event.id == a.event })
            #expect(summary.deliveryStates == [.dead: 1, .pending: 1], "\(filter)")
            #expect(summary.source == "shop")
        }
        #expect(try f.store.events().events.first { $0.event.id == b.event }?.deliveryStates == [:])
    }
}
