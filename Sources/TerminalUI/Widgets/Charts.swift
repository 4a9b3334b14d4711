import PatchbayText

/// One row of block characters, each a value scaled to the series' maximum.
public struct Sparkline: Sendable {
    public var values: [Int]
    public var style: Style
    public var maxValue: Int?

    static let bars: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public init(_ values: [Int], style: Style = .plain, maxValue: Int? = nil) {
        self.values = values
        self.style = style
        self.maxValue = maxValue
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        let shown = Array(values.suffix(area.width))
        let top = max(1, maxValue ?? shown.max() ?? 1)
        let start = area.right - shown.count
        for (index, value) in shown.enumerated() {
            let level = value <= 0 ? 0 : max(1, min(8, value * 8 / top))
            buffer[start + index, area.bottom - 1] = Cell(String(Sparkline.bars[level]), style: style)
        }
    }
}

/// Several series over time drawn as columns of block characters, newest on the right, with a
/// y-axis label of the maximum. Later series are drawn over earlier ones where they overlap.
public struct TimeChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var values: [Int]
        public var style: Style

        public init(_ name: String, _ values: [Int], style: Style) {
            self.name = name
            self.values = values
            self.style = style
        }
    }

    public var series: [Series]
    public var axisStyle: Style

    public init(series: [Series], axisStyle: Style = .plain) {
        self.series = series
        self.axisStyle = axisStyle
    }

    static let eighths: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard area.width >= 8, area.height >= 2 else { return }
        let top = max(1, series.flatMap(\.values).max() ?? 1)
        let label = "\(top)"
        let labelWidth = TextWidth.of(label) + 1
        guard area.width > labelWidth else { return }
        buffer.write(label, x: area.x, y: area.y, style: axisStyle)
        buffer.write("0", x: area.x + labelWidth - 2, y: area.bottom - 1, style: axisStyle)
        for y in area.y..<area.bottom { buffer[area.x + labelWidth - 1, y] = Cell("│", style: axisStyle) }
        let plot = Rect(x: area.x + labelWidth, y: area.y, width: area.width - labelWidth, height: area.height)
        let levels = plot.height * 8
        for serie in series {
            let shown = Array(serie.values.suffix(plot.width))
            let start = plot.right - shown.count
            for (column, value) in shown.enumerated() where value > 0 {
                let height = max(1, value * levels / top)
                for row in 0..<plot.height {
                    let filled = min(8, height - row * 8)
                    guard filled > 0 else { break }
                    buffer[start + column, plot.bottom - 1 - row] = Cell(String(TimeChart.eighths[filled]), style: serie.style)
                }
            }
        }
    }
}

/// A labelled horizontal bar: `label ████████░░░░ value`.
public struct BarRow: Sendable {
    public var label: String
    public var value: Int64
    public var maxValue: Int64
    public var valueText: String
    public var style: Style
    public var labelWidth: Int

    public init(label: String, value: Int64, maxValue: Int64, valueText: String, style: Style, labelWidth: Int) {
        self.label = label
        self.value = value
        self.maxValue = maxValue
        self.valueText = valueText
        self.style = style
        self.labelWidth = labelWidth
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard area.height >= 1, area.width > labelWidth + 4 else { return }
        buffer.write(TextWidth.truncate(label, to: labelWidth), x: area.x, y: area.y, maxWidth: labelWidth)
        // Cut to the room left of the label, so a long value never reaches past the area's left edge.
        let shownValue = TextWidth.truncate(SafeText.line(valueText), to: area.width - labelWidth - 2)
        let valueWidth = TextWidth.of(shownValue)
        let barWidth = max(0, area.width - labelWidth - valueWidth - 2)
        // In Double: amounts near Int64.max would overflow `value * barWidth`.
        let filled = maxValue > 0 ? Int(Double(min(max(0, value), maxValue)) * Double(barWidth) / Double(maxValue)) : 0
        let x = area.x + labelWidth + 1
        for i in 0..<barWidth {
            buffer[x + i, area.y] = i < filled ? Cell("█", style: style) : Cell("·", style: Style(dim: true))
        }
        buffer.write(shownValue, x: area.right - valueWidth, y: area.y, maxWidth: valueWidth)
    }
}

/// A one-line gauge: a fraction of its width filled.
public struct Gauge: Sendable {
    public var ratio: Double
    public var label: String
    public var style: Style

    public init(ratio: Double, label: String, style: Style) {
        self.ratio = ratio
        self.label = label
        self.style = style
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        let filled = Int((min(1, max(0, ratio.isFinite ? ratio : 0)) * Double(area.width)).rounded())
        for i in 0..<area.width {
            buffer[area.x + i, area.y] = Cell(" ", style: i < filled ? style.reversed : .plain)
        }
        let shown = SafeText.line(label)
        let x = area.x + max(0, (area.width - TextWidth.of(shown)) / 2)
        buffer.write(shown, x: x, y: area.y, maxWidth: area.right - x)
        buffer.setStyle(style.reversed, in: Rect(x: area.x, y: area.y, width: filled, height: 1))
    }
}
