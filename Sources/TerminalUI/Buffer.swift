import PatchbayText

/// One terminal cell: a grapheme (empty for the second half of a wide one) and its style.
public struct Cell: Equatable, Sendable {
    public var symbol: String
    public var style: Style

    public init(_ symbol: String = " ", style: Style = .plain) {
        self.symbol = symbol
        self.style = style
    }

    public static let blank = Cell()
    /// The cell covered by the right half of a wide character.
    public static let continuation = Cell("")
}

/// An in-memory screen. Every widget draws into one; only a backend sends it to a terminal.
public struct Buffer: Equatable, Sendable {
    public private(set) var area: Rect
    public private(set) var cells: [Cell]

    public init(area: Rect, filling cell: Cell = .blank) {
        self.area = area
        self.cells = Array(repeating: cell, count: area.area)
    }

    public init(width: Int, height: Int) {
        self.init(area: Rect(x: 0, y: 0, width: width, height: height))
    }

    func index(_ x: Int, _ y: Int) -> Int? {
        guard area.contains(x: x, y: y) else { return nil }
        return (y - area.y) * area.width + (x - area.x)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { index(x, y).map { cells[$0] } ?? .blank }
        set { if let i = index(x, y) { cells[i] = newValue } }
    }

    /// Sets the style of every cell in `rect` (clipped to the buffer), keeping their symbols.
    public mutating func setStyle(_ style: Style, in rect: Rect) {
        let clipped = rect.intersection(area)
        for y in clipped.y..<clipped.bottom {
            for x in clipped.x..<clipped.right { self[x, y].style = style }
        }
    }

    /// Fills `rect` with blanks of `style`.
    public mutating func fill(_ rect: Rect, style: Style = .plain, symbol: String = " ") {
        let clipped = rect.intersection(area)
        for y in clipped.y..<clipped.bottom {
            for x in clipped.x..<clipped.right { self[x, y] = Cell(symbol, style: style) }
        }
    }

    /// Writes untrusted or trusted text on one row from (x, y), at most `maxWidth` columns, never past
    /// the buffer's edge. The text is sanitised first: nothing in it can reach the terminal as a control.
    /// - Returns: the columns written.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, maxWidth: Int? = nil, style: Style = .plain) -> Int {
        guard y >= area.y, y < area.bottom else { return 0 }
        let limit = min(maxWidth ?? Int.max, area.right - x)
        guard limit > 0 else { return 0 }
        let safe = SafeText.line(text)
        var column = x
        for character in safe {
            let width = TextWidth.of(character)
            if width == 0 {
                // A lone combining mark or zero-width character: attach to the previous glyph (the left
                // half of a wide one: a continuation cell must stay empty, or it would be drawn).
                var previous = column - 1
                if previous > x, self[previous, y].symbol.isEmpty { previous -= 1 }
                if column > x, let i = index(previous, y), cells[i].symbol.unicodeScalars.count < 5 {
                    cells[i].symbol.unicodeScalars.append(contentsOf: character.unicodeScalars.prefix(1))
                }
                continue
            }
            if column - x + width > limit { break }
            if column < area.x { column += width; continue }
            // Keep at most four combining marks: a stack of hundreds is one cell all the same.
            var symbol = String(String.UnicodeScalarView(character.unicodeScalars.prefix(5)))
            if symbol.isEmpty { symbol = " " }
            self[column, y] = Cell(symbol, style: style)
            if width == 2 { self[column + 1, y] = Cell("", style: style) }
            column += width
        }
        return column - x
    }

    /// Writes styled spans; returns the columns written.
    @discardableResult
    public mutating func write(_ line: Line, x: Int, y: Int, maxWidth: Int, base: Style = .plain) -> Int {
        var used = 0
        for span in line.spans {
            guard used < maxWidth else { break }
            used += write(span.text, x: x + used, y: y, maxWidth: maxWidth - used, style: span.style.over(base))
        }
        return used
    }

    /// The buffer as lines of text, trailing spaces kept: what a test compares.
    public func lines() -> [String] {
        (0..<area.height).map { row in
            var line = ""
            for column in 0..<area.width {
                line += cells[row * area.width + column].symbol
            }
            return line
        }
    }

    /// The buffer as one string, lines joined by newlines, trailing spaces trimmed.
    public var text: String {
        lines().map { line in
            var l = Substring(line)
            while l.last == " " { l = l.dropLast() }
            return String(l)
        }.joined(separator: "\n")
    }
}
