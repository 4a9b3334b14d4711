import PatchbayText

/// Rows and columns with a header, a selected row, marks, scrolling and truncation with `…`.
public struct Table: Sendable {
    public struct Column: Sendable {
        public var title: String
        public var width: Constraint
        public var alignRight: Bool

        public init(_ title: String, _ width: Constraint, alignRight: Bool = false) {
            self.title = title
            self.width = width
            self.alignRight = alignRight
        }
    }

    public var columns: [Column]
    /// Each row: one Line per column.
    public var rows: [[Line]]
    public var selected: Int?
    public var marked: Set<Int>
    /// Column that sorting applies to, shown with an arrow.
    public var sortColumn: Int?
    public var sortDescending: Bool
    /// Column under focus (for `s`), underlined in the header.
    public var focusedColumn: Int?
    public var headerStyle: Style
    public var selectedStyle: Style
    public var markedStyle: Style

    public init(columns: [Column], rows: [[Line]], selected: Int? = nil, marked: Set<Int> = [],
                sortColumn: Int? = nil, sortDescending: Bool = false, focusedColumn: Int? = nil,
                headerStyle: Style = Style(bold: true), selectedStyle: Style = Style(reverse: true),
                markedStyle: Style = Style(bold: true)) {
        self.columns = columns
        self.rows = rows
        self.selected = selected
        self.marked = marked
        self.sortColumn = sortColumn
        self.sortDescending = sortDescending
        self.focusedColumn = focusedColumn
        self.headerStyle = headerStyle
        self.selectedStyle = selectedStyle
        self.markedStyle = markedStyle
    }

    /// The first row shown so that `selected` is visible in `height` body rows, given the previous offset.
    public static func scrollOffset(selected: Int?, previous: Int, visibleRows: Int, count: Int) -> Int {
        guard visibleRows > 0, count > 0 else { return 0 }
        var offset = min(max(0, previous), max(0, count - visibleRows))
        if let selected {
            if selected < offset { offset = selected }
            if selected >= offset + visibleRows { offset = selected - visibleRows + 1 }
        }
        return max(0, offset)
    }

    /// Draws the table; `offset` is the first body row shown. Returns the offset it used.
    @discardableResult
    public func render(in area: Rect, into buffer: inout Buffer, offset: Int = 0) -> Int {
        guard area.height >= 1, area.width >= 1 else { return offset }
        let markerWidth = 2
        let widths = Layout.horizontal(columns.map(\.width), spacing: 1)
            .split(Rect(x: area.x + markerWidth, y: area.y, width: area.width - markerWidth, height: 1))
        for (index, column) in columns.enumerated() where index < widths.count {
            var title = column.title
            if sortColumn == index { title += sortDescending ? "▼" : "▲" }
            var style = headerStyle
            if focusedColumn == index { style.underline = true }
            draw(Line(title, style), in: widths[index], y: area.y, alignRight: column.alignRight, into: &buffer)
        }
        let bodyRows = area.height - 1
        let first = Table.scrollOffset(selected: selected, previous: offset, visibleRows: bodyRows, count: rows.count)
        for row in 0..<bodyRows {
            let index = first + row
            guard index < rows.count else { break }
            let y = area.y + 1 + row
            let isSelected = index == selected
            let isMarked = marked.contains(index)
            if isSelected { buffer.setStyle(selectedStyle, in: Rect(x: area.x, y: y, width: area.width, height: 1)) }
            let base = isSelected ? selectedStyle : (isMarked ? markedStyle : Style.plain)
            buffer.write(isMarked ? "● " : "  ", x: area.x, y: y, maxWidth: min(markerWidth, area.width), style: base)
            for (column, cell) in rows[index].enumerated() where column < widths.count {
                var line = cell
                if isSelected { line.spans = line.spans.map { Span($0.text, selectedStyle.over($0.style)) } }
                else if isMarked { line.spans = line.spans.map { Span($0.text, $0.style.over(markedStyle)) } }
                draw(line, in: widths[column], y: y, alignRight: columns[column].alignRight, into: &buffer)
            }
        }
        if rows.count > bodyRows, bodyRows > 0 {
            let position = "\(min(rows.count, (selected ?? first) + 1))/\(rows.count)"
            let x = area.right - TextWidth.of(position)
            if x > area.x { buffer.write(position, x: x, y: area.y, style: headerStyle) }
        }
        return first
    }

    private func draw(_ line: Line, in rect: Rect, y: Int, alignRight: Bool, into buffer: inout Buffer) {
        guard rect.width > 0 else { return }
        // Measured as drawn (controls become `^[`…), so right-aligned text stays in its column.
        let text = SafeText.line(line.plainText)
        let width = TextWidth.of(text)
        if width > rect.width {
            // Cut with an ellipsis, keeping the first span's style.
            let style = line.spans.first?.style ?? .plain
            buffer.write(TextWidth.truncate(text, to: rect.width), x: rect.x, y: y, maxWidth: rect.width, style: style)
            return
        }
        let x = alignRight ? rect.right - width : rect.x
        buffer.write(line, x: x, y: y, maxWidth: rect.right - x)
    }
}
