import Foundation

/// A goal a figure is held to, and whether the run met it.
struct Goal: Sendable {
    var text: String
    var met: Bool

    static func atLeast(_ perSecond: Double, _ goal: Double) -> Goal {
        Goal(text: "≥ " + Format.rate(goal), met: perSecond >= goal)
    }

    static func atMost(_ seconds: Double, _ goal: Double) -> Goal {
        Goal(text: "≤ " + Format.duration(goal), met: seconds <= goal)
    }

    var verdict: String { met ? "met" : "MISSED" }
}

/// Columns of text, padded to line up; numeric columns right-aligned.
struct TextTable: Sendable {
    var headers: [String]
    var rightAligned: Set<Int> = []
    var rows: [[String]] = []

    mutating func add(_ row: [String]) { rows.append(row) }

    func render(indent: String = "  ") -> String {
        let all = [headers] + rows
        var widths = Array(repeating: 0, count: headers.count)
        for row in all {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        func line(_ row: [String]) -> String {
            var cells: [String] = []
            for column in 0..<widths.count {
                let cell = column < row.count ? row[column] : ""
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                cells.append(rightAligned.contains(column) ? pad + cell : cell + pad)
            }
            return indent + cells.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        let rule = indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(headers), rule] + rows.map(line)).joined(separator: "\n")
    }
}

/// One line of the closing summary.
struct SummaryLine: Sendable {
    var section: String
    var name: String
    var value: String
    var goal: Goal?
}

/// What the run prints: sections as they finish (so a long run shows progress), then a summary.
struct Report {
    private(set) var summary: [SummaryLine] = []

    func section(_ title: String) {
        emit("\n== \(title) ==")
    }

    func emit(_ text: String) {
        // Unbuffered, so a report piped to a file shows each section as it finishes.
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Progress for the person watching; goes to stderr so that stdout stays a clean report.
    func progress(_ text: String) {
        FileHandle.standardError.write(Data(("  … " + text + "\n").utf8))
    }

    mutating func record(_ section: String, _ name: String, _ value: String, goal: Goal? = nil) {
        summary.append(SummaryLine(section: section, name: name, value: value, goal: goal))
    }

    func printSummary() {
        guard !summary.isEmpty else { return }
        section("Summary")
        var table = TextTable(headers: ["area", "figure", "measured", "goal", "verdict"], rightAligned: [2])
        for line in summary {
            table.add([line.section, line.name, line.value, line.goal?.text ?? "", line.goal?.verdict ?? ""])
        }
        emit(table.render())
        let goals = summary.compactMap(\.goal)
        let missed = goals.filter { !$0.met }.count
        emit("\n  \(goals.count - missed) of \(goals.count) goals met" + (missed > 0 ? ", \(missed) missed" : ""))
    }
}
