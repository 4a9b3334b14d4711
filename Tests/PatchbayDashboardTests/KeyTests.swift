import Foundation
import PatchbayDashboard
import PatchbayStore
import TerminalUI
import Testing

@Suite("keys as state transitions, against a real store, without a terminal")
struct KeyTests {
    /// Opens the flat failed list showing only dead deliveries' rows, with the first dead one selected.
    func selectFirstDead(_ harness: Harness) throws -> FailedDelivery {
        harness.press(.character("3"), .character("v"))
        let rows = harness.dashboard.state.failures
        let index = try #require(rows.firstIndex { $0.state == .dead })
        harness.press(.character("g"))
        for _ in 0..<index { harness.press(.character("j")) }
        return rows[index]
    }

    func state(of id: DeliveryID, _ harness: Harness) throws -> DeliveryState? {
        let eventId = try #require(try harness.store.eventId(ofDelivery: id))
        return try harness.store.eventDetail(eventId)?.deliveries.first { $0.delivery.id == id }?.delivery.state
    }

    @Test("r on a selected dead delivery requeues it in the store and says so in the status line")
    func retrySelected() throws {
        let harness = try Harness()
        let dead = try selectFirstDead(harness)
        harness.press(.character("r"))
        #expect(try state(of: dead.id, harness) == .pending)
        let toast = try #require(harness.dashboard.state.toast)
        #expect(toast.message == "Requeued 1 delivery for \(dead.connector)")
        #expect(!toast.isError)
        #expect(harness.screen().text.contains("Requeued 1 delivery for \(dead.connector)"))
        // The list reloaded: the delivery is no longer failing.
        #expect(!harness.dashboard.state.failures.contains { $0.id == dead.id })
    }

    @Test("retrying the same delivery twice requeues it once; the second press reports why not")
    func retryTwice() throws {
        let harness = try Harness()
        let dead = try selectFirstDead(harness)
        harness.press(.character("r"))
        let transitions = try #require(try harness.store.eventDetail(dead.eventId)?.deliveries.first { $0.delivery.id == dead.id })
            .transitions.filter { $0.actor == .operator_ }
        #expect(transitions.count == 1)
        // Another dashboard still showing it presses r as well.
        let again = try harness.store.retry([dead.id])
        #expect(again.changed.isEmpty)
        #expect(again.skipped.first?.reason.contains("pending") == true)
    }

    @Test("space marks rows and r retries exactly the marked ones")
    func markAndRetry() throws {
        let harness = try Harness()
        harness.press(.character("3"), .character("v"), .character("g"))
        let rows = harness.dashboard.state.failures.filter { $0.state == .dead }
        #expect(rows.count >= 2)
        // Mark the first two rows of the list (space moves down).
        harness.press(.character(" "), .character(" "))
        let marked = harness.dashboard.state.list("failed.rows").marked
        #expect(marked.count == 2)
        harness.press(.character("r"))
        for id in marked { #expect(try state(of: id, harness) == .pending) }
        #expect(harness.dashboard.state.list("failed.rows").marked.isEmpty)
        #expect(harness.dashboard.state.toast?.message.hasPrefix("Requeued 2 deliveries") == true)
    }

    @Test("the failed list loads 200 rows, and a page more each time the selection reaches the end")
    func failedListPages() throws {
        let harness = try Harness(seed: false)
        let store = harness.store
        let source = try store.saveConnector(ConnectorSpec(name: "shop", module: "webhook", pattern: .event,
                                                           system: "Shopify", direction: .source), now: fixedNow).id
        let sink = try store.saveConnector(ConnectorSpec(name: "erp", module: "http", pattern: .hub,
                                                         system: "ERP", direction: .sink), now: fixedNow).id
        _ = try store.ingest((0..<450).map {
            NewEvent(topic: "order_created", sourceId: source, idempotencyKey: "k\($0)", payload: "{}",
                     receivedAt: fixedNow.addingTimeInterval(-3600), targets: [DeliveryTarget(connectorId: sink, maxAttempts: 3)])
        })
        let claims = try store.claimDueDeliveries(limit: 450, lease: 60, owner: "w", now: fixedNow.addingTimeInterval(-60))
        _ = try store.record(claims.map {
            DeliveryOutcome(deliveryId: $0.deliveryId, leaseToken: $0.leaseToken, result: .dead,
                            startedAt: fixedNow, durationMs: 5, statusCode: 400, error: "HTTP 400", errorSignature: "HTTP 400")
        }, now: fixedNow.addingTimeInterval(-30))
        harness.press(.character("3"), .character("v"))
        #expect(harness.dashboard.state.failures.count == 200)
        harness.press(.character("j"))
        #expect(harness.dashboard.state.failures.count == 200, "one row down loads nothing more")
        harness.press(.character("G"))
        #expect(harness.dashboard.state.failures.count == 400)
        #expect(harness.dashboard.state.list("failed.rows").selected == 199, "the selection stays where it was")
        harness.press(.character("G"))
        #expect(harness.dashboard.state.failures.count == 450)
        harness.press(.character("G"), .character("j"))
        #expect(harness.dashboard.state.failedLimit == 600, "the end of everything loads nothing more")
        // The next rows are the older ones, in order, each once.
        let ids = harness.dashboard.state.failures.map(\.id)
        #expect(Set(ids).count == 450)
    }

    @Test("R asks for confirmation stating how many; n changes nothing, y requeues them all")
    func retryAllConfirmed() throws {
        let harness = try Harness()
        harness.press(.character("3"), .character("v"))
        let before = try harness.store.failingCount(FailureFilter())
        #expect(before > 0)
        harness.press(.character("R"))
        let question = try #require(harness.dashboard.state.confirmation)
        #expect(question.message == "Retry \(before) failing deliveries across all connectors?")
        #expect(harness.screen().text.contains("y confirm"))
        harness.press(.character("x"), .enter)  // only y or n answer
        #expect(harness.dashboard.state.confirmation != nil)
        harness.press(.character("n"))
        #expect(try harness.store.failingCount(FailureFilter()) == before)
        harness.press(.character("R"), .character("y"))
        #expect(try harness.store.failingCount(FailureFilter()) == 0)
        #expect(harness.dashboard.state.toast?.message == "Requeued \(before) deliveries across all connectors")
    }

    @Test("r on an error group asks to retry that group only")
    func retryGroup() throws {
        let harness = try Harness()
        harness.press(.character("3"))
        let group = try #require(harness.dashboard.state.groups.first)
        harness.press(.character("g"), .character("r"))
        let question = try #require(harness.dashboard.state.confirmation)
        #expect(question.message.hasPrefix("Retry \(group.count) failing deliveries for \(group.connector)"))
        harness.press(.character("y"))
        let remaining = try harness.store.errorGroups().first { $0.id == group.id }
        #expect(remaining == nil)
    }

    @Test("d discards after confirmation; p pauses and resumes the selected connector")
    func discardAndPause() throws {
        let harness = try Harness()
        let dead = try selectFirstDead(harness)
        harness.press(.character("d"))
        #expect(harness.dashboard.state.confirmation?.message.contains("Discard delivery \(dead.id)") == true)
        harness.press(.character("y"))
        #expect(try state(of: dead.id, harness) == .discarded)

        harness.press(.character("2"), .character("g"))
        let first = try #require(harness.dashboard.state.connectorStatuses.first)
        harness.press(.character("p"))
        #expect(try harness.store.connector(named: first.connector.name)?.paused == true)
        #expect(harness.dashboard.state.toast?.message.hasPrefix("Paused \(first.connector.name)") == true)
        harness.press(.character("p"))
        #expect(try harness.store.connector(named: first.connector.name)?.paused == false)
    }

    @Test("read-only dashboards refuse actions with a clear message and change nothing")
    func readOnly() throws {
        let harness = try Harness(readOnly: true)
        let dead = try selectFirstDead(harness)
        harness.press(.character("r"))
        #expect(try state(of: dead.id, harness) == .dead)
        #expect(harness.dashboard.state.toast?.message.contains("Read-only") == true)
        #expect(harness.dashboard.state.toast?.isError == true)
    }

    @Test("enter on an event opens its detail with attempts and transitions; esc goes back")
    func drillIntoEvent() throws {
        let harness = try Harness()
        _ = try selectFirstDead(harness)
        harness.press(.enter)
        guard case .detail(let id) = harness.dashboard.state.screen else {
            Issue.record("not on the detail screen"); return
        }
        let text = harness.screen(120, 40).text
        #expect(text.contains("Event \(id)"))
        #expect(text.contains("#1 "))
        #expect(text.contains("pending → in_flight [worker]"))
        harness.press(.escape)
        #expect(harness.dashboard.state.screen == .failed)
    }

    @Test("/ filters the current list as you type; esc clears it")
    func filter() throws {
        let harness = try Harness()
        harness.press(.character("2"))
        let all = harness.dashboard.state.connectorStatuses.count
        harness.press(.character("/"))
        harness.type("xero")
        let text = harness.screen().text
        #expect(text.contains("filter: xero"))
        #expect(text.contains("xero-invoices"))
        #expect(!text.contains("crm-sync"))
        harness.press(.escape)
        #expect(harness.dashboard.state.list("connectors").filter.isEmpty)
        #expect(all > 1)
    }

    @Test(": commands: events with a topic, aging as of a date by invoice date, window, unknown command")
    func commands() throws {
        let harness = try Harness()
        harness.press(.character(":"))
        harness.type("events topic=order_created")
        harness.press(.enter)
        #expect(harness.dashboard.state.screen == .events)
        let events = try #require(harness.dashboard.state.eventPage?.events)
        #expect(!events.isEmpty)
        #expect(events.allSatisfy { $0.event.topic == "order_created" })

        harness.press(.character(":"))
        harness.type("aging 2026-11-30 by=invoice")
        harness.press(.enter)
        #expect(harness.dashboard.state.screen == .aging)
        #expect(harness.dashboard.state.agingAsOf == "2026-11-30")
        #expect(harness.dashboard.state.agingBasis == .invoice)
        #expect(harness.dashboard.state.agingReports.allSatisfy { $0.asOf == "2026-11-30" && $0.basis == .invoice })

        harness.press(.character(":"))
        harness.type("window 6h")
        harness.press(.enter)
        #expect(harness.dashboard.state.window == .sixHours)
        harness.press(.character("+"))
        #expect(harness.dashboard.state.window == .day)

        harness.press(.character(":"))
        harness.type("frobnicate")
        harness.press(.enter)
        #expect(harness.dashboard.state.toast?.isError == true)

        harness.press(.character(":"), .character("q"), .enter)
        #expect(harness.dashboard.shouldQuit)
    }

    @Test("s sorts by the focused column, then descending, then back to the loaded order")
    func sorting() throws {
        let harness = try Harness()
        harness.press(.character("2"), .character("l"), .character("l"))  // SYSTEM column
        harness.press(.character("s"))
        let list = harness.dashboard.state.list("connectors")
        #expect(list.sortColumn == 2 && !list.sortDescending)
        harness.press(.character("s"))
        #expect(harness.dashboard.state.list("connectors").sortDescending)
        harness.press(.character("s"))
        #expect(harness.dashboard.state.list("connectors").sortColumn == nil)
    }

    @Test("a payload full of escape sequences renders as visible text: no control reaches a cell")
    func hostilePayload() throws {
        let harness = try Harness(seed: false)
        let source = try harness.store.saveConnector(.init(name: "evil\u{1B}]0;pwned\u{07}", module: "webhook",
                                                           pattern: .event, system: "X", direction: .source))
        let sink = try harness.store.saveConnector(.init(name: "sink", module: "http", pattern: .event, system: "Y", direction: .sink))
        let hostile = "\u{1B}[2J\u{1B}[H\u{1B}]52;c;cHdu\u{07}\u{9B}31m\u{202E}gnp.exe\u{2028}x\u{0}\r\u{8}"
        let payload = #"{"note":"\#(hostile.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x9B || $0.value > 0x2000 ? String(format: "\\u%04x", $0.value) : String($0) }.joined())"}"#
        let result = try harness.store.ingest(NewEvent(topic: "x\u{1B}[31m", sourceId: source.id, idempotencyKey: "k",
                                                       payload: payload, receivedAt: fixedNow,
                                                       targets: [DeliveryTarget(connectorId: sink.id, maxAttempts: 3)]))
        harness.press(.character("5"))
        harness.dashboard.tick(now: fixedNow)
        harness.dashboard.reload()
        harness.press(.enter)
        #expect(harness.dashboard.state.screen == .detail(result.eventId))
        for screen in [harness.screen(120, 40), harness.screen(80, 24)] {
            for cell in screen.cells {
                #expect(!cell.symbol.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value)
                    || $0.value == 0x202E || $0.value == 0x2028 })
            }
        }
        #expect(harness.screen(120, 40).text.contains("^["))
    }
}

/// A text search reads the log for a bounded time per page (`TextSearchBudget`); a page that ran out
/// of time says how far back it searched and how to go on, instead of claiming nothing matches.
@Suite("Event history: a text search page cut short by its time budget")
struct PartialSearchPageTests {
    @Test func partialPagesSayWhereTheSearchStopped() throws {
        let harness = try Harness()
        harness.press(.character("5"))
        #expect(harness.dashboard.state.screen == .events)

        harness.dashboard.receive(.events(EventPage(events: [], nextCursor: 4_211, partial: true)))
        var lines = harness.screen(120, 40).lines()
        #expect(lines.contains { $0.contains("No match in the events after #4211 yet. PgDn searches older ones.") },
                "\(lines.joined(separator: "\n"))")
        #expect(lines[lines.count - 2].contains("searched back to event 4211: PgDn searches older"))
        #expect(!lines.contains { $0.contains("No events match.") })

        // PgDn on the empty partial page asks for the older events.
        harness.press(.pageDown)
        #expect(harness.dashboard.state.eventBefore == 4_211)

        // A complete page with nothing in it says so plainly.
        harness.dashboard.receive(.events(EventPage(events: [], nextCursor: nil, partial: false)))
        lines = harness.screen(120, 40).lines()
        #expect(lines.contains { $0.contains("No events match.") })
        #expect(!lines[lines.count - 2].contains("searched back"))
    }
}
