/// A rectangle of cells. Widgets draw inside the one they are given and never outside it.
public struct Rect: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public static let zero = Rect(x: 0, y: 0, width: 0, height: 0)

    public var isEmpty: Bool { width == 0 || height == 0 }
    public var right: Int { x + width }
    public var bottom: Int { y + height }
    public var area: Int { width * height }
    public var description: String { "\(width)x\(height)+\(x)+\(y)" }

    public func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < right && py >= y && py < bottom
    }

    /// The rectangle shrunk by `margin` on every side (never negative).
    public func inset(by margin: Int) -> Rect {
        inset(horizontal: margin, vertical: margin)
    }

    public func inset(horizontal: Int, vertical: Int) -> Rect {
        Rect(x: x + min(horizontal, width / 2), y: y + min(vertical, height / 2),
             width: width - 2 * horizontal, height: height - 2 * vertical)
    }

    public func intersection(_ other: Rect) -> Rect {
        let x0 = max(x, other.x), y0 = max(y, other.y)
        let x1 = min(right, other.right), y1 = min(bottom, other.bottom)
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// One row of this rectangle (empty when out of range).
    public func row(_ index: Int) -> Rect {
        guard index >= 0, index < height else { return Rect(x: x, y: y, width: 0, height: 0) }
        return Rect(x: x, y: y + index, width: width, height: 1)
    }

    /// A rectangle of at most `w`x`h` centred in this one.
    public func centered(width w: Int, height h: Int) -> Rect {
        let cw = min(w, width), ch = min(h, height)
        return Rect(x: x + (width - cw) / 2, y: y + (height - ch) / 2, width: cw, height: ch)
    }
}

public struct Size: Equatable, Sendable {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}

/// How much of a split a part takes.
public enum Constraint: Equatable, Sendable {
    /// Exactly this many cells (less when there is not enough room).
    case length(Int)
    /// At least this many cells; shares what is left with the other `.min` and `.fill` parts.
    case min(Int)
    /// This percentage of the whole.
    case percentage(Int)
    /// A share of what is left, by weight.
    case fill(Int)
}

/// Splits a rectangle into parts along one axis: `Layout.vertical([.length(1), .fill(1), .length(1)]).split(area)`.
public struct Layout: Sendable {
    public enum Direction: Sendable { case horizontal, vertical }

    public var direction: Direction
    public var constraints: [Constraint]
    /// Cells between parts.
    public var spacing: Int

    public init(_ direction: Direction, _ constraints: [Constraint], spacing: Int = 0) {
        self.direction = direction
        self.constraints = constraints
        self.spacing = spacing
    }

    public static func vertical(_ constraints: [Constraint], spacing: Int = 0) -> Layout {
        Layout(.vertical, constraints, spacing: spacing)
    }

    public static func horizontal(_ constraints: [Constraint], spacing: Int = 0) -> Layout {
        Layout(.horizontal, constraints, spacing: spacing)
    }

    public func split(_ area: Rect) -> [Rect] {
        let total = direction == .horizontal ? area.width : area.height
        let gaps = max(0, constraints.count - 1) * spacing
        var available = max(0, total - gaps)
        var sizes = [Int](repeating: 0, count: constraints.count)
        // Fixed parts first, in order, as long as room remains.
        for (index, constraint) in constraints.enumerated() {
            let want: Int
            switch constraint {
            case .length(let n): want = n
            case .percentage(let p): want = total * p / 100
            case .min(let n): want = n
            case .fill: want = 0
            }
            sizes[index] = Swift.min(Swift.max(0, want), available)
            available -= sizes[index]
        }
        // What is left goes to .min and .fill parts by weight.
        let weights = constraints.map { constraint -> Int in
            switch constraint {
            case .fill(let w): return Swift.max(0, w)
            case .min: return 1
            default: return 0
            }
        }
        let totalWeight = weights.reduce(0, +)
        if totalWeight > 0 && available > 0 {
            var given = 0
            var lastWeighted = 0
            for (index, weight) in weights.enumerated() where weight > 0 {
                let share = available * weight / totalWeight
                sizes[index] += share
                given += share
                lastWeighted = index
            }
            sizes[lastWeighted] += available - given
        }
        var rects: [Rect] = []
        var offset = direction == .horizontal ? area.x : area.y
        let end = direction == .horizontal ? area.right : area.bottom
        for size in sizes {
            // When the gaps alone do not fit, later parts are empty at the area's end, never past it.
            let start = Swift.min(offset, end)
            let size = Swift.min(size, end - start)
            switch direction {
            case .horizontal: rects.append(Rect(x: start, y: area.y, width: size, height: area.height))
            case .vertical: rects.append(Rect(x: area.x, y: start, width: area.width, height: size))
            }
            offset += size + spacing
        }
        return rects
    }
}
