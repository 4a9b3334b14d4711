import Foundation
import PatchbayInsights
import PatchbayStore
import TerminalUI

/// The map view (`8`, `:map`): the drawing, the advisor beside it and the integrations as a table, whose
/// selection is the selected edge everywhere.
extension Dashboard {
    /// Keys of the map view: what the footer shows and `?` lists.
    static let mapKeys: [(key: String, action: String)] = [
        ("j/k tab", "select integration"), ("enter", "its connector"), ("ctrl-r", "re-read 7 days"),
    ]

    // MARK: Loading

    /// Reads the map when it was never read, was asked for again (opening the view, `ctrl-r`), or is
    /// older than `DashboardState.mapRefresh`: it reads days of rollups, so never per change or frame.
    func reloadMap() {
        let now = state.now
        if let asked = state.mapRequestedAt, now.timeIntervalSince(asked) < DashboardState.mapRefresh { return }
        state.mapRequestedAt = now
        let reader = self.reader
        let days = DashboardState.mapDays
        executor.submit { Self.load { .map(try reader.mapSnapshot(now: now, days: days)) } }
    }

    // MARK: Selection

    /// The selected integration: the table's selected row.
    func selectedEdge() -> IntegrationMap.Edge? {
        guard state.screen == .map, let map = state.mapSnapshot?.map, let id = selectedId(),
              map.edges.indices.contains(Int(id)) else { return nil }
        return map.edges[Int(id)]
    }

    /// Enter on an integration: the connectors view, with its connector selected: the sink (where its
    /// deliveries go, and whose pattern is the integration's), or for an import the hub loads itself,
    /// the source.
    func openSelectedEdge() {
        guard let edge = selectedEdge() else { toast("No integration selected"); return }
        state.focusConnector = edge.to == IntegrationMap.hubID ? edge.sourceConnector : edge.sinkConnector
        go(.connectors)
        applyConnectorFocus()
    }

    /// Selects `focusConnector` in the connectors view once its rows are there (clearing a filter that
    /// hides it).
    func applyConnectorFocus() {
        guard let name = state.focusConnector, state.screen == .connectors, !state.connectorStatuses.isEmpty else { return }
        state.focusConnector = nil
        guard let connector = state.connectorStatuses.first(where: { $0.connector.name == name })?.connector else {
            toast("No connector named '\(name)' (removed since the map was read?)", error: true)
            return
        }
        var rows = Rows.connectors(state.connectorStatuses, series: state.connectorSeries, theme: theme, now: state.now)
            .arranged(by: state.list("connectors"))
        if !rows.ids.contains(connector.id) {
            state.lists["connectors", default: ListState()].filter = ""
            rows = Rows.connectors(state.connectorStatuses, series: state.connectorSeries, theme: theme, now: state.now)
                .arranged(by: state.list("connectors"))
        }
        if let index = rows.ids.firstIndex(of: connector.id) {
            state.lists["connectors", default: ListState()].selected = index
        }
    }

    // MARK: Drawing

    func renderMap(in area: Rect, into buffer: inout Buffer) {
        let snapshot = state.mapSnapshot
        let edgeCount = snapshot?.map.edges.count ?? 0
        let tableHeight = min(max(edgeCount, 1) + 3, max(6, area.height / 3))
        let graph: Rect, advisor: Rect, table: Rect
        if area.width >= 100 {
            let rows = Layout.vertical([.fill(1), .length(tableHeight)]).split(area)
            let top = Layout.horizontal([.fill(1), .length(min(44, area.width * 36 / 100))]).split(rows[0])
            (graph, advisor, table) = (top[0], top[1], rows[1])
        } else {
            let rows = Layout.vertical([.fill(1), .length(tableHeight), .length(max(4, area.height / 4))]).split(area)
            (graph, table, advisor) = (rows[0], rows[1], rows[2])
        }
        let edge = selectedEdge()

        var title = "Integration map · \(DashboardState.mapDays) days"
        if let map = snapshot?.map {
            let systems = map.nodes.filter { $0.kind == .system }.count
            title += " · \(systems) systems · \(map.edges.count) integrations"
        }
        let graphInner = Block(title: Line(title, theme.title), borderStyle: theme.border, titleStyle: theme.title)
            .render(in: graph, into: &buffer)
        if let map = snapshot?.map {
            IntegrationMapWidget(map: map, selectedEdge: edge?.id, theme: theme).render(in: graphInner, into: &buffer)
        } else if !graphInner.isEmpty {
            buffer.write("Reading \(DashboardState.mapDays) days of traffic…", x: graphInner.x + 1, y: graphInner.y,
                         maxWidth: graphInner.width - 1, style: theme.muted)
        }

        let advisorInner = Block(title: Line("Advisor", theme.title), borderStyle: theme.border, titleStyle: theme.title)
            .render(in: advisor, into: &buffer)
        if let advice = snapshot?.advice {
            AdvisorPanel(advice: advice, selectedEdge: edge?.id, theme: theme).render(in: advisorInner, into: &buffer)
        }

        let tableInner = Block(title: Line("Integrations", theme.title), borderStyle: theme.border, titleStyle: theme.title)
            .render(in: table, into: &buffer)
        guard !tableInner.isEmpty, snapshot != nil, let rows = currentRows() else { return }
        if rows.ids.isEmpty {
            buffer.write("No integrations carried traffic in the last \(DashboardState.mapDays) days.",
                         x: tableInner.x + 1, y: tableInner.y, maxWidth: tableInner.width - 2, style: theme.muted)
            return
        }
        // Narrow tables keep the figures that matter most.
        let keep = tableInner.width >= 110 ? Array(rows.columns.indices)
            : tableInner.width >= 76 ? [0, 2, 4, 6, 7, 8, 9] : [0, 4, 7, 8]
        drawTable(key: "map", columns: keep.map { rows.columns[$0] }, rows: rows.rows.map { row in keep.map { row[$0] } },
                  in: tableInner, into: &buffer, showSelection: true, ids: rows.ids)
    }
}
