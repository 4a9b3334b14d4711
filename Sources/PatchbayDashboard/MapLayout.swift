import PatchbayInsights
import TerminalUI

/// Where each part of the integration map goes in a rectangle.
///
/// The hub stands in the middle, as tall as the systems it serves; systems stand in two columns
/// facing it, so every system that talks through the hub has one straight horizontal spoke to it and
/// no spoke crosses another. Integrations that bypass the hub (point-to-point, batch) join two systems
/// of the same column by a bracket on the column's outer side: the systems they join are put in the
/// same column for that. Senders lean left and receivers right, and the columns are balanced.
/// Pure: the same map in the same rectangle always gives the same layout; nil when it cannot be drawn
/// legibly there (the widget then lists the integrations instead).
struct MapLayout: Equatable {
    enum Side: Equatable { case left, right }

    struct Placed: Equatable {
        var id: String
        var side: Side
        /// The node's box (one row high when `compact`).
        var box: Rect
        /// The row its lines leave from.
        var row: Int
    }

    /// A direct integration drawn on a column's outer side.
    struct Bracket: Equatable {
        var edgeID: String
        var side: Side
        var laneX: Int
        var from: String
        var to: String
    }

    var nodes: [Placed]
    var hub: Rect
    var brackets: [Bracket]
    /// Nodes are one-row `│name│` labels instead of three-row boxes.
    var compact: Bool

    func node(_ id: String) -> Placed? { nodes.first { $0.id == id } }

    static let maxNodeWidth = 22
    static let minNodeWidth = 8
    static let minSpoke = 6

    static func make(for map: IntegrationMap, in area: Rect) -> MapLayout? {
        let (left, right) = columns(for: map)
        let n = max(left.count, right.count)
        guard area.height >= 3, n <= area.height else { return nil }

        // Rows: boxes when they fit, with a blank row between them when that fits too.
        let compact = 3 * n > area.height
        let boxHeight = compact ? 1 : 3
        let pitch = compact ? (2 * n - 1 <= area.height ? 2 : 1) : (4 * n - 1 <= area.height ? 4 : 3)
        func rows(_ count: Int) -> [Int] {
            let used = count * pitch - (pitch - boxHeight)
            let top = area.y + (area.height - used) / 2
            return (0..<count).map { top + $0 * pitch }
        }
        let leftRows = rows(left.count), rightRows = rows(right.count)

        // Brackets need lanes: interval partitioning, shortest first, each in the innermost free lane.
        let direct = map.edges.filter(\.isDirect)
        func lanes(_ names: [String], _ tops: [Int]) -> [(edge: IntegrationMap.Edge, lane: Int)] {
            let rowOf = Dictionary(uniqueKeysWithValues: zip(names, tops.map { $0 + boxHeight / 2 }))
            let mine = direct.filter { rowOf[$0.from] != nil && rowOf[$0.to] != nil }
                .map { (edge: $0, top: min(rowOf[$0.from]!, rowOf[$0.to]!), bottom: max(rowOf[$0.from]!, rowOf[$0.to]!)) }
                .sorted { ($0.bottom - $0.top, $0.top, $0.edge.id) < ($1.bottom - $1.top, $1.top, $1.edge.id) }
            var taken: [[(Int, Int)]] = []
            var out: [(edge: IntegrationMap.Edge, lane: Int)] = []
            for item in mine {
                var lane = 0
                while lane < taken.count, taken[lane].contains(where: { item.top <= $0.1 && $0.0 <= item.bottom }) { lane += 1 }
                if lane == taken.count { taken.append([]) }
                taken[lane].append((item.top, item.bottom))
                out.append((item.edge, lane))
            }
            return out
        }
        let leftLanes = lanes(left, leftRows), rightLanes = lanes(right, rightRows)
        let leftLaneCount = (leftLanes.map(\.lane).max() ?? -1) + 1
        let rightLaneCount = (rightLanes.map(\.lane).max() ?? -1) + 1
        // Each lane takes two columns, and one more keeps the arrow off the innermost lane.
        let leftMargin = leftLaneCount > 0 ? 2 * leftLaneCount + 1 : 0
        let rightMargin = rightLaneCount > 0 ? 2 * rightLaneCount + 1 : 0

        // Columns: names as wide as they are (within bounds), the rest shared by the two spokes.
        let padding = compact ? 2 : 4
        func width(_ names: [String]) -> Int {
            min(maxNodeWidth, max(minNodeWidth, (names.map { TextWidth.of($0) }.max() ?? 0) + padding))
        }
        var leftWidth = left.isEmpty ? 0 : width(left)
        var rightWidth = right.isEmpty ? 0 : width(right)
        let hubWidth = compact ? 10 : 12
        func needed() -> Int { leftMargin + leftWidth + hubWidth + rightWidth + rightMargin + 2 * minSpoke }
        while needed() > area.width && (leftWidth > minNodeWidth || rightWidth > minNodeWidth) {
            if leftWidth >= rightWidth && leftWidth > minNodeWidth { leftWidth -= 1 } else if rightWidth > minNodeWidth { rightWidth -= 1 } else { leftWidth -= 1 }
        }
        guard needed() <= area.width else { return nil }
        let spare = area.width - (leftMargin + leftWidth + hubWidth + rightWidth + rightMargin)
        let leftSpoke = spare / 2, rightSpoke = spare - spare / 2

        let leftX = area.x + leftMargin
        let hubX = leftX + leftWidth + leftSpoke
        let rightX = hubX + hubWidth + rightSpoke
        var nodes: [Placed] = []
        for (name, top) in zip(left, leftRows) {
            nodes.append(Placed(id: name, side: .left, box: Rect(x: leftX, y: top, width: leftWidth, height: boxHeight),
                                row: top + boxHeight / 2))
        }
        for (name, top) in zip(right, rightRows) {
            nodes.append(Placed(id: name, side: .right, box: Rect(x: rightX, y: top, width: rightWidth, height: boxHeight),
                                row: top + boxHeight / 2))
        }

        // The hub reaches one row past the outermost spokes, so none of them lands on its corners.
        let spokeRows = nodes.map(\.row)
        let hubTop = max(area.y, (spokeRows.min() ?? area.y + area.height / 2) - 1)
        let hubBottom = min(area.bottom - 1, max(hubTop + 2, (spokeRows.max() ?? area.y + area.height / 2) + 1))
        let hub = Rect(x: hubX, y: hubTop, width: hubWidth, height: hubBottom - hubTop + 1)

        var brackets: [Bracket] = []
        for (edge, lane) in leftLanes {
            brackets.append(Bracket(edgeID: edge.id, side: .left, laneX: leftX - 3 - 2 * lane, from: edge.from, to: edge.to))
        }
        for (edge, lane) in rightLanes {
            brackets.append(Bracket(edgeID: edge.id, side: .right, laneX: rightX + rightWidth + 2 + 2 * lane,
                                    from: edge.from, to: edge.to))
        }
        return MapLayout(nodes: nodes, hub: hub, brackets: brackets, compact: compact)
    }

    /// Names in reading order, case aside (and by case when that is all that differs).
    static func before(_ a: String, _ b: String) -> Bool {
        let (x, y) = (a.lowercased(), b.lowercased())
        return x != y ? x < y : a < b
    }

    /// The systems of each column, top to bottom.
    static func columns(for map: IntegrationMap) -> (left: [String], right: [String]) {
        var systems = map.nodes.filter { $0.kind == .system }.map(\.id)
        for edge in map.edges {
            for id in [edge.from, edge.to] where id != IntegrationMap.hubID && !systems.contains(id) { systems.append(id) }
        }
        // How much a system sends rather than receives.
        var lean: [String: Int] = [:]
        for edge in map.edges where edge.from != edge.to {
            lean[edge.from, default: 0] += 1
            lean[edge.to, default: 0] -= 1
        }
        // Systems joined by direct integrations share a column: group them (union-find).
        var parent = Dictionary(uniqueKeysWithValues: systems.map { ($0, $0) })
        func root(_ id: String) -> String {
            var id = id
            while let up = parent[id], up != id { id = up }
            return id
        }
        for edge in map.edges where edge.isDirect {
            let a = root(edge.from), b = root(edge.to)
            if a != b { parent[max(a, b)] = min(a, b) }
        }
        struct Group { var members: [String]; var lean: Int }
        var byRoot: [String: [String]] = [:]
        for id in systems { byRoot[root(id), default: []].append(id) }
        let groups = byRoot.values.map { members -> Group in
            let sorted = members.sorted(by: before)
            return Group(members: sorted, lean: sorted.reduce(0) { $0 + (lean[$1] ?? 0) })
        }.sorted { before($0.members[0], $1.members[0]) }

        var left: [Group] = [], right: [Group] = []
        func count(_ side: [Group]) -> Int { side.reduce(0) { $0 + $1.members.count } }
        for group in groups where group.lean != 0 {
            if group.lean > 0 { left.append(group) } else { right.append(group) }
        }
        for group in groups where group.lean == 0 {
            if count(left) <= count(right) { left.append(group) } else { right.append(group) }
        }
        // Balance: move the least one-sided groups from the fuller column while that evens them out.
        while true {
            let difference = count(left) - count(right)
            let fuller = difference > 0 ? left : right
            let candidates = fuller.indices.filter { fuller[$0].members.count < abs(difference) }
            guard abs(difference) > 1,
                  let pick = candidates.min(by: { (abs(fuller[$0].lean), fuller[$0].members.count, $0) < (abs(fuller[$1].lean), fuller[$1].members.count, $1) })
            else { break }
            if difference > 0 { right.append(left.remove(at: pick)) } else { left.append(right.remove(at: pick)) }
        }
        func ordered(_ side: [Group]) -> [String] {
            side.sorted { before($0.members[0], $1.members[0]) }.flatMap(\.members)
        }
        return (ordered(left), ordered(right))
    }
}

extension IntegrationMap.Edge {
    /// Drawn as a spoke to the hub: it passes through the hub, or starts or ends there (an import the
    /// hub itself loads, an export it writes).
    var touchesHub: Bool { via != nil || from == IntegrationMap.hubID || to == IntegrationMap.hubID }

    /// Drawn as a bracket between two systems: it bypasses the hub.
    var isDirect: Bool { !touchesHub && from != to }

    /// A spoke edge of this system.
    func isSpoke(of system: String) -> Bool { touchesHub && (from == system || to == system) }
}
