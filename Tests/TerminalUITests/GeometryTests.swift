import Testing
@testable import TerminalUI

@Suite("Rect: the rectangles widgets draw in")
struct RectTests {
    @Test("negative sizes become zero")
    func negativeSizes() {
        let rect = Rect(x: 3, y: 4, width: -5, height: -1)
        #expect(rect == Rect(x: 3, y: 4, width: 0, height: 0))
        #expect(rect.isEmpty)
        #expect(rect.area == 0)
    }

    @Test("contains is half-open: the right and bottom edges are outside")
    func contains() {
        let rect = Rect(x: 2, y: 1, width: 3, height: 2)
        #expect(rect.contains(x: 2, y: 1))
        #expect(rect.contains(x: 4, y: 2))
        #expect(!rect.contains(x: 5, y: 2))
        #expect(!rect.contains(x: 4, y: 3))
        #expect(!rect.contains(x: 1, y: 1))
        #expect(!Rect.zero.contains(x: 0, y: 0))
    }

    @Test("inset shrinks every side and never goes negative")
    func inset() {
        #expect(Rect(x: 0, y: 0, width: 10, height: 5).inset(by: 1) == Rect(x: 1, y: 1, width: 8, height: 3))
        #expect(Rect(x: 0, y: 0, width: 10, height: 5).inset(horizontal: 2, vertical: 0) == Rect(x: 2, y: 0, width: 6, height: 5))
        let tiny = Rect(x: 4, y: 4, width: 1, height: 1).inset(by: 3)
        #expect(tiny.width == 0 && tiny.height == 0)
        #expect(tiny.x >= 4 && tiny.y >= 4 && tiny.x <= 5 && tiny.y <= 5)
    }

    @Test("intersection of overlapping, nested and disjoint rectangles")
    func intersection() {
        let a = Rect(x: 0, y: 0, width: 10, height: 10)
        #expect(a.intersection(Rect(x: 5, y: 5, width: 10, height: 10)) == Rect(x: 5, y: 5, width: 5, height: 5))
        #expect(a.intersection(Rect(x: 2, y: 3, width: 2, height: 2)) == Rect(x: 2, y: 3, width: 2, height: 2))
        #expect(a.intersection(Rect(x: 20, y: 20, width: 5, height: 5)).isEmpty)
    }

    @Test("row returns one line of the rectangle, empty when out of range")
    func row() {
        let rect = Rect(x: 1, y: 2, width: 4, height: 3)
        #expect(rect.row(0) == Rect(x: 1, y: 2, width: 4, height: 1))
        #expect(rect.row(2) == Rect(x: 1, y: 4, width: 4, height: 1))
        #expect(rect.row(3).isEmpty)
        #expect(rect.row(-1).isEmpty)
    }

    @Test("centered fits inside the rectangle even when asked for more")
    func centered() {
        let rect = Rect(x: 0, y: 0, width: 40, height: 9)
        #expect(rect.centered(width: 30, height: 5) == Rect(x: 5, y: 2, width: 30, height: 5))
        #expect(rect.centered(width: 100, height: 100) == rect)
        #expect(Rect.zero.centered(width: 3, height: 3) == .zero)
    }
}

@Suite("Layout: splitting an area by constraints")
struct LayoutTests {
    /// Every part lies inside `area` and has a non-negative size.
    func expectInside(_ parts: [Rect], _ area: Rect, sourceLocation: SourceLocation = #_sourceLocation) {
        for part in parts {
            #expect(part.width >= 0 && part.height >= 0, "\(part) has a negative size", sourceLocation: sourceLocation)
            #expect(part.x >= area.x && part.right <= area.right && part.y >= area.y && part.bottom <= area.bottom,
                    "\(part) is outside \(area)", sourceLocation: sourceLocation)
        }
    }

    @Test("vertical header, body and footer on an 80x24 screen")
    func verticalHeaderBodyFooter() {
        let area = Rect(x: 0, y: 0, width: 80, height: 24)
        let parts = Layout.vertical([.length(1), .fill(1), .length(1)]).split(area)
        #expect(parts == [Rect(x: 0, y: 0, width: 80, height: 1),
                          Rect(x: 0, y: 1, width: 80, height: 22),
                          Rect(x: 0, y: 23, width: 80, height: 1)])
    }

    @Test("horizontal split keeps the area's origin and height")
    func horizontalOffsetArea() {
        let area = Rect(x: 5, y: 3, width: 30, height: 4)
        let parts = Layout.horizontal([.length(10), .fill(1)]).split(area)
        #expect(parts == [Rect(x: 5, y: 3, width: 10, height: 4), Rect(x: 15, y: 3, width: 20, height: 4)])
    }

    @Test("percentage takes its share of the whole, fill the rest")
    func percentage() {
        let parts = Layout.horizontal([.percentage(25), .fill(1)]).split(Rect(x: 0, y: 0, width: 80, height: 1))
        #expect(parts.map(\.width) == [20, 60])
        #expect(parts.map(\.x) == [0, 20])
        // More than 100% is cut to what is there.
        #expect(Layout.horizontal([.percentage(150)]).split(Rect(x: 0, y: 0, width: 10, height: 1)).map(\.width) == [10])
    }

    @Test("min gets at least its size and shares what is left with fill")
    func minAndFill() {
        let parts = Layout.horizontal([.min(10), .fill(1)]).split(Rect(x: 0, y: 0, width: 30, height: 1))
        #expect(parts.map(\.width) == [20, 10])
        let alone = Layout.vertical([.length(2), .min(0)]).split(Rect(x: 0, y: 0, width: 5, height: 7))
        #expect(alone.map(\.height) == [2, 5])
    }

    @Test("fill parts share by weight and the remainder goes to the last one")
    func fillWeights() {
        let area = { (width: Int) in Rect(x: 0, y: 0, width: width, height: 1) }
        #expect(Layout.horizontal([.fill(1), .fill(2)]).split(area(30)).map(\.width) == [10, 20])
        #expect(Layout.horizontal([.fill(1), .fill(2)]).split(area(31)).map(\.width) == [10, 21])
        #expect(Layout.horizontal([.fill(1), .fill(1), .fill(1)]).split(area(10)).map(\.width) == [3, 3, 4])
    }

    @Test("spacing puts gaps between parts, not around them")
    func spacing() {
        let parts = Layout.horizontal([.length(5), .length(5)], spacing: 2).split(Rect(x: 0, y: 0, width: 20, height: 1))
        #expect(parts == [Rect(x: 0, y: 0, width: 5, height: 1), Rect(x: 7, y: 0, width: 5, height: 1)])
        let filled = Layout.horizontal([.length(3), .fill(1), .length(5)], spacing: 1).split(Rect(x: 2, y: 0, width: 18, height: 1))
        #expect(filled.map(\.x) == [2, 6, 15])
        #expect(filled.map(\.width) == [3, 8, 5])
    }

    @Test("an area smaller than the constraints: earlier parts win, later ones shrink to zero")
    func tooSmall() {
        let area = Rect(x: 0, y: 0, width: 4, height: 5)
        let parts = Layout.vertical([.length(3), .length(3), .length(3)]).split(area)
        #expect(parts.map(\.height) == [3, 2, 0])
        expectInside(parts, area)
        let mixed = Layout.horizontal([.min(10), .percentage(50), .fill(1), .length(7)]).split(area)
        #expect(mixed.map(\.width).reduce(0, +) <= 4)
        expectInside(mixed, area)
    }

    @Test("negative and zero constraints give empty parts, never negative ones; min still shares")
    func negativeConstraints() {
        let area = Rect(x: 0, y: 0, width: 10, height: 1)
        let parts = Layout.horizontal([.length(-5), .min(-2), .percentage(-50), .fill(0), .fill(-3), .fill(1)]).split(area)
        #expect(parts.map(\.width) == [0, 5, 0, 0, 0, 5])
        expectInside(parts, area)
    }

    @Test("spacing larger than the area never places parts outside it", arguments: [0, 1, 2, 4, 5, 7])
    func spacingLargerThanArea(width: Int) {
        let area = Rect(x: 3, y: 2, width: width, height: 2)
        let parts = Layout.horizontal([.length(2), .length(2), .fill(1)], spacing: 3).split(area)
        #expect(parts.count == 3)
        expectInside(parts, area)
        let vertical = Layout.vertical([.length(1), .min(1), .length(1)], spacing: 2).split(Rect(x: 0, y: 1, width: 5, height: width))
        expectInside(vertical, Rect(x: 0, y: 1, width: 5, height: width))
    }

    @Test("a zero-size area gives zero-size parts at its origin")
    func zeroSizeArea() {
        let area = Rect(x: 7, y: 9, width: 0, height: 0)
        for layout in [Layout.vertical([.length(1), .fill(1), .length(1)]),
                       Layout.horizontal([.percentage(50), .min(3), .fill(2)], spacing: 1)] {
            let parts = layout.split(area)
            #expect(parts.count == 3)
            #expect(parts.allSatisfy { $0.width == 0 && $0.height == 0 })
            expectInside(parts, area)
        }
    }

    @Test("parts tile the area exactly when there is room", arguments: [1, 2, 3, 10, 24, 80, 81])
    func partsTile(size: Int) {
        let area = Rect(x: 1, y: 1, width: size, height: 3)
        let parts = Layout.horizontal([.length(2), .percentage(30), .min(1), .fill(2)], spacing: 1).split(area)
        expectInside(parts, area)
        for (a, b) in zip(parts, parts.dropFirst()) { #expect(a.right <= b.x, "\(a) overlaps \(b)") }
        if size >= 2 + size * 30 / 100 + 1 + 3 {
            #expect(parts.map(\.width).reduce(0, +) + 3 == size)
        }
    }

    @Test("no constraints, no parts")
    func noConstraints() {
        #expect(Layout.vertical([]).split(Rect(x: 0, y: 0, width: 5, height: 5)).isEmpty)
    }
}
