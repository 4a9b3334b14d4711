import Testing
@testable import TerminalUI

@Suite("Sparkline, TimeChart, BarRow and Gauge")
struct ChartTests {
    @Test("a sparkline scales to its maximum and sits at the right and bottom")
    func sparkline() {
        let buffer = screen(8, 2) { area, buffer in Sparkline([0, 1, 2, 4, 8]).render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["        ", "    ▁▂▄█"])
    }

    @Test("a sparkline shows only the newest values that fit")
    func sparklineSuffix() {
        let buffer = screen(4, 1) { area, buffer in Sparkline(Array(1...10)).render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["▅▆▇█"])
    }

    @Test("a sparkline with a fixed maximum clamps, and any positive value shows")
    func sparklineMaxValue() {
        let buffer = screen(5, 1) { area, buffer in
            Sparkline([50, 100, 200, -5, 1], style: Style(foreground: .ansi(2)), maxValue: 100).render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == ["▄██ ▁"])
        #expect(buffer[0, 0].style == Style(foreground: .ansi(2)))
        let zeros = screen(3, 1) { area, buffer in Sparkline([0, 0, 0]).render(in: area, into: &buffer) }
        #expect(zeros.lines() == ["   "])
    }

    @Test("a time chart draws columns in eighths with the maximum on the axis")
    func timeChart() {
        let chart = TimeChart(series: [.init("ok", [1, 2, 3, 4], style: .plain)])
        let buffer = screen(8, 3) { area, buffer in chart.render(in: area, into: &buffer) }
        #expect(buffer.lines() == [
            "4│    ▂█",
            " │   ▄██",
            "0│  ▆███",
        ])
    }

    @Test("later series are drawn over earlier ones")
    func timeChartOverlap() {
        let a = Style(foreground: .ansi(2)), b = Style(foreground: .ansi(1))
        let chart = TimeChart(series: [.init("ok", [4, 4], style: a), .init("failed", [2], style: b)])
        let buffer = screen(8, 2) { area, buffer in chart.render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["4│    ██", "0│    ██"])
        #expect(buffer[7, 1].style == b)
        #expect(buffer[7, 0].style == a)
        #expect(buffer[6, 1].style == a)
    }

    @Test("a wider maximum widens the axis; no data draws an empty chart")
    func timeChartAxis() {
        let wide = screen(10, 2) { area, buffer in
            TimeChart(series: [.init("ok", [120, 90], style: .plain)]).render(in: area, into: &buffer)
        }
        #expect(wide.lines() == ["120│    █▄", "  0│    ██"])
        let empty = screen(8, 2) { area, buffer in TimeChart(series: []).render(in: area, into: &buffer) }
        #expect(empty.lines() == ["1│      ", "0│      "])
    }

    @Test("a time chart smaller than 8x2, or too narrow for its axis label, draws nothing")
    func timeChartTooSmall() {
        let chart = TimeChart(series: [.init("ok", [1, 2], style: .plain)])
        #expect(screen(7, 3) { area, buffer in chart.render(in: area, into: &buffer) } == Buffer(width: 7, height: 3))
        #expect(screen(8, 1) { area, buffer in chart.render(in: area, into: &buffer) } == Buffer(width: 8, height: 1))
        var buffer = Buffer(area: Rect(x: 0, y: 0, width: 14, height: 4), filling: Cell("x"))
        let area = Rect(x: 2, y: 1, width: 8, height: 2)
        TimeChart(series: [.init("big", [1_000_000_000], style: .plain)]).render(in: area, into: &buffer)
        #expect(cellsChanged(outside: area, in: buffer, from: "x") == [])
    }

    @Test("a bar row: label, filled and empty bar, value on the right")
    func barRow() {
        let row = BarRow(label: "current", value: 50, maxValue: 100, valueText: "50", style: Style(foreground: .ansi(2)), labelWidth: 7)
        let buffer = screen(20, 1) { area, buffer in row.render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["current ████····· 50"])
        #expect(buffer[8, 0].style == Style(foreground: .ansi(2)))
        #expect(buffer[12, 0].style == Style(dim: true))
    }

    @Test("a bar row clamps its value and cuts a long label with …")
    func barRowClamps() {
        func line(_ label: String, _ value: Int64, _ max: Int64) -> String {
            screen(20, 1) { area, buffer in
                BarRow(label: label, value: value, maxValue: max, valueText: "v", style: .plain, labelWidth: 7).render(in: area, into: &buffer)
            }.lines()[0]
        }
        #expect(line("over", 150, 100) == "over    ██████████ v")
        #expect(line("none", -5, 100) == "none    ·········· v")
        #expect(line("zero", 5, 0) == "zero    ·········· v")
        #expect(line("overdue-90", 100, 100) == "overdu… ██████████ v")
    }

    @Test("a bar row with amounts near Int64.max does not overflow")
    func barRowHugeValues() {
        let row = BarRow(label: "big", value: 4_000_000_000_000_000_000, maxValue: 8_000_000_000_000_000_000,
                         valueText: "4e18", style: .plain, labelWidth: 3)
        let buffer = screen(14, 1) { area, buffer in row.render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["big ██··· 4e18"])
    }

    @Test("a value text too long for the row is cut and stays inside the area")
    func barRowLongValue() {
        var buffer = Buffer(area: Rect(x: 0, y: 0, width: 30, height: 1), filling: Cell("x"))
        let area = Rect(x: 10, y: 0, width: 12, height: 1)
        BarRow(label: "EUR", value: 5, maxValue: 10, valueText: "1,234,567,890.00", style: .plain, labelWidth: 3)
            .render(in: area, into: &buffer)
        #expect(cellsChanged(outside: area, in: buffer, from: "x") == [])
        #expect(buffer.lines() == ["xxxxxxxxxxEURxx1,234,…xxxxxxxx"])  // the widget leaves its gaps as they were
    }

    @Test("a gauge fills its share of the width and centres its label")
    func gauge() {
        let style = Style(foreground: .ansi(2))
        let buffer = screen(10, 1) { area, buffer in Gauge(ratio: 0.5, label: "50%", style: style).render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["   50%    "])
        #expect((0..<5).allSatisfy { buffer[$0, 0].style == style.reversed })
        #expect((5..<10).allSatisfy { buffer[$0, 0].style == .plain })
    }

    @Test("a gauge clamps its ratio", arguments: [(-1.0, 0), (0.0, 0), (0.25, 2), (1.0, 8), (7.5, 8), (Double.nan, 0), (-Double.infinity, 0)])
    func gaugeRatio(ratio: Double, filled: Int) {
        let buffer = screen(8, 1) { area, buffer in Gauge(ratio: ratio, label: "", style: .plain).render(in: area, into: &buffer) }
        #expect((0..<8).filter { buffer[$0, 0].style.reverse }.count == filled)
    }

    @Test("a gauge label longer than the gauge is cut at its edge")
    func gaugeLongLabel() {
        let buffer = screen(5, 1) { area, buffer in Gauge(ratio: 1, label: "completed 100%", style: .plain).render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["compl"])
    }

    @Test("a gauge label with wide characters takes two cells each")
    func gaugeWideLabel() {
        let buffer = screen(6, 1) { area, buffer in Gauge(ratio: 0.5, label: "漢字", style: .plain).render(in: area, into: &buffer) }
        #expect(buffer.cells.map(\.symbol) == [" ", "漢", "", "字", "", " "])
        #expect(buffer.lines() == [" 漢字 "])
    }

    @Test("a gauge label is escaped like any other text")
    func gaugeEscapedLabel() {
        let buffer = screen(7, 1) { area, buffer in Gauge(ratio: 0, label: "\u{1B}[2J", style: .plain).render(in: area, into: &buffer) }
        #expect(buffer.lines() == [" ^[[2J "])
    }
}
