import Foundation
@testable import PatchbayDashboard
import PatchbayInsights
import PatchbayStore
import TerminalUI
import Testing

@Suite("the map view: the drawing, the advisor and the integrations table")
struct MapViewTests {
    @Test("the map of nine systems matches its snapshots at 120x40 and 80x24")
    func nineSystemsSnapshots() throws {
        let harness = try MapHarness()
        harness.press(.character("8"))
        expectSnapshot(harness.screen(120, 40), named: "map-120x40")
        expectSnapshot(harness.screen(80, 24), named: "map-80x24")
    }

    @Test("fifteen systems stay legible at 120x40: every system is drawn, with its name whole")
    func fifteenSystems() throws {
        let harness = try MapHarness(MapFixtures.fifteenSystems, advice: MapFixtures.fifteenSystemsAdvice)
        harness.press(.character("8"))
        let screen = harness.screen(120, 40)
        expectSnapshot(screen, named: "map-15-systems-120x40")
        // The drawing is the panel above the table: names are looked for there only.
        let drawing = screen.lines().prefix(27).joined(separator: "\n")
        for node in MapFixtures.fifteenSystems.nodes where node.kind == .system {
            #expect(drawing.contains(node.id), "\(node.id) is not drawn")
        }
    }

    @Test("a tiny terminal asks for room; the drawing alone in a tiny area lists the integrations")
    func tiny() throws {
        let harness = try MapHarness()
        harness.press(.character("8"))
        let screen = harness.screen(20, 5)
        expectSnapshot(screen, named: "map-20x5")
        #expect(screen.text.contains("Terminal too"))

        var buffer = Buffer(width: 20, height: 5)
        IntegrationMapWidget(map: MapFixtures.nineSystems, selectedEdge: "storefront-events->shipping-labels", theme: .default)
            .render(in: Rect(x: 0, y: 0, width: 20, height: 5), into: &buffer)
        expectSnapshot(buffer, named: "map-widget-20x5")
        #expect(buffer.lines().contains { $0.hasPrefix("›Storefront ⇒ Shipp") }, "the selected integration is listed and marked")
        for size in [(0, 0), (1, 1), (3, 2), (20, 1)] {
            var small = Buffer(width: size.0, height: size.1)
            IntegrationMapWidget(map: MapFixtures.fifteenSystems, selectedEdge: nil, theme: .default)
                .render(in: Rect(x: 0, y: 0, width: size.0, height: size.1), into: &small)
        }
    }

    @Test("no cell of the map view holds a control character, even when names carry escape sequences")
    func noControlCharacters() throws {
        var hostile = MapFixtures.nineSystems
        hostile.edges[0].from = "Shop\u{1B}[2Jify"
        hostile.edges[0].sourceConnector = "evil\u{7}\u{9B}31m"
        hostile.nodes.append(.init(id: "Shop\u{1B}[2Jify", kind: .system, connectors: [], health: .failing, eventsPerDay: 1))
        var advice = MapFixtures.nineSystemsAdvice
        advice.installation.reason = "reason with \u{1B}]0;title\u{7} inside"
        let harness = try MapHarness(hostile, advice: advice)
        harness.press(.character("8"))
        for (width, height) in [(120, 40), (80, 24), (61, 16), (100, 30), (200, 60), (20, 5)] {
            for selection in 0..<3 {
                harness.dashboard.state.lists["map", default: ListState()].selected = selection
                let screen = harness.screen(width, height)
                for cell in screen.cells {
                    #expect(!cell.symbol.unicodeScalars.contains { $0.value < 0x20 || (0x7F..<0xA0).contains($0.value) },
                            "control character at \(width)x\(height)")
                }
                for line in screen.lines() {
                    #expect(line.reduce(0) { $0 + TextWidth.of($1) } == width, "a row spills at \(width)x\(height)")
                }
            }
        }
    }

    @Test("the advisor shows the installation's and the selected integration's recommendations with their reasons")
    func advisorReasons() throws {
        let harness = try MapHarness()
        harness.press(.character("8"))
        let text = harness.screen(120, 40).text
        #expect(text.contains("Installation"))
        #expect(text.contains("✓ keep hub-and-spoke"))
        #expect(text.contains("9 systems, 8 integrations, 12,454"))
        // A suggested change is listed whatever is selected, with its reason.
        #expect(text.contains("point-to-point → hub-and-spoke"))
        #expect(text.contains("Xero is wired directly and through"))
        // Select the storefront → Xero integration: its recommendation follows the selection.
        let index = try #require(MapFixtures.nineSystems.edges.firstIndex { $0.sinkConnector == "accounting-invoices" })
        harness.press(.character("g"))
        for _ in 0..<index { harness.press(.character("j")) }
        let selected = harness.screen(120, 40).text
        #expect(selected.contains("Selected · storefront-events →"))
        #expect(selected.contains("accounting-invoices"))
        #expect(selected.contains("✓ keep event-driven"))
        #expect(selected.contains("order_created reaches 3 targets"))
    }
}

@Suite("map view keys: opening, selecting an integration, jumping to its connector")
struct MapKeyTests {
    @Test("8 and :map open the map; its hints and help name its keys")
    func opening() throws {
        let harness = try MapHarness()
        harness.press(.character("8"))
        #expect(harness.dashboard.state.screen == .map)
        #expect(harness.screen().text.contains("j/k tab select integration  enter its connector"))
        harness.press(.character("1"), .character(":"))
        harness.type("map")
        harness.press(.enter)
        #expect(harness.dashboard.state.screen == .map)
        harness.press(.character("?"))
        let help = harness.screen().text
        #expect(help.contains("Keys for Integration map"))
        #expect(help.contains("overview, connectors, failed, retries, events, detail, aging, map, alerts"))
    }

    @Test("j/k, arrows and tab select an integration: the table row and the drawing follow")
    func selecting() throws {
        let harness = try MapHarness()
        harness.press(.character("8"))
        let edges = MapFixtures.nineSystems.edges
        #expect(harness.dashboard.selectedEdge()?.id == edges[0].id)
        harness.press(.character("j"), .down)
        #expect(harness.dashboard.selectedEdge()?.id == edges[2].id)
        harness.press(.character("k"))
        #expect(harness.dashboard.selectedEdge()?.id == edges[1].id)
        harness.press(.tab)
        #expect(harness.dashboard.selectedEdge()?.id == edges[2].id)
        harness.press(.character("G"), .tab)
        #expect(harness.dashboard.selectedEdge()?.id == edges[0].id, "tab goes round from the last to the first")
        harness.press(.backTab)
        #expect(harness.dashboard.selectedEdge()?.id == edges[edges.count - 1].id)
        // The selected integration is drawn heavy: its two systems' boxes and its spokes.
        let storefrontToShipping = try #require(edges.firstIndex { $0.sinkConnector == "shipping-labels" })
        harness.press(.character("g"))
        for _ in 0..<storefrontToShipping { harness.press(.character("j")) }
        let lines = harness.screen(120, 40).lines()
        let storefront = try #require(lines.first { $0.contains("Storefront") && $0.contains("┃") })
        #expect(storefront.contains("━━"), "the storefront's spoke is heavy: \(storefront)")
        let shipping = try #require(lines.first { $0.contains("Shipping") && $0.contains("┃") })
        #expect(shipping.contains("━━"), "the shipping spoke is heavy: \(shipping)")
        let inventory = try #require(lines.first { $0.contains("Inventory") && $0.contains("│") })
        #expect(!inventory.contains("━"), "an integration not selected stays light: \(inventory)")
    }

    @Test("enter on an integration opens the connectors view with its sink connector selected; esc comes back")
    func jumpToConnector() throws {
        let harness = try MapHarness()
        harness.press(.character("8"))
        let index = try #require(MapFixtures.nineSystems.edges.firstIndex { $0.sinkConnector == "erp-sync" })
        for _ in 0..<index { harness.press(.character("j")) }
        harness.press(.enter)
        #expect(harness.dashboard.state.screen == .connectors)
        let rows = try #require(harness.dashboard.currentRows())
        let selected = rows.rows[harness.dashboard.state.list("connectors").selected]
        #expect(selected[0].plainText == "erp-sync")
        #expect(harness.dashboard.state.focusConnector == nil)
        harness.press(.escape)
        #expect(harness.dashboard.state.screen == .map)
        #expect(harness.dashboard.selectedEdge()?.sinkConnector == "erp-sync", "the map keeps its selection")
    }

    @Test("an import the hub loads itself is a spoke into the hub, and enter on it opens its source connector")
    func importIntoHub() throws {
        let map = MapFixtures.map([
            MapFixtures.edge("ERP", IntegrationMap.hubID, via: false, "erp-stock-export", IntegrationMap.hubID, .batch,
                             perDay: 24, p50: nil, p95: nil),
            MapFixtures.edge("Gone", "Xero", via: false, "removed-source", "removed-sink", .pointToPoint,
                             perDay: 3, p50: 100, p95: 200),
        ])
        let harness = try MapHarness(map, advice: MapFixtures.fifteenSystemsAdvice)
        harness.press(.character("8"))
        let erp = try #require(harness.screen(120, 40).lines().first { $0.contains("ERP") && $0.contains("║") })
        #expect(erp.contains("24/d"), "the import is drawn as a spoke to the hub: \(erp)")
        #expect(harness.dashboard.selectedEdge()?.from == "ERP")
        harness.press(.enter)
        let rows = try #require(harness.dashboard.currentRows())
        #expect(rows.rows[harness.dashboard.state.list("connectors").selected][0].plainText == "erp-stock-export")
        // A connector the store no longer has: said so, and nothing stays pending.
        harness.press(.escape, .character("j"), .enter)
        #expect(harness.dashboard.state.toast?.message.contains("No connector named 'removed-sink'") == true)
        #expect(harness.dashboard.state.focusConnector == nil)
    }

    @Test("a connectors filter that would hide the connector is cleared by the jump")
    func jumpClearsHidingFilter() throws {
        let harness = try MapHarness()
        harness.press(.character("2"), .character("/"))
        harness.type("xero")
        harness.press(.enter, .character("8"))
        let index = try #require(MapFixtures.nineSystems.edges.firstIndex { $0.sinkConnector == "shipping-labels" })
        for _ in 0..<index { harness.press(.character("j")) }
        harness.press(.enter)
        let rows = try #require(harness.dashboard.currentRows())
        #expect(rows.rows[harness.dashboard.state.list("connectors").selected][0].plainText == "shipping-labels")
        #expect(harness.dashboard.state.list("connectors").filter.isEmpty)
    }

    @Test("the map is read when the view opens, on ctrl-r and after the slow refresh, not on every change")
    func slowRefresh() throws {
        let harness = try MapHarness()
        #expect(harness.reader.mapReads.withLock { $0 } == 0, "no other view reads the map")
        harness.press(.character("8"))
        #expect(harness.reader.mapReads.withLock { $0 } == 1)
        // The hub writes: the dashboard reloads, the map stays.
        harness.dashboard.reload()
        harness.dashboard.reload()
        harness.dashboard.tick(now: fixedNow.addingTimeInterval(61))
        #expect(harness.reader.mapReads.withLock { $0 } == 1)
        harness.press(.ctrl("r"))
        #expect(harness.reader.mapReads.withLock { $0 } == 2)
        harness.dashboard.tick(now: fixedNow.addingTimeInterval(61 + DashboardState.mapRefresh))
        #expect(harness.reader.mapReads.withLock { $0 } == 3)
        // Leaving and opening again reads it afresh.
        harness.press(.character("1"), .character("8"))
        #expect(harness.reader.mapReads.withLock { $0 } == 4)
    }
}

@Suite("the map view over a seeded store: the store's traffic read, the map built from it, the advice")
struct MapStoreTests {
    @Test("the seeded installation's systems and integrations are drawn, with advice, and enter reaches a real connector")
    func seededStore() throws {
        let harness = try Harness(events: 600, days: 7)
        harness.press(.character("8"))
        #expect(harness.dashboard.state.loadError == nil)
        let snapshot = try #require(harness.dashboard.state.mapSnapshot)
        #expect(!snapshot.map.edges.isEmpty)
        let screen = harness.screen(120, 40)
        if ProcessInfo.processInfo.environment["PATCHBAY_PRINT_MAP"] == "1" { print(screen.lines().joined(separator: "\n")) }
        let text = screen.text
        for system in ["Storefront", "Inventory", "Shipping", "ERP"] {
            #expect(text.contains(system), "\(system) is missing from the map")
        }
        #expect(text.contains("Installation"))
        #expect(text.contains(snapshot.advice.installation.reason.split(separator: " ").prefix(2).joined(separator: " ")))
        let edge = try #require(harness.dashboard.selectedEdge())
        harness.press(.enter)
        #expect(harness.dashboard.state.screen == .connectors)
        let rows = try #require(harness.dashboard.currentRows())
        #expect(rows.rows[harness.dashboard.state.list("connectors").selected][0].plainText == edge.sinkConnector)
    }
}
