import Foundation
@testable import PatchbayDashboard
import PatchbayInsights
import TerminalUI
import Testing

@Suite("the map's layout and its line joins, without a dashboard")
struct MapLayoutTests {
    @Test("systems joined by a direct integration share a column; senders lean left; the columns are balanced")
    func columns() {
        let (left, right) = MapLayout.columns(for: MapFixtures.nineSystems)
        #expect(Set(left).isDisjoint(with: right))
        #expect(left.count + right.count == 9)
        #expect(abs(left.count - right.count) <= 1)
        for edge in MapFixtures.nineSystems.edges where edge.isDirect {
            #expect(left.contains(edge.from) == left.contains(edge.to), "\(edge.id) crosses the hub")
        }
        #expect(left.contains("Storefront") && left.contains("HubSpot CRM"), "the busiest senders are on the left")
    }

    @Test("the same map in the same area gives the same layout; boxes when the rows allow, one-row labels when not")
    func deterministicAndCompact() throws {
        let area = Rect(x: 0, y: 0, width: 75, height: 23)
        let a = try #require(MapLayout.make(for: MapFixtures.nineSystems, in: area))
        let b = try #require(MapLayout.make(for: MapFixtures.nineSystems, in: area))
        #expect(a == b)
        #expect(!a.compact)
        let fifteen = try #require(MapLayout.make(for: MapFixtures.fifteenSystems, in: area))
        #expect(fifteen.compact)
        for placed in fifteen.nodes {
            #expect(area.intersection(placed.box) == placed.box, "\(placed.id) leaves the area")
            #expect(placed.row > fifteen.hub.y && placed.row < fifteen.hub.bottom - 1, "\(placed.id)'s spoke misses the hub's side")
        }
        // Too few rows or columns for the systems: no layout (the widget lists them instead).
        #expect(MapLayout.make(for: MapFixtures.fifteenSystems, in: Rect(x: 0, y: 0, width: 75, height: 6)) == nil)
        #expect(MapLayout.make(for: MapFixtures.nineSystems, in: Rect(x: 0, y: 0, width: 30, height: 23)) == nil)
    }

    @Test("lines join into one glyph whatever the order they are drawn in")
    func joins() {
        var canvas = BoxCanvas(area: Rect(x: 0, y: 0, width: 5, height: 3))
        canvas.box(Rect(x: 0, y: 0, width: 3, height: 3), style: .plain)
        canvas.horizontal(y: 1, from: 2, to: 4, weight: .heavy, style: .plain)
        canvas.vertical(x: 3, from: 0, to: 2, style: .plain)
        var buffer = Buffer(width: 5, height: 3)
        canvas.render(into: &buffer)
        #expect(buffer.lines() == ["┌─┐╷ ", "│ ┝┿╸", "└─┘╵ "])
        #expect(BoxCanvas.glyph([.up, .down, .left], vertical: .double, horizontal: .light) == "╢")
        #expect(BoxCanvas.glyph([.left, .right], vertical: nil, horizontal: .light) == "─")
    }
}
