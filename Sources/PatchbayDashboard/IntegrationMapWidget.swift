import PatchbayInsights
import TerminalUI

/// The integration map drawn with box characters: systems in two columns around the hub, one spoke
/// per system that talks through the hub (arrows show which way events go, the label its deliveries a
/// day, the colour the worst health of its integrations) and a bracket on the outer side for each
/// integration that bypasses the hub. The selected integration is drawn heavy.
///
/// Pure: `render` only writes cells. Where the map cannot be drawn legibly (too many systems for the
/// rows, names too long for the columns, a tiny area) it lists the integrations instead, one a row.
struct IntegrationMapWidget {
    var map: IntegrationMap
    /// The selected edge's id; selection lives in the view's state.
    var selectedEdge: String?
    var theme: Theme

    func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        guard let layout = MapLayout.make(for: map, in: area) else {
            renderList(in: area, into: &buffer)
            return
        }
        let selected = map.edges.first { $0.id == selectedEdge }
        var canvas = BoxCanvas(area: area)
        canvas.box(layout.hub, weight: .double, style: theme.accent, rank: 1)

        for placed in layout.nodes {
            let touched = selected.map { $0.from == placed.id || $0.to == placed.id } ?? false
            let style = touched ? theme.focusedBorder : nodeBorder(placed.id)
            if layout.compact {
                for x in [placed.box.x, placed.box.right - 1] {
                    canvas.add(x: x, y: placed.row, .vertical, weight: touched ? .heavy : .light, style: style, rank: touched ? 2 : 0)
                }
            } else {
                canvas.box(placed.box, weight: touched ? .heavy : .light, style: style, rank: touched ? 2 : 0)
            }
        }

        var spokes: [(placed: MapLayout.Placed, edges: [IntegrationMap.Edge], selected: Bool, style: Style)] = []
        for placed in layout.nodes {
            let edges = map.edges.filter { $0.isSpoke(of: placed.id) }
            guard !edges.isEmpty else { continue }
            let onSelected = selected?.isSpoke(of: placed.id) ?? false
            let worst = edges.map(\.health).max { MapFormat.severity($0) < MapFormat.severity($1) } ?? .unknown
            let style = onSelected ? theme.focusedBorder : MapFormat.style(worst, theme: theme)
            let (nodeX, hubX) = placed.side == .left ? (placed.box.right - 1, layout.hub.x) : (placed.box.x, layout.hub.right - 1)
            canvas.horizontal(y: placed.row, from: nodeX, to: hubX, weight: onSelected ? .heavy : .light,
                              style: style, rank: onSelected ? 3 : 1)
            spokes.append((placed, edges, onSelected, style))
        }

        var bracketEnds: [(x: Int, y: Int, arrow: String, style: Style)] = []
        for bracket in layout.brackets {
            guard let from = layout.node(bracket.from), let to = layout.node(bracket.to),
                  let edge = map.edges.first(where: { $0.id == bracket.edgeID }) else { continue }
            let onSelected = bracket.edgeID == selectedEdge
            let style = onSelected ? theme.focusedBorder : MapFormat.style(edge.health, theme: theme)
            let weight: BoxCanvas.Weight = onSelected ? .heavy : .light
            let rank = onSelected ? 3 : 1
            for end in [from, to] {
                let edgeX = bracket.side == .left ? end.box.x : end.box.right - 1
                canvas.horizontal(y: end.row, from: bracket.laneX, to: edgeX, weight: weight, style: style, rank: rank)
            }
            canvas.vertical(x: bracket.laneX, from: from.row, to: to.row, weight: weight, style: style, rank: rank)
            bracketEnds.append(bracket.side == .left ? (to.box.x - 1, to.row, "▶", style) : (to.box.right, to.row, "◀", style))
        }
        canvas.render(into: &buffer)

        // Words and arrows go over the lines.
        for end in bracketEnds { buffer.write(end.arrow, x: end.x, y: end.y, maxWidth: 1, style: end.style) }
        for spoke in spokes {
            let placed = spoke.placed
            let sends = spoke.edges.contains { $0.from == placed.id }
            let receives = spoke.edges.contains { $0.to == placed.id }
            // The cells strictly between the node's side and the hub's.
            let (first, last) = placed.side == .left
                ? (placed.box.right, layout.hub.x - 1) : (layout.hub.right, placed.box.x - 1)
            let towardHub = placed.side == .left ? "▶" : "◀"
            let towardNode = placed.side == .left ? "◀" : "▶"
            if sends { buffer.write(towardHub, x: placed.side == .left ? last : first, y: placed.row, maxWidth: 1, style: spoke.style) }
            if receives { buffer.write(towardNode, x: placed.side == .left ? first : last, y: placed.row, maxWidth: 1, style: spoke.style) }
            let label = " \(MapFormat.perDayShort(spoke.edges.reduce(0) { $0 + $1.eventsPerDay })) "
            let room = last - first - 3  // an arrow and a line cell kept at each end
            let width = TextWidth.of(label)
            if width <= room {
                let x = first + 2 + (room - width + 1) / 2
                buffer.write(label, x: x, y: placed.row, maxWidth: width,
                             style: spoke.selected ? theme.title : theme.muted)
            }
        }
        for placed in layout.nodes {
            let touched = selected.map { $0.from == placed.id || $0.to == placed.id } ?? false
            let inset = layout.compact ? 1 : 2
            let width = placed.box.width - 2 * inset
            guard width > 0 else { continue }
            buffer.write(TextWidth.truncate(placed.id, to: width), x: placed.box.x + inset, y: placed.row, maxWidth: width,
                         style: touched ? theme.title : theme.text)
        }
        renderHubLabel(layout.hub, into: &buffer)
    }

    private func nodeBorder(_ id: String) -> Style {
        guard let health = map.node(id)?.health, health != .healthy, health != .unknown else { return theme.border }
        return MapFormat.style(health, theme: theme)
    }

    private func renderHubLabel(_ hub: Rect, into buffer: inout Buffer) {
        let inner = hub.inset(by: 1)
        guard !inner.isEmpty else { return }
        let perDay = map.node(IntegrationMap.hubID)?.eventsPerDay
            ?? map.edges.filter(\.touchesHub).reduce(0) { $0 + $1.eventsPerDay }
        let lines: [(String, Style)] = [("Patchbay", theme.title), ("hub", theme.muted), (MapFormat.perDayShort(perDay), theme.muted)]
        let shown = lines.prefix(inner.height)
        let top = inner.y + (inner.height - shown.count) / 2
        for (index, (text, style)) in shown.enumerated() {
            let text = TextWidth.truncate(text, to: inner.width)
            let x = inner.x + (inner.width - TextWidth.of(text)) / 2
            buffer.write(text, x: x, y: top + index, maxWidth: inner.width, style: style)
        }
    }

    /// The fallback: one integration a row, `from → to  3.8k/d`, the selected one highlighted.
    private func renderList(in area: Rect, into buffer: inout Buffer) {
        guard !map.edges.isEmpty else {
            buffer.write("No integrations.", x: area.x, y: area.y, maxWidth: area.width, style: theme.muted)
            return
        }
        let selectedIndex = map.edges.firstIndex { $0.id == selectedEdge }
        let first = Table.scrollOffset(selected: selectedIndex, previous: 0, visibleRows: area.height, count: map.edges.count)
        for row in 0..<area.height {
            let index = first + row
            guard index < map.edges.count else { break }
            let edge = map.edges[index]
            let y = area.y + row
            let isSelected = index == selectedIndex
            var line = Line([
                Span(isSelected ? "›" : " ", theme.accent),
                Span(edge.from, theme.text),
                Span(edge.touchesHub ? " ⇒ " : " → ", MapFormat.style(edge.health, theme: theme)),
                Span(edge.to, theme.text),
                Span(" \(MapFormat.perDayShort(edge.eventsPerDay))", theme.muted),
            ])
            if isSelected {
                buffer.setStyle(theme.selection, in: Rect(x: area.x, y: y, width: area.width, height: 1))
                line.spans = line.spans.map { Span($0.text, theme.selection.over($0.style)) }
            }
            buffer.write(line, x: area.x, y: y, maxWidth: area.width)
        }
    }
}
