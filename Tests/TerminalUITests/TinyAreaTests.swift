import Testing
@testable import TerminalUI

/// A widget with awkward content, drawn by name so a failing case says which one.
struct WidgetSample: Sendable, CustomTestStringConvertible {
    let name: String
    let draw: @Sendable (Rect, inout Buffer) -> Void
    var testDescription: String { name }

    static let all: [WidgetSample] = [
        WidgetSample(name: "Block") { area, buffer in Block(title: "Deliveries 漢字").render(in: area, into: &buffer) },
        WidgetSample(name: "focused Block") { area, buffer in Block(focused: true).render(in: area, into: &buffer) },
        WidgetSample(name: "Paragraph") { area, buffer in
            Paragraph(["a long line of text that wraps", "漢字漢字漢字", "\u{1B}[2J😀"], wrap: true, offset: 1).render(in: area, into: &buffer)
        },
        WidgetSample(name: "Paragraph, no wrap") { area, buffer in
            Paragraph(["a long line of text", "漢字漢字"]).render(in: area, into: &buffer)
        },
        WidgetSample(name: "Table") { area, buffer in
            Table(columns: [Table.Column("ID", .length(3)), Table.Column("Name", .fill(1)),
                            Table.Column("Amount", .length(8), alignRight: true)],
                  rows: (0..<12).map { [Line("\($0)"), Line("customer 漢字 \($0)"), Line("\u{1B}[31m\($0 * 1000)")] },
                  selected: 7, marked: [1, 7], sortColumn: 2)
                .render(in: area, into: &buffer, offset: 3)
        },
        WidgetSample(name: "Sparkline") { area, buffer in Sparkline([0, 3, 9, 1, 50, 7]).render(in: area, into: &buffer) },
        WidgetSample(name: "TimeChart") { area, buffer in
            TimeChart(series: [.init("ok", [1, 5, 9, 40], style: .plain), .init("failed", [0, 2], style: .plain)])
                .render(in: area, into: &buffer)
        },
        WidgetSample(name: "TimeChart, huge values") { area, buffer in
            TimeChart(series: [.init("ok", [1_000_000_000, 7], style: .plain)]).render(in: area, into: &buffer)
        },
        WidgetSample(name: "BarRow") { area, buffer in
            BarRow(label: "overdue 90+", value: 70, maxValue: 100, valueText: "EUR 1,234.00", style: .plain, labelWidth: 7)
                .render(in: area, into: &buffer)
        },
        WidgetSample(name: "BarRow, huge value") { area, buffer in
            BarRow(label: "x", value: .max, maxValue: .max, valueText: "9223372036854775807", style: .plain, labelWidth: 1)
                .render(in: area, into: &buffer)
        },
        WidgetSample(name: "Gauge") { area, buffer in Gauge(ratio: 0.4, label: "40% 漢字", style: .plain).render(in: area, into: &buffer) },
        WidgetSample(name: "KeyHints") { area, buffer in
            KeyHints([("r", "retry"), ("漢", "字"), ("\u{1B}", "esc")], keyStyle: .plain, textStyle: .plain).render(in: area, into: &buffer)
        },
        WidgetSample(name: "ConfirmDialog") { area, buffer in
            ConfirmDialog(title: "Discard 漢字", message: "Discard 3 deliveries? This cannot be undone.",
                          borderStyle: .plain, textStyle: .plain).render(in: area, into: &buffer)
        },
        WidgetSample(name: "InputLine") { area, buffer in
            InputLine(prompt: "filter: ", text: "abc漢字def\u{1B}").render(in: area, into: &buffer, style: .plain)
        },
        WidgetSample(name: "InputLine, cursor inside") { area, buffer in
            var input = InputLine(prompt: ":", text: "漢字漢字漢字abc")
            for _ in 0..<5 { input.moveLeft() }
            input.render(in: area, into: &buffer, style: .plain)
        },
    ]
}

@Suite("Every widget in tiny and zero-size areas")
struct TinyAreaTests {
    @Test("renders into a 0x0 buffer without crashing or drawing", arguments: WidgetSample.all)
    func zeroByZero(sample: WidgetSample) {
        var buffer = Buffer(width: 0, height: 0)
        sample.draw(buffer.area, &buffer)
        #expect(buffer.lines() == [])
        var offset = Buffer(width: 3, height: 3)
        sample.draw(Rect(x: 1, y: 1, width: 0, height: 0), &offset)
        #expect(offset == Buffer(width: 3, height: 3))
    }

    @Test("renders into a 1x1 buffer without crashing", arguments: WidgetSample.all)
    func oneByOne(sample: WidgetSample) {
        var buffer = Buffer(width: 1, height: 1)
        sample.draw(buffer.area, &buffer)
        #expect(buffer.lines().count == 1)
        // Nothing wide can be half drawn in one cell.
        #expect(TextWidth.of(buffer[0, 0].symbol) <= 1)
    }

    @Test("never draws outside its area, whatever the size", arguments: WidgetSample.all,
          [(0, 0), (1, 1), (2, 1), (1, 2), (2, 2), (3, 1), (3, 3), (5, 2), (8, 2), (9, 3), (12, 4), (20, 5), (33, 9)])
    func staysInside(sample: WidgetSample, size: (Int, Int)) {
        var buffer = Buffer(area: Rect(x: 0, y: 0, width: size.0 + 8, height: size.1 + 4), filling: Cell("x"))
        let area = Rect(x: 4, y: 2, width: size.0, height: size.1)
        sample.draw(area, &buffer)
        #expect(cellsChanged(outside: area, in: buffer, from: "x") == [])
        // No row is wider on screen than the buffer: wide characters always have their continuation.
        for row in buffer.lines() { #expect(TextWidth.of(row) == buffer.area.width, "\(row)") }
    }
}
