import Foundation
import PatchbayDashboard
import PatchbayStore
import TerminalUI
import Testing

@Suite("every view rendered as text, at 80x24, 120x40 and a tiny size")
struct ScreenTests {
    static let views: [(name: String, keys: [Key])] = [
        ("overview", []),
        ("connectors", [.character("2")]),
        ("failed-groups", [.character("3")]),
        ("failed-flat", [.character("3"), .character("v")]),
        ("retry-queue", [.character("4")]),
        ("events", [.character("5")]),
        ("detail", [.character("5"), .enter]),
        ("aging", [.character("7")]),
        ("invoices", [.character("7"), .enter]),
        ("help", [.character("?")]),
        ("alerts-none", [.character("9")]),
    ]

    @Test("each view matches its snapshot at 80x24 and 120x40", arguments: views.map(\.name))
    func viewSnapshots(name: String) throws {
        let harness = try Harness()
        let keys = Self.views.first { $0.name == name }!.keys
        for key in keys { harness.press(key) }
        expectSnapshot(harness.screen(80, 24), named: "\(name)-80x24")
        expectSnapshot(harness.screen(120, 40), named: "\(name)-120x40")
    }

    @Test("a terminal below the minimum shows one clear line asking for room")
    func tinyTerminal() throws {
        let harness = try Harness(events: 50, days: 1)
        let screen = harness.screen(20, 5)
        expectSnapshot(screen, named: "tiny-20x5")
        #expect(screen.text.contains("Terminal too"))
        let zero = harness.screen(0, 0)
        #expect(zero.cells.isEmpty)
    }

    @Test("the overview shows the four panels and the header's figures")
    func overviewPanels() throws {
        let harness = try Harness()
        let text = harness.screen(120, 40).text
        for title in ["Throughput · 1h", "Failed deliveries by error", "Retry queue", "Invoice aging · 2026-11-25"] {
            #expect(text.contains(title), "missing panel \(title)")
        }
        let statuses = try harness.store.connectorStatuses()
        let healthy = statuses.filter { $0.connector.direction == .sink && $0.connector.health == .healthy }.count
        #expect(text.contains("\(healthy) ok"))
        #expect(text.contains("10:00:00 UTC"))
    }

    @Test("text never spills out of its area: every row of every view is exactly the terminal's width")
    func noSpill() throws {
        let harness = try Harness()
        for (_, keys) in Self.views {
            harness.press(.escape, .escape, .escape, .character("1"))
            for key in keys { harness.press(key) }
            for (width, height) in [(80, 24), (120, 40), (61, 16)] {
                let screen = harness.screen(width, height)
                for line in screen.lines() {
                    #expect(line.reduce(0) { $0 + TextWidth.of($1) } == width)
                }
            }
        }
    }
}
