import PatchbayText

/// A plain text table for human output. Every cell is sanitised and cut to its column's width.
public struct TextTable {
    public var headers: [String]
    public var rows: [[String]] = []
    /// Widest a column may be; longer cells end in `…`.
    public var maxWidth: Int

    public init(_ headers: [String], maxWidth: Int = 60) {
        self.headers = headers
        self.maxWidth = maxWidth
    }

    public mutating func add(_ cells: [String]) {
        rows.append(cells.map { SafeText.line($0) })
    }

    public func rendered() -> String {
        let headers = self.headers.map { SafeText.line($0) }
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = min(maxWidth, max(widths[index], cell.count))
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let width = widths[index]
                let cut = cell.count > width ? String(cell.prefix(width - 1)) + "…" : cell
                return index == cells.count - 1 ? cut : cut.padding(toLength: width, withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        var out = [line(headers)]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}
