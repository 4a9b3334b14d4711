import TerminalUI

/// Box-drawing lines that join where they meet.
///
/// Each cell remembers which of its four sides a line leaves by, and how heavy its vertical and its
/// horizontal strokes are; `render` turns that into the one glyph that shows all of them, so a spoke
/// reaching a box's side becomes `├` and a lane crossing a stub becomes `┼`, whatever the drawing order.
struct BoxCanvas {
    enum Weight: Int, Comparable {
        case light, heavy, double
        static func < (a: Weight, b: Weight) -> Bool { a.rawValue < b.rawValue }
    }

    struct Sides: OptionSet, Hashable {
        let rawValue: UInt8
        static let up = Sides(rawValue: 1)
        static let down = Sides(rawValue: 2)
        static let left = Sides(rawValue: 4)
        static let right = Sides(rawValue: 8)
        static let vertical: Sides = [.up, .down]
        static let horizontal: Sides = [.left, .right]
    }

    private struct Stroke {
        var sides: Sides = []
        var vertical: Weight?
        var horizontal: Weight?
        var style: Style = .plain
        /// Higher ranks keep their style where lines meet (the selected edge over the rest).
        var rank = Int.min
    }

    let area: Rect
    private var strokes: [Int: Stroke] = [:]

    init(area: Rect) { self.area = area }

    /// Adds line ends to one cell (outside the area: ignored).
    mutating func add(x: Int, y: Int, _ sides: Sides, weight: Weight = .light, style: Style, rank: Int = 0) {
        guard area.contains(x: x, y: y), !sides.isEmpty else { return }
        let key = (y - area.y) * area.width + (x - area.x)
        var stroke = strokes[key] ?? Stroke()
        stroke.sides.formUnion(sides)
        if !sides.isDisjoint(with: .vertical) { stroke.vertical = max(stroke.vertical ?? weight, weight) }
        if !sides.isDisjoint(with: .horizontal) { stroke.horizontal = max(stroke.horizontal ?? weight, weight) }
        if rank >= stroke.rank { stroke.style = style; stroke.rank = rank }
        strokes[key] = stroke
    }

    /// A horizontal line between two cells, both included: the ends only point inwards, so they join
    /// whatever is drawn there.
    mutating func horizontal(y: Int, from x0: Int, to x1: Int, weight: Weight = .light, style: Style, rank: Int = 0) {
        let (a, b) = (min(x0, x1), max(x0, x1))
        guard a < b else { return }
        for x in a...b {
            var sides: Sides = []
            if x > a { sides.insert(.left) }
            if x < b { sides.insert(.right) }
            add(x: x, y: y, sides, weight: weight, style: style, rank: rank)
        }
    }

    /// A vertical line between two cells, both included.
    mutating func vertical(x: Int, from y0: Int, to y1: Int, weight: Weight = .light, style: Style, rank: Int = 0) {
        let (a, b) = (min(y0, y1), max(y0, y1))
        guard a < b else { return }
        for y in a...b {
            var sides: Sides = []
            if y > a { sides.insert(.up) }
            if y < b { sides.insert(.down) }
            add(x: x, y: y, sides, weight: weight, style: style, rank: rank)
        }
    }

    /// The outline of a rectangle (at least 2x2).
    mutating func box(_ rect: Rect, weight: Weight = .light, style: Style, rank: Int = 0) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        horizontal(y: rect.y, from: rect.x, to: rect.right - 1, weight: weight, style: style, rank: rank)
        horizontal(y: rect.bottom - 1, from: rect.x, to: rect.right - 1, weight: weight, style: style, rank: rank)
        vertical(x: rect.x, from: rect.y, to: rect.bottom - 1, weight: weight, style: style, rank: rank)
        vertical(x: rect.right - 1, from: rect.y, to: rect.bottom - 1, weight: weight, style: style, rank: rank)
    }

    /// Writes every stroked cell into the buffer (clipped to the canvas's area).
    func render(into buffer: inout Buffer) {
        for (key, stroke) in strokes {
            let x = area.x + key % area.width, y = area.y + key / area.width
            buffer[x, y] = Cell(Self.glyph(stroke.sides, vertical: stroke.vertical, horizontal: stroke.horizontal),
                                style: stroke.style)
        }
    }

    // MARK: Glyphs

    /// Shapes with both a vertical and a horizontal stroke, in this order:
    /// ┌ ┐ └ ┘ ├ ┤ ┬ ┴ ┼ (down-right, down-left, up-right, up-left, tees, cross).
    private static let joined: [Sides] = [
        [.down, .right], [.down, .left], [.up, .right], [.up, .left],
        [.up, .down, .right], [.up, .down, .left], [.down, .left, .right], [.up, .left, .right],
        [.up, .down, .left, .right],
    ]

    /// Glyphs for `joined`, by (vertical weight, horizontal weight).
    private static func joinedGlyphs(vertical: Weight, horizontal: Weight) -> [Character] {
        switch (vertical, horizontal) {
        case (.heavy, .heavy): return Array("┏┓┗┛┣┫┳┻╋")
        case (.double, .double): return Array("╔╗╚╝╠╣╦╩╬")
        case (.double, _): return Array("╓╖╙╜╟╢╥╨╫")
        case (_, .double): return Array("╒╕╘╛╞╡╤╧╪")
        case (.heavy, .light): return Array("┎┒┖┚┠┨┰┸╂")
        case (.light, .heavy): return Array("┍┑┕┙┝┥┯┷┿")
        default: return Array("┌┐└┘├┤┬┴┼")
        }
    }

    static func glyph(_ sides: Sides, vertical: Weight?, horizontal: Weight?) -> String {
        let v = vertical ?? .light, h = horizontal ?? .light
        if let index = joined.firstIndex(of: sides) {
            return String(joinedGlyphs(vertical: v, horizontal: h)[index])
        }
        let lines: (full: String, first: String, second: String)
        if sides.isSubset(of: .vertical) {
            switch v {
            case .light: lines = ("│", "╵", "╷")
            case .heavy: lines = ("┃", "╹", "╻")
            case .double: lines = ("║", "║", "║")
            }
            return sides == .vertical ? lines.full : (sides == .up ? lines.first : lines.second)
        }
        switch h {
        case .light: lines = ("─", "╴", "╶")
        case .heavy: lines = ("━", "╸", "╺")
        case .double: lines = ("═", "═", "═")
        }
        return sides == .horizontal ? lines.full : (sides == .left ? lines.first : lines.second)
    }
}
