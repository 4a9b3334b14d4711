import Testing
@testable import TerminalUI

@Suite("Table: header, selection, marks, scrolling and truncation")
struct TableTests {
    let invoiceColumns = [
        Table.Column("ID", .length(3)),
        Table.Column("Name", .fill(1)),
        Table.Column("Amt", .length(5), alignRight: true),
    ]
    let invoiceRows: [[Line]] = [
        ["1", "alpha", "12.50"],
        ["2", "a-very-long-name", "3.00"],
        ["3", "gamma", "100.00"],
    ]

    /// Ten one-column rows named "row 0" to "row 9".
    func numbered(selected: Int?) -> Table {
        Table(columns: [Table.Column("Name", .fill(1))], rows: (0..<10).map { [Line("row \($0)")] }, selected: selected)
    }

    @Test("header, selected and marked rows, truncation with … and right alignment")
    func fullTable() {
        let table = Table(columns: invoiceColumns, rows: invoiceRows, selected: 1, marked: [2])
        let buffer = screen(20, 4) { area, buffer in table.render(in: area, into: &buffer) }
        #expect(buffer.lines() == [
            "  ID  Name       Amt",
            "  1   alpha    12.50",
            "  2   a-very-…  3.00",
            "● 3   gamma    100.…",
        ])
    }

    @Test("the header is bold, the selected row reversed across its width, marked rows bold")
    func styles() {
        let table = Table(columns: invoiceColumns, rows: invoiceRows, selected: 1, marked: [2])
        let buffer = screen(20, 4) { area, buffer in table.render(in: area, into: &buffer) }
        #expect(buffer[2, 0].style.bold)
        #expect((0..<20).allSatisfy { buffer[$0, 2].style.reverse })
        #expect((0..<20).allSatisfy { !buffer[$0, 1].style.reverse })
        #expect(buffer[0, 3].style.bold)     // the mark
        #expect(buffer[6, 3].style.bold)     // "gamma"
        #expect(!buffer[6, 1].style.bold)    // "alpha"
    }

    @Test("a row's own span styles survive selection")
    func spanStylesUnderSelection() {
        let red = Style(foreground: .ansi(1))
        let table = Table(columns: [Table.Column("A", .fill(1))], rows: [[Line("x", red)]], selected: 0)
        let buffer = screen(5, 2) { area, buffer in table.render(in: area, into: &buffer) }
        #expect(buffer[2, 1].style == Style(foreground: .ansi(1), reverse: true))
    }

    @Test("the sort column shows an arrow, the focused column is underlined")
    func sortArrow() {
        let ascending = Table(columns: invoiceColumns, rows: [], sortColumn: 1, focusedColumn: 1)
        let up = screen(20, 1) { area, buffer in ascending.render(in: area, into: &buffer) }
        #expect(up.lines() == ["  ID  Name▲      Amt"])
        #expect(up[6, 0].style.underline)
        #expect(!up[2, 0].style.underline)
        let descending = Table(columns: invoiceColumns, rows: [], sortColumn: 2, sortDescending: true)
        let down = screen(20, 1) { area, buffer in descending.render(in: area, into: &buffer) }
        #expect(down.lines() == ["  ID  Name      Amt▼"])
    }

    @Test("a header longer than its column is cut with …")
    func longHeader() {
        let table = Table(columns: [Table.Column("Description", .length(6)), Table.Column("N", .length(2))], rows: [])
        let buffer = screen(11, 1) { area, buffer in table.render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["  Descr… N "])
    }

    @Test("scrolling keeps the selected row visible and shows the position")
    func scrollsToSelection() {
        var first = -1
        let buffer = screen(12, 4) { area, buffer in first = numbered(selected: 5).render(in: area, into: &buffer) }
        #expect(first == 3)
        #expect(buffer.lines() == [
            "  Name  6/10",
            "  row 3     ",
            "  row 4     ",
            "  row 5     ",
        ])
    }

    @Test("the position indicator counts the selected row: 3/10")
    func positionIndicator() {
        let buffer = screen(12, 4) { area, buffer in numbered(selected: 2).render(in: area, into: &buffer) }
        #expect(buffer.lines() == [
            "  Name  3/10",
            "  row 0     ",
            "  row 1     ",
            "  row 2     ",
        ])
    }

    @Test("without a selection the offset is kept and the position is the first row shown")
    func offsetWithoutSelection() {
        var first = -1
        let buffer = screen(12, 3) { area, buffer in first = numbered(selected: nil).render(in: area, into: &buffer, offset: 4) }
        #expect(first == 4)
        #expect(buffer.lines() == ["  Name  5/10", "  row 4     ", "  row 5     "])
    }

    @Test("no position indicator when every row fits")
    func noIndicatorWhenAllFit() {
        let table = Table(columns: [Table.Column("Name", .fill(1))], rows: [["a"], ["b"]], selected: 1)
        let buffer = screen(12, 4) { area, buffer in table.render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["  Name      ", "  a         ", "  b         ", "            "])
    }

    @Test("scrollOffset moves only as far as needed", arguments: [
        // (selected, previous, visible, count, expected)
        (5, 0, 3, 10, 3),      // below the window: scroll down until it is the last row
        (2, 5, 3, 10, 2),      // above the window: scroll up until it is the first row
        (6, 5, 3, 10, 5),      // inside the window: stay
        (nil, 8, 3, 10, 7),    // past the end: clamp so the window is full
        (nil, -4, 3, 10, 0),
        (9, 0, 3, 10, 7),
        (0, 0, 0, 10, 0),      // no room
        (nil, 3, 5, 0, 0),     // no rows
        (1, 0, 5, 2, 0),       // everything fits
    ] as [(Int?, Int, Int, Int, Int)])
    func scrollOffset(selected: Int?, previous: Int, visible: Int, count: Int, expected: Int) {
        #expect(Table.scrollOffset(selected: selected, previous: previous, visibleRows: visible, count: count) == expected)
    }

    @Test("a right-aligned cell with escapes is measured as shown and stays in its column")
    func escapedCellStaysInColumn() {
        let table = Table(columns: [Table.Column("A", .length(5), alignRight: true), Table.Column("B", .length(3))],
                          rows: [["\u{1B}[2J", "xyz"], ["\u{1B}[31mred", "uvw"], ["ok", "rst"]])
        let buffer = screen(11, 4) { area, buffer in table.render(in: area, into: &buffer) }
        #expect(buffer.lines() == [
            "      A B  ",
            "  ^[[2J xyz",
            "  ^[[3… uvw",
            "     ok rst",
        ])
    }

    @Test("wide characters in cells are cut whole")
    func wideCells() {
        let table = Table(columns: [Table.Column("Name", .length(5)), Table.Column("N", .length(1))], rows: [["漢字漢字", "1"], ["漢字", "2"]])
        let buffer = screen(9, 3) { area, buffer in table.render(in: area, into: &buffer) }
        #expect(buffer.lines() == [
            "  Name  N",
            "  漢字… 1",
            "  漢字  2",
        ])
    }

    @Test("a table inside a block scrolls within the inner area")
    func inBlock() {
        let table = Table(columns: invoiceColumns, rows: invoiceRows + [["4", "delta", "7.00"]], selected: 3)
        let buffer = screen(22, 5) { area, buffer in
            let inner = Block(title: "Invoices").render(in: area, into: &buffer)
            table.render(in: inner, into: &buffer)
        }
        #expect(buffer.lines() == [
            "┌ Invoices ──────────┐",
            "│  ID  Name       4/4│",
            "│  3   gamma    100.…│",
            "│  4   delta     7.00│",
            "└────────────────────┘",
        ])
    }
}
