import Foundation
import PatchbayDashboard
import PatchbayStore
import TerminalUI
import Testing

/// A seeded store with three alerts, stored through the hub's own ledger calls: a resolved one about
/// a sink, a firing one about a sink whose summary carries a target's error text with terminal
/// escapes, and a firing one about the whole hub.
func alertHarness() throws -> Harness {
    let harness = try Harness()
    let store = harness.store
    func at(_ minutesAgo: Double) -> Date { fixedNow.addingTimeInterval(-minutesAgo * 60) }
    let down = try store.fireAlert(AlertFinding(rule: "erp-down", kind: .connectorFailing, subject: "erp-sync",
                                                summary: "erp-sync failing for 12m", value: "12m", threshold: "10m"),
                                   now: at(180))
    try store.updateAlert(down.id, summary: "erp-sync failing for 12m", value: "12m", notified: true, now: at(180))
    try store.resolveAlert(down.id, summary: "erp-sync delivers again", now: at(120))
    let xero = try store.fireAlert(AlertFinding(
        rule: "xero-failures", kind: .failureRate, subject: "xero-invoices",
        summary: "xero-invoices failing 42% of 120 attempts (usual 2%): HTTP 400: \u{1B}[31mValidationException\u{7}",
        value: "42%", threshold: "3x"), now: at(25))
    try store.updateAlert(xero.id, summary: xero.summary, value: "42%", notified: true, now: at(25))
    try store.updateAlert(xero.id, summary: xero.summary, value: "44%", notified: true, now: at(10))
    let dead = try store.fireAlert(AlertFinding(rule: "dead-letters", kind: .deadLetters, subject: "*",
                                                summary: "12 dead deliveries across all connectors", value: "12",
                                                threshold: "0"), now: at(5))
    try store.updateAlert(dead.id, summary: dead.summary, value: "12", notified: true, now: at(5))
    harness.dashboard.reload()
    return harness
}

@Suite("alerts: the header counts the firing ones, view 9 lists them")
struct AlertScreenTests {
    @Test("the alerts view and the header with firing alerts match their snapshots at 120x40 and 80x24")
    func snapshots() throws {
        let harness = try alertHarness()
        expectSnapshot(harness.screen(80, 24), named: "overview-alerts-80x24")
        harness.press(.character("9"))
        expectSnapshot(harness.screen(120, 40), named: "alerts-120x40")
        expectSnapshot(harness.screen(80, 24), named: "alerts-80x24")
    }

    @Test("the header shows ALERTS and the firing count at 80 and 120 columns, whole; none when nothing fires")
    func header() throws {
        let harness = try alertHarness()
        for width in [80, 120] {
            let header = harness.screen(width, 24).lines()[0]
            #expect(header.contains("ALERTS 2"), "\(width) columns: \(header)")
            #expect(header.contains("1 failing"), "\(width) columns: \(header)")
            // A figure that does not fit is left out, never cut into a wrong number.
            #expect(header.contains("today 139") || !header.contains("today"), "\(width) columns: \(header)")
        }
        let quiet = try Harness()
        #expect(!quiet.screen(120, 40).lines()[0].lowercased().contains("alert"))
    }

    @Test("the header's count is read with the overview: a resolution lowers it on the next reload")
    func headerFollowsTheStore() throws {
        let harness = try alertHarness()
        let firing = try harness.store.firingAlerts()
        try harness.store.resolveAlert(firing[0].id, summary: "resolved", now: fixedNow)
        harness.dashboard.reload()
        #expect(harness.dashboard.state.overview?.alertsFiring == 1)
        #expect(harness.screen(120, 40).lines()[0].contains("ALERTS 1"))
    }

    @Test("rows list the firing alerts first, then the resolved, with fired and resolved ago and the notices sent")
    func rows() throws {
        let harness = try alertHarness()
        harness.press(.character("9"))
        #expect(harness.dashboard.state.screen == .alerts)
        let lines = harness.screen(120, 40).lines()
        let header = try #require(lines.firstIndex { $0.contains("STATE") && $0.contains("SUMMARY") })
        for column in ["RULE", "SUBJECT", "FIRED", "RESOLVED", "SENT"] { #expect(lines[header].contains(column)) }
        let body = lines[(header + 1)...(header + 3)].map { $0.split(separator: " ").map(String.init) }
        #expect(body.map { $0[1] } == ["firing", "firing", "resolved"])
        #expect(body.map { $0[2] } == ["dead-letters", "xero-failures", "erp-down"])
        // FIRED and RESOLVED ago, SENT: the resolved alert's first notice and its resolution.
        #expect(body[2][3] == "erp-sync" && body[2][4] == "3h" && body[2][5] == "2h" && body[2][6] == "2")
        #expect(body[1][4] == "25m" && body[1][5] == "-" && body[1][6] == "2")
    }

    @Test("a summary with a target's terminal escapes is drawn inert, in the table and the detail lines")
    func sanitized() throws {
        let harness = try alertHarness()
        harness.press(.character("9"), .character("j"))
        let text = harness.screen(120, 40).text
        #expect(!text.contains("\u{1B}") && !text.contains("\u{7}"))
        #expect(text.contains("HTTP 400: ^[[31mValidationException"))
    }

    @Test("/ filters the alerts as you type; s sorts by the focused column, again descending")
    func filterAndSort() throws {
        let harness = try alertHarness()
        harness.press(.character("9"), .character("/"))
        harness.type("xero")
        harness.press(.enter)
        let filtered = harness.screen(120, 40).text
        #expect(filtered.contains("xero-failures") && !filtered.contains("dead-letters") && !filtered.contains("erp-down"))
        #expect(filtered.contains("filter: xero"))
        harness.press(.character("/"), .escape)
        harness.press(.character("l"), .character("s"))  // RULE, ascending
        func rules() -> [String] {
            let lines = harness.screen(120, 40).lines()
            let header = lines.firstIndex { $0.contains("STATE") && $0.contains("SUMMARY") }!
            return lines[(header + 1)...(header + 3)].map { $0.split(separator: " ").map(String.init)[2] }
        }
        #expect(rules() == ["dead-letters", "erp-down", "xero-failures"])
        harness.press(.character("s"))
        #expect(rules() == ["xero-failures", "erp-down", "dead-letters"])
    }

    @Test("enter opens what an alert is about: a sink's failures, all failures for the whole hub")
    func enter() throws {
        let harness = try alertHarness()
        let xero = try #require(try harness.store.connectorStatuses().first { $0.connector.name == "xero-invoices" })
        harness.press(.character("9"), .character("j"), .enter)
        #expect(harness.dashboard.state.screen == .failed)
        #expect(harness.dashboard.state.failedConnector == xero.connector.id)
        #expect(!harness.dashboard.state.failedGrouped)
        harness.press(.escape)
        #expect(harness.dashboard.state.screen == .alerts)
        harness.press(.character("g"), .enter)
        #expect(harness.dashboard.state.screen == .failed && harness.dashboard.state.failedConnector == nil)
    }

    @Test(":alerts opens the view; its hints and ? help name the key")
    func keysAndHelp() throws {
        let harness = try alertHarness()
        harness.press(.character(":"))
        harness.type("alerts")
        harness.press(.enter)
        #expect(harness.dashboard.state.screen == .alerts)
        let screen = harness.screen(120, 40).text
        #expect(screen.contains("enter open subject") && screen.contains("1-9 views"))
        harness.press(.character("?"))
        let help = harness.screen(120, 40).text
        #expect(help.contains("Keys for Alerts"))
        #expect(help.contains("9 :alerts firing first, then resolved"))
        #expect(help.contains("aging, map, alerts"))
    }

    @Test("no alert row spills out of its area at 80x24, 120x40 and 61x16")
    func noSpill() throws {
        let harness = try alertHarness()
        harness.press(.character("9"))
        for (width, height) in [(80, 24), (120, 40), (61, 16)] {
            for line in harness.screen(width, height).lines() {
                #expect(line.reduce(0) { $0 + TextWidth.of($1) } == width)
            }
        }
    }
}
