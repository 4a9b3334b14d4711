import PatchbayInsights
import PatchbayText
import TerminalUI

/// The advisor's recommendations, each with its measured reason: the installation first, then the
/// selected integration, then every other integration or job where the advisor suggests a change.
/// Recommendations that only confirm the current pattern are counted, not listed, so the panel shows
/// what to act on. Pure: `render` only writes cells, wrapping lines to the area.
struct AdvisorPanel {
    var advice: Advice
    /// The selected edge's id (its recommendation is shown second, whatever it says).
    var selectedEdge: String?
    var theme: Theme

    func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        // Words wrap whole; a word wider than the panel is cut by the paragraph.
        Paragraph(lines().flatMap { Self.wordWrap($0, width: area.width) }, wrap: true).render(in: area, into: &buffer)
    }

    /// A line broken at spaces into lines of at most `width` columns, styles kept.
    static func wordWrap(_ line: Line, width: Int) -> [Line] {
        guard width > 0 else { return [line] }
        // Words and single spaces, each with its span's style; measured as drawn (controls shown escaped).
        var tokens: [Span] = []
        for span in line.spans {
            for character in SafeText.line(span.text) {
                if character == " " || tokens.last?.text == " " || tokens.last?.style != span.style || tokens.isEmpty {
                    tokens.append(Span(String(character), span.style))
                } else {
                    tokens[tokens.count - 1].text.append(character)
                }
            }
        }
        var lines: [Line] = []
        var current: [Span] = []
        var used = 0
        for token in tokens {
            let w = TextWidth.of(token.text)
            if token.text == " " && used == 0 && !lines.isEmpty { continue }  // no space starts a wrapped line
            if used + w > width && used > 0 && token.text != " " {
                while current.last?.text == " " { current.removeLast() }
                lines.append(Line(current))
                current = []
                used = 0
            }
            current.append(token)
            used += w
        }
        lines.append(Line(current))
        return lines
    }

    func lines() -> [Line] {
        var lines = recommendation(advice.installation, heading: "Installation")
        let selected = advice.integrations.first { $0.edgeID != nil && $0.edgeID == selectedEdge }
        if let selected {
            lines.append("")
            lines += recommendation(selected, heading: "Selected · \(selected.subject)")
        }
        let others = advice.integrations.filter { $0 != selected && $0.verdict != .keep }
        let confirmed = advice.integrations.filter { $0 != selected && $0.verdict == .keep }.count
        for other in others {
            lines.append("")
            lines += recommendation(other, heading: other.subject)
        }
        if confirmed > 0 {
            lines.append("")
            lines.append(Line(confirmed == 1 ? "1 other integration fits its pattern."
                              : "\(confirmed) other integrations fit their patterns.", theme.muted))
        }
        return lines
    }

    func recommendation(_ r: Advice.Recommendation, heading: String) -> [Line] {
        let verdict: Line
        switch r.verdict {
        case .keep:
            verdict = Line([Span("✓ keep ", theme.ok), Span(MapFormat.pattern(r.current), theme.text)])
        case .change:
            verdict = Line([Span("→ ", theme.warn), Span(MapFormat.pattern(r.current), theme.muted),
                            Span(" → ", theme.warn), Span(MapFormat.pattern(r.recommended), theme.header)])
        case .addRedundancy:
            verdict = Line([Span("! ", theme.warn), Span("add a second hub node", theme.header)])
        case .insufficientData:
            verdict = Line([Span("? ", theme.muted), Span("too little traffic to say", theme.muted)])
        }
        var lines = [Line(heading, theme.title), verdict, Line(r.reason, theme.text)]
        if let cost = r.cost, !cost.summary.isEmpty { lines.append(Line([Span("cost ", theme.muted), Span(cost.summary, theme.text)])) }
        if let growth = r.growth, !growth.summary.isEmpty {
            lines.append(Line([Span("growth ", theme.muted), Span(growth.summary, theme.text)]))
        }
        return lines
    }
}
