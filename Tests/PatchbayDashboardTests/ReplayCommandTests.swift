import Foundation
import PatchbayDashboard
import PatchbayStore
import TerminalUI
import Testing

/// Holds work instead of running it, so a test sees what runs on the loop and what is handed off.
final class HeldExecutor: WorkExecutor {
    weak var dashboard: Dashboard?
    var held: [@Sendable () -> DashboardMessage] = []

    func submit(_ work: @escaping @Sendable () -> DashboardMessage) { held.append(work) }

    func runAll() {
        while !held.isEmpty {
            let work = held.removeFirst()
            dashboard?.receive(work())
        }
    }
}

@Suite("`:replay to=…` from the event history: a dry run's counts in the question, then the replay")
struct ReplayCommandTests {
    /// Two sources (shop, crm), two sinks (xero, erp). Topic `order_created` from shop: E1 delivered to
    /// xero, E2 dead at xero, E3 pending for xero, E4 and E5 only to erp (new for xero). Also
    /// `customer_updated` from shop to xero (delivered) and `order_created` from crm to erp.
    struct Fixture {
        let harness: Harness
        let shop: ConnectorID
        let crm: ConnectorID
        let xero: ConnectorID
        let erp: ConnectorID
        var store: Store { harness.store }
    }

    func fixture(readOnly: Bool = false) throws -> Fixture {
        let harness = try Harness(readOnly: readOnly, seed: false)
        let store = harness.store
        func connector(_ name: String, _ direction: ConnectorDirection) throws -> ConnectorID {
            try store.saveConnector(ConnectorSpec(name: name, module: direction == .source ? "webhook" : "http",
                                                  pattern: .event, system: name, direction: direction), now: fixedNow).id
        }
        let shop = try connector("shop", .source)
        let crm = try connector("crm", .source)
        let xero = try connector("xero", .sink)
        let erp = try connector("erp", .sink)
        var key = 0
        func event(_ topic: String, from source: ConnectorID, to targets: [ConnectorID], minutesAgo: Double) -> NewEvent {
            key += 1
            return NewEvent(topic: topic, sourceId: source, idempotencyKey: "k\(key)", payload: #"{"n":\#(key)}"#,
                            receivedAt: fixedNow.addingTimeInterval(-minutesAgo * 60),
                            targets: targets.map { DeliveryTarget(connectorId: $0, maxAttempts: 3) })
        }
        // Finished ones first: claim them all, then record each outcome.
        let finished = try store.ingest([
            event("order_created", from: shop, to: [xero], minutesAgo: 50),       // E1 delivered
            event("order_created", from: shop, to: [xero], minutesAgo: 45),       // E2 dead
            event("customer_updated", from: shop, to: [xero], minutesAgo: 40),    // delivered
        ]).map(\.eventId)
        let claims = try store.claimDueDeliveries(limit: 10, lease: 60, owner: "w", now: fixedNow.addingTimeInterval(-30 * 60))
        #expect(claims.count == 3)
        _ = try store.record(claims.map { claim in
            let dead = claim.eventId == finished[1]
            return DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: dead ? .dead : .delivered,
                                   startedAt: fixedNow, durationMs: 5, statusCode: dead ? 400 : 200,
                                   error: dead ? "HTTP 400" : nil, errorSignature: dead ? "HTTP 400" : nil)
        }, now: fixedNow.addingTimeInterval(-29 * 60))
        _ = try store.ingest([
            event("order_created", from: shop, to: [xero], minutesAgo: 20),       // E3 pending
            event("order_created", from: shop, to: [erp], minutesAgo: 15),        // E4
            event("order_created", from: shop, to: [erp], minutesAgo: 10),        // E5
            event("order_created", from: crm, to: [erp], minutesAgo: 5),
        ])
        harness.dashboard.reload()
        return Fixture(harness: harness, shop: shop, crm: crm, xero: xero, erp: erp)
    }

    func command(_ text: String, _ harness: Harness) {
        harness.press(.character(":"))
        harness.type(text)
        harness.press(.enter)
    }

    func xeroStates(_ f: Fixture) throws -> [DeliveryState] {
        try f.store.deliveries(connector: f.xero).map(\.state)
    }

    @Test("the question states what the dry run counted, for the history's topic and source")
    func confirmationCounts() throws {
        let f = try fixture()
        command("events topic=order_created connector=shop", f.harness)
        #expect(f.harness.dashboard.state.screen == .events)
        command("replay to=xero", f.harness)
        let question = try #require(f.harness.dashboard.state.confirmation)
        #expect(question.title == "Replay")
        #expect(question.message == "Replay 4 events to xero? 2 sent again, 2 new, 1 already queued")
        #expect(question.action == .replay(ReplayFilter(topic: "order_created", sourceId: f.shop), to: "xero"))
        let screen = f.harness.screen().text
        #expect(screen.contains("Replay 4 events to xero? 2 sent again, 2 new, 1 already queued"))
        #expect(screen.contains("y confirm"))
        // A dry run wrote nothing.
        #expect(try xeroStates(f) == [.delivered, .dead, .delivered, .pending])
    }

    @Test("n cancels and changes nothing")
    func cancel() throws {
        let f = try fixture()
        command("events topic=order_created", f.harness)
        command("replay to=xero", f.harness)
        // Topic only: crm's order_created is new for xero as well.
        #expect(f.harness.dashboard.state.confirmation?.message == "Replay 5 events to xero? 2 sent again, 3 new, 1 already queued")
        let before = try f.store.deliveries(connector: f.xero)
        f.harness.press(.character("x"))
        #expect(f.harness.dashboard.state.confirmation != nil, "only y or n answer")
        f.harness.press(.character("n"))
        #expect(f.harness.dashboard.state.confirmation == nil)
        #expect(f.harness.dashboard.state.toast?.message == "Cancelled")
        #expect(try f.store.deliveries(connector: f.xero) == before)
    }

    @Test("y requeues the finished deliveries, creates the missing ones and leaves the waiting one")
    func confirmReplays() throws {
        let f = try fixture()
        command("events topic=order_created connector=shop", f.harness)
        command("replay to=xero", f.harness)
        let pendingBefore = try #require(try f.store.deliveries(connector: f.xero).first { $0.state == .pending })
        f.harness.press(.character("y"))
        #expect(f.harness.dashboard.state.confirmation == nil)
        let toast = try #require(f.harness.dashboard.state.toast)
        #expect(toast.message == "Replayed 4 events to xero: 2 sent again, 2 new, 1 already queued")
        #expect(!toast.isError)
        let after = try f.store.deliveries(connector: f.xero)
        // E1, E2 requeued with fresh attempts; customer_updated untouched; E3 as it was; E4, E5 new.
        #expect(after.map(\.state) == [.pending, .pending, .delivered, .pending, .pending, .pending])
        #expect(after[0].attempts == 0 && after[1].attempts == 0)
        #expect(after[3] == pendingBefore)
        // The new ones are for E4 and E5 (shop's), not crm's.
        let erp = try f.store.deliveries(connector: f.erp)
        #expect(after[4...].map(\.eventId) == erp.prefix(2).map(\.eventId))
        // The requeue is recorded as the dashboard's.
        let detail = try #require(try f.store.eventDetail(after[0].eventId))
        let reasons = detail.deliveries.flatMap(\.transitions).filter { $0.actor == .operator_ }.map(\.reason)
        #expect(reasons == ["replayed by operator: replayed from the dashboard"])
        // A second replay finds everything already queued.
        command("replay to=xero", f.harness)
        #expect(f.harness.dashboard.state.confirmation == nil)
        #expect(f.harness.dashboard.state.toast?.message == "Nothing to replay: 5 events already queued for xero")
    }

    @Test("the counts group thousands")
    func thousands() throws {
        let f = try fixture()
        _ = try f.store.ingest((0..<1_204).map {
            NewEvent(topic: "invoice_paid", sourceId: f.crm, idempotencyKey: "bulk\($0)", payload: "{}",
                     receivedAt: fixedNow.addingTimeInterval(-60), targets: [DeliveryTarget(connectorId: f.erp, maxAttempts: 3)])
        })
        command("events topic=invoice_paid", f.harness)
        command("replay to=xero", f.harness)
        #expect(f.harness.dashboard.state.confirmation?.message == "Replay 1,204 events to xero? 0 sent again, 1,204 new")
    }

    @Test("the dry run and the replay run through the executor, not on the loop")
    func offTheLoop() throws {
        let f = try fixture()
        let executor = HeldExecutor()
        let dashboard = Dashboard(reader: f.store, actor: f.store, executor: executor, databasePath: "/data/patchbay.sqlite",
                                  now: fixedNow)
        executor.dashboard = dashboard
        dashboard.reload()
        executor.runAll()
        func run(_ text: String) {
            dashboard.handle(.key(.character(":")))
            for c in text { dashboard.handle(.key(.character(c))) }
            dashboard.handle(.key(.enter))
        }
        run("events topic=order_created")
        executor.runAll()
        run("replay to=xero")
        #expect(dashboard.state.confirmation == nil, "the question waits for the dry run")
        #expect(executor.held.count == 1)
        executor.runAll()
        #expect(dashboard.state.confirmation?.message == "Replay 5 events to xero? 2 sent again, 3 new, 1 already queued")
        dashboard.handle(.key(.character("y")))
        #expect(try xeroStates(f) == [.delivered, .dead, .delivered, .pending], "nothing written on the loop")
        executor.runAll()
        #expect(try xeroStates(f).filter { $0 == .pending }.count == 6)
    }

    @Test("an unbounded history filter is refused with the store's message")
    func unbounded() throws {
        let f = try fixture()
        f.harness.press(.character("5"))
        #expect(f.harness.dashboard.state.eventFilter == EventFilter())
        command("replay to=xero", f.harness)
        #expect(f.harness.dashboard.state.confirmation == nil)
        let toast = try #require(f.harness.dashboard.state.toast)
        #expect(toast.isError)
        #expect(toast.message.hasPrefix("a replay needs at least one condition"))
        #expect(try xeroStates(f) == [.delivered, .dead, .delivered, .pending])
    }

    @Test("filters a replay cannot express are refused, saying which")
    func refusals() throws {
        let f = try fixture()
        command("events topic=order_created connector=erp", f.harness)
        command("replay to=xero", f.harness)
        #expect(f.harness.dashboard.state.confirmation == nil)
        #expect(f.harness.dashboard.state.toast?.message
            == "Cannot replay by a sink connector (the history shows connector=erp): a replay selects events by their source")
        #expect(f.harness.dashboard.state.toast?.isError == true)

        command("events topic=order_created state=dead", f.harness)
        command("replay to=xero", f.harness)
        #expect(f.harness.dashboard.state.confirmation == nil)
        #expect(f.harness.dashboard.state.toast?.message
            == "Cannot replay by delivery state (the history shows state=dead): clear it with :events, or use patchbay replay --state")

        command("events correlation=abc since=1h", f.harness)
        command("replay to=xero", f.harness)
        #expect(f.harness.dashboard.state.toast?.message
            == "Cannot replay by correlation id: a replay selects by topic, source connector, time and text")

        command("events topic=order_created", f.harness)
        command("replay xero", f.harness)
        #expect(f.harness.dashboard.state.toast?.message == ":replay takes to=CONNECTOR, the sink to send the history's events to")
        command("replay to=nope", f.harness)
        #expect(f.harness.dashboard.state.confirmation == nil)
        #expect(f.harness.dashboard.state.toast?.isError == true)
        #expect(f.harness.dashboard.state.toast?.message.contains("nope") == true)
        #expect(try xeroStates(f) == [.delivered, .dead, .delivered, .pending])
    }

    @Test("since and the history's search text carry over")
    func sinceAndText() throws {
        let f = try fixture()
        command("events topic=order_created since=12m", f.harness)
        command("replay to=xero", f.harness)
        let question = try #require(f.harness.dashboard.state.confirmation)
        #expect(question.message == "Replay 2 events to xero? 0 sent again, 2 new")
        #expect(question.action == .replay(ReplayFilter(topic: "order_created", since: fixedNow.addingTimeInterval(-12 * 60)),
                                           to: "xero"))
        f.harness.press(.character("n"))
        // `/` searches the history; the replay takes the same text (E2's payload is {"n":2}).
        command("events topic=order_created", f.harness)
        f.harness.press(.character("/"))
        f.harness.type(#""n":2}"#)
        f.harness.press(.enter)
        #expect(f.harness.dashboard.state.eventFilter.text == #""n":2}"#)
        command("replay to=xero", f.harness)
        #expect(f.harness.dashboard.state.confirmation?.action
            == .replay(ReplayFilter(topic: "order_created", text: #""n":2}"#), to: "xero"))
        #expect(f.harness.dashboard.state.confirmation?.message == "Replay 1 event to xero? 1 sent again, 0 new")
    }

    @Test("outside the event history, :replay says to open it first")
    func outsideHistory() throws {
        let f = try fixture()
        command("replay to=xero", f.harness)
        #expect(f.harness.dashboard.state.confirmation == nil)
        #expect(f.harness.dashboard.state.toast?.message
            == ":replay sends what the event history shows: open it first (5 or :events topic=… since=…)")
        #expect(f.harness.dashboard.state.toast?.isError == true)
    }

    @Test("a read-only dashboard refuses, as it does every write")
    func readOnly() throws {
        let f = try fixture(readOnly: true)
        command("events topic=order_created", f.harness)
        command("replay to=xero", f.harness)
        #expect(f.harness.dashboard.state.confirmation == nil)
        #expect(f.harness.dashboard.state.toast?.message == "Read-only: actions are disabled (opened with --read-only)")
        #expect(f.harness.dashboard.state.toast?.isError == true)
        #expect(try xeroStates(f) == [.delivered, .dead, .delivered, .pending])
    }

    @Test("the help overlay lists :replay")
    func help() throws {
        let f = try fixture()
        f.harness.press(.character("5"), .character("?"))
        #expect(f.harness.screen().text.contains(":replay to=CONNECTOR in the event history"))
    }
}
