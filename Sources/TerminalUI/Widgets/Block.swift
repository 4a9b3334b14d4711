import PatchbayText

/// A bordered panel with a title. `render` returns the inner area for the content.
public struct Block: Sendable {
    public var title: Line?
    public var borderStyle: Style
    public var titleStyle: Style
    /// Focused panels draw a heavier border.
    public var focused: Bool

    public init(title: Line? = nil, borderStyle: Style = .plain, titleStyle: Style = .plain, focused: Bool = false) {
        self.title = title
        self.borderStyle = borderStyle
        self.titleStyle = titleStyle
        self.focused = focused
    }

    @discardableResult
    public func render(in area: Rect, into buffer: inout Buffer) -> Rect {
        guard area.width >= 2, area.height >= 2 else { return .zero }
        let (h, v, tl, tr, bl, br) = focused ? ("━", "┃", "┏", "┓", "┗", "┛") : ("─", "│", "┌", "┐", "└", "┘")
        for x in area.x + 1..<area.right - 1 {
            buffer[x, area.y] = Cell(h, style: borderStyle)
            buffer[x, area.bottom - 1] = Cell(h, style: borderStyle)
        }
        for y in area.y + 1..<area.bottom - 1 {
            buffer[area.x, y] = Cell(v, style: borderStyle)
            buffer[area.right - 1, y] = Cell(v, style: borderStyle)
        }
        buffer[area.x, area.y] = Cell(tl, style: borderStyle)
        buffer[area.right - 1, area.y] = Cell(tr, style: borderStyle)
        buffer[area.x, area.bottom - 1] = Cell(bl, style: borderStyle)
        buffer[area.right - 1, area.bottom - 1] = Cell(br, style: borderStyle)
        if let title, area.width > 4 {
            buffer.write(" ", x: area.x + 1, y: area.y, maxWidth: 1, style: borderStyle)
            let used = buffer.write(title, x: area.x + 2, y: area.y, maxWidth: area.width - 4, base: titleStyle)
            buffer.write(" ", x: area.x + 2 + used, y: area.y, maxWidth: 1, style: borderStyle)
        }
        return area.inset(by: 1)
    }
}

/// Text drawn line by line, cut or wrapped to its area, scrolled by `offset` lines.
public struct Paragraph: Sendable {
    public var lines: [Line]
    public var wrap: Bool
    public var offset: Int

    public init(_ lines: [Line], wrap: Bool = false, offset: Int = 0) {
        self.lines = lines
        self.wrap = wrap
        self.offset = offset
    }

    /// The lines as they will be laid out in `width` columns.
    public func layout(width: Int) -> [Line] {
        guard wrap, width > 0 else { return lines }
        var out: [Line] = []
        for line in lines {
            var current: [Span] = []
            var used = 0
            for span in line.spans {
                var chunk = ""
                // Measured as drawn: `write` shows controls as escapes such as `^[`.
                for character in SafeText.line(span.text) {
                    let w = TextWidth.of(character)
                    if used + w > width && used > 0 {
                        current.append(Span(chunk, span.style))
                        out.append(Line(current))
                        current = []
                        chunk = ""
                        used = 0
                    }
                    chunk.append(character)
                    used += w
                }
                if !chunk.isEmpty { current.append(Span(chunk, span.style)) }
            }
            out.append(Line(current))
        }
        return out
    }

    public func render(in area: Rect, into buffer: inout Buffer, base: Style = .plain) {
        guard !area.isEmpty else { return }
        let laid = layout(width: area.width)
        for row in 0..<area.height {
            let index = max(0, offset) + row
            guard index >= 0, index < laid.count else { break }
            buffer.write(laid[index], x: area.x, y: area.y + row, maxWidth: area.width, base: base)
        }
    }
}
