import Testing
@testable import TerminalUI

/// A small dashboard-like screen: a title line, a queue table beside a throughput chart, key hints.
private func dashboard(_ area: Rect, _ buffer: inout Buffer) {
    let rows = Layout.vertical([.length(1), .fill(1), .length(1)]).split(area)
    Paragraph(["Patchbay · 3 due"]).render(in: rows[0], into: &buffer)
    let panels = Layout.horizontal([.percentage(60), .fill(1)]).split(rows[1])
    let queue = Block(title: "Queue", focused: true).render(in: panels[0], into: &buffer)
    Table(columns: [Table.Column("ID", .length(3)), Table.Column("Topic", .fill(1)), Table.Column("Tries", .length(5), alignRight: true)],
          rows: [["1", "order.created", "0"], ["2", "invoice.paid", "3"], ["3", "customer.updated.address", "12"]],
          selected: 1, marked: [2])
        .render(in: queue, into: &buffer)
    let chart = Block(title: "Throughput").render(in: panels[1], into: &buffer)
    TimeChart(series: [.init("ok", [1, 2, 3, 4, 5, 6, 7, 8], style: .plain)]).render(in: chart, into: &buffer)
    KeyHints([("q", "quit"), ("r", "retry"), ("?", "help")], keyStyle: .plain, textStyle: .plain).render(in: rows[2], into: &buffer)
}

@Suite("Whole screens composed from layout and widgets")
struct ScreenTests {
    @Test("a 20x5 screen: title, table with scrolling and position, hints cut whole")
    func small() {
        let buffer = screen(20, 5) { area, buffer in
            let rows = Layout.vertical([.length(1), .fill(1), .length(1)]).split(area)
            Paragraph(["Patchbay · 3 due"]).render(in: rows[0], into: &buffer)
            Table(columns: [Table.Column("ID", .length(3)), Table.Column("Topic", .fill(1))],
                  rows: [["1", "order.created"], ["2", "invoice.paid"], ["3", "order.created"]], selected: 2)
                .render(in: rows[1], into: &buffer)
            KeyHints([("q", "quit"), ("r", "retry"), ("?", "help")], keyStyle: .plain, textStyle: .plain).render(in: rows[2], into: &buffer)
        }
        #expect(buffer.lines() == [
            "Patchbay · 3 due    ",
            "  ID  Topic      3/3",
            "  2   invoice.paid  ",
            "  3   order.created ",
            "q quit  r retry     ",
        ])
    }

    @Test("an 80x24 screen: two panels side by side")
    func full() {
        let buffer = screen(80, 24) { area, buffer in dashboard(area, &buffer) }
        let expected = [
            "Patchbay · 3 due" + repeated(" ", 64),
            "┏ Queue " + repeated("━", 39) + "┓┌ Throughput " + repeated("─", 18) + "┐",
            "┃  ID  Topic                              Tries┃│8│" + repeated(" ", 27) + "█│",
            "┃  1   order.created                          0┃│ │" + repeated(" ", 27) + "█│",
            "┃  2   invoice.paid                           3┃│ │" + repeated(" ", 26) + "▄█│",   // 7 of 8 is 17.5 of 20 rows
            "┃● 3   customer.updated.address              12┃│ │" + repeated(" ", 26) + "██│",
        ]
        #expect(Array(buffer.lines().prefix(6)) == expected)
        #expect(buffer.lines().count == 24)
        #expect(buffer.lines()[22] == "┗" + repeated("━", 46) + "┛└" + repeated("─", 30) + "┘")
        #expect(buffer.lines()[23] == "q quit  r retry  ? help" + repeated(" ", 57))
        for line in buffer.lines() { #expect(TextWidth.of(line) == 80) }
    }

    @Test("the same screen at 20x5 and 1x1 draws only what fits")
    func shrunk() {
        let small = screen(20, 5) { area, buffer in dashboard(area, &buffer) }
        #expect(small.lines() == [
            "Patchbay · 3 due    ",
            "┏ Queue ━━━┓┌ Thro ┐",
            "┃  ID   Tr…┃│      │",   // no room for Topic; the chart needs 8x2
            "┗━━━━━━━━━━┛└──────┘",
            "q quit  r retry     ",
        ])
        let tiny = screen(1, 1) { area, buffer in dashboard(area, &buffer) }
        #expect(tiny.lines().count == 1)
    }
}
