import Foundation

/// A connector in the database that a hub configuration does not name, with the deliveries it holds.
///
/// No worker sends an orphaned connector's deliveries: until an operator moves them to another
/// connector (`patchbay retry --to`) or discards them, they wait forever.
public struct OrphanedConnector: Sendable, Equatable {
    public var name: String
    public var direction: ConnectorDirection
    public var pending: Int
    public var inFlight: Int
    public var retrying: Int
    public var dead: Int

    public init(name: String, direction: ConnectorDirection, pending: Int = 0, inFlight: Int = 0, retrying: Int = 0,
                dead: Int = 0) {
        self.name = name
        self.direction = direction
        self.pending = pending
        self.inFlight = inFlight
        self.retrying = retrying
        self.dead = dead
    }

    /// Deliveries still waiting for a worker: pending, in flight and retrying.
    public var unfinished: Int { pending + inFlight + retrying }

    /// `3 pending, 9 retrying; 4 dead`: the counts that are not zero.
    public var countsText: String {
        let waiting = [(pending, "pending"), (inFlight, "in flight"), (retrying, "retrying")]
            .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        return dead > 0 ? "\(waiting); \(dead) dead" : waiting
    }

    /// The warning `check` prints and `run` logs, with the two commands that resolve it.
    ///
    /// - Parameter database: the database path to name in the commands (`--db`), if not the default.
    public func warning(database: String? = nil) -> String {
        let db = database.map { " --db \(shellQuoted($0))" } ?? ""
        let name = shellQuoted(self.name)
        return "connector '\(self.name)' is not in this configuration but has \(unfinished) unfinished "
            + "deliver\(unfinished == 1 ? "y" : "ies") (\(countsText)); they will not be sent: "
            + "retry them to another connector (patchbay retry --all --connector \(name) --to NEW\(db)) "
            + "or discard them (patchbay discard --all --connector \(name)\(db))"
    }

    private func shellQuoted(_ text: String) -> String {
        text.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) } ? text : "'\(text.replacingOccurrences(of: "'", with: "'\\''"))'"
    }
}

/// A connector and how many of its deliveries are in each state.
public struct ConnectorStatus: Sendable, Equatable {
    public var connector: Connector
    public var counts: [DeliveryState: Int]

    public init(connector: Connector, counts: [DeliveryState: Int]) {
        self.connector = connector
        self.counts = counts
    }

    public func count(_ state: DeliveryState) -> Int { counts[state] ?? 0 }
}

extension OrphanedConnector {
    /// The orphaned connectors, built from per-state delivery counts (`delivery_counts` rows of the
    /// connectors a configuration does not name), sorted by connector name: how every backend turns
    /// those rows into the list `check` and `run` warn about.
    public struct Tally: Sendable {
        private var orphans: [OrphanedConnector] = []

        public init() {}

        /// One connector's count in one state. Rows come sorted by connector name; states other
        /// than pending, in flight, retrying and dead are left out.
        public mutating func add(name: String, direction: ConnectorDirection, state: String, count: Int) {
            if orphans.last?.name != name { orphans.append(OrphanedConnector(name: name, direction: direction)) }
            switch DeliveryState(rawValue: state) {
            case .pending: orphans[orphans.count - 1].pending = count
            case .inFlight: orphans[orphans.count - 1].inFlight = count
            case .retrying: orphans[orphans.count - 1].retrying = count
            case .dead: orphans[orphans.count - 1].dead = count
            default: break
            }
        }

        /// Those still holding unfinished deliveries (pending, in flight or retrying): dead ones
        /// alone wait for nobody.
        public var unfinished: [OrphanedConnector] { orphans.filter { $0.unfinished > 0 } }
    }
}
