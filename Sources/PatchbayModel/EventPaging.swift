import Foundation

/// Which index drives an event-list read: the same choice on every backend, so that a filter on a
/// connector or on a state costs what it returns on each, not a walk through the log.
public enum EventDriver: Sendable, Equatable {
    /// The events a connector sent or is a target of (`events_by_source`, `deliveries_by_connector`).
    case connector(ConnectorID)
    /// Events with a delivery retrying, dead or discarded (`deliveries_failing_by_event`).
    case failing(DeliveryState)
    /// Events with a delivery pending or in flight: the queue's own partial index, read whole (it
    /// holds the work not yet done, not the log).
    case queued(DeliveryState)

    /// The driver of a filter: its state if it names one an index selects, else its connector;
    /// nil when neither does (the log is then read newest first).
    public init?(filter: EventFilter) {
        switch filter.state {
        case .retrying?, .dead?, .discarded?: self = .failing(filter.state!)
        case .pending?: self = .queued(.pending)
        case .inFlight?: self = .queued(.inFlight)
        case .delivered?, nil:
            guard let connector = filter.connectorId else { return nil }
            self = .connector(connector)
        }
    }

    /// True when the driver already selects the events with a delivery in `state`: the filter then
    /// needs no clause of its own for it.
    public static func drives(_ driver: EventDriver?, state: DeliveryState) -> Bool {
        switch driver {
        case .failing(let driven)?, .queued(let driven)?: return driven == state
        case .connector?, nil: return false
        }
    }
}

extension EventFilter {
    /// True when the filter searches text: the read then runs within a `TextSearchBudget`.
    public var searchesText: Bool { text.map { !$0.isEmpty } ?? false }
}

extension TextSearchBudget {
    /// When a read for `filter`, starting now, must stop: nil when it searches no text or the
    /// budget has no time limit.
    public func deadline(for filter: EventFilter) -> ContinuousClock.Instant? {
        filter.searchesText && seconds.isFinite
            ? ContinuousClock.now + .milliseconds(Int64(max(0, seconds) * 1000)) : nil
    }
}

/// How a page of the event log is gathered from a backend's reads, newest first and keyset on the
/// event id: the same steps, chunk sizes and stopping rules on every backend, whatever its rows
/// are. The backends supply the statements (as closures) and decode the rows.
public enum EventPaging {
    /// A page's rows, newest first, the cursor of the next (older) page, and whether the read stopped
    /// at its time budget before the page was full.
    public struct Found<Row> {
        public var rows: [Row]
        public var next: EventID?
        public var partial: Bool

        public init(rows: [Row], next: EventID?, partial: Bool) {
            self.rows = rows
            self.next = next
            self.partial = partial
        }
    }

    /// Candidates a driven read asks for at most at once: it starts at the page and grows fourfold.
    public static let largestChunk = 20_000

    /// The first `limit` rows, and the cursor after them when there were more (read `limit + 1`).
    public static func trimmed<Row>(_ rows: [Row], limit: Int, id: (Row) -> EventID) -> Found<Row> {
        guard rows.count > limit else { return Found(rows: rows, next: nil, partial: false) }
        let page = Array(rows.prefix(limit))
        return Found(rows: page, next: page.last.map(id), partial: false)
    }

    /// A text search with no driving index: the log newest first, one window of ids at a time,
    /// until the page is full, the log ends, or the deadline passes (then `partial`, with the
    /// cursor where it stopped).
    ///
    /// - Parameters:
    ///   - lowest, highest: the log's smallest and largest event ids.
    ///   - read: the page rows with ids in `lower..<upper`, newest first, at most `limit` of them.
    public static func searched<Row>(
        lowest: EventID, highest: EventID, before: EventID?, limit: Int, window: Int64,
        deadline: ContinuousClock.Instant?, id: (Row) -> EventID,
        read: (_ upper: EventID, _ lower: EventID, _ limit: Int) throws -> [Row]
    ) rethrows -> Found<Row> {
        var upper = min(before ?? (highest + 1), highest + 1)  // exclusive
        var rows: [Row] = []
        while upper > lowest {
            let lower = max(lowest, upper - window)
            rows += try read(upper, lower, limit + 1 - rows.count)
            if rows.count > limit { return trimmed(rows, limit: limit, id: id) }
            upper = lower
            if upper > lowest, let deadline, ContinuousClock.now >= deadline {
                return Found(rows: rows, next: upper, partial: true)
            }
        }
        return Found(rows: rows, next: nil, partial: false)
    }

    /// A read with a driving index: candidate ids from the index, newest first, in chunks that grow
    /// from the page's size to `largestChunk`, then the page's rows for those of them that pass the
    /// other filters, until the page is full, the candidates run out, or the deadline passes.
    ///
    /// - Parameters:
    ///   - candidates: the newest `count` candidate ids below `below`, newest first.
    ///   - rows: the page rows among `ids` that pass the filter, in any order.
    public static func driven<Row>(
        before: EventID?, limit: Int, deadline: ContinuousClock.Instant?, id: (Row) -> EventID,
        candidates: (_ below: EventID, _ count: Int) throws -> [EventID],
        rows matching: (_ ids: [EventID]) throws -> [Row]
    ) rethrows -> Found<Row> {
        var rows: [Row] = []
        var upper = before  // exclusive
        var chunk = limit + 1
        while true {
            let ids = try candidates(upper ?? Int64.max, chunk)
            if ids.isEmpty { return Found(rows: rows, next: nil, partial: false) }
            rows += try matching(ids).sorted { id($0) > id($1) }
            if rows.count > limit { return trimmed(rows, limit: limit, id: id) }
            if ids.count < chunk { return Found(rows: rows, next: nil, partial: false) }
            upper = ids.last
            if let deadline, ContinuousClock.now >= deadline { return Found(rows: rows, next: upper, partial: true) }
            chunk = min(chunk * 4, largestChunk)
        }
    }

    /// The first `count` of two newest-first id lists merged, an id found in both taken once: the
    /// events a connector sent and those it is a target of.
    public static func merged(_ sent: [EventID], _ received: [EventID], count: Int) -> [EventID] {
        if sent.isEmpty { return received }
        if received.isEmpty { return sent }
        var merged: [EventID] = []
        merged.reserveCapacity(min(count, sent.count + received.count))
        var i = 0, j = 0
        while merged.count < count && (i < sent.count || j < received.count) {
            let next: EventID
            if j >= received.count || (i < sent.count && sent[i] >= received[j]) {
                next = sent[i]
                if j < received.count && received[j] == next { j += 1 }
                i += 1
            } else {
                next = received[j]
                j += 1
            }
            merged.append(next)
        }
        return merged
    }

    /// A page row's delivery states, listed with commas (`group_concat`, `string_agg`), counted;
    /// a state this Patchbay does not know is left out.
    public static func stateCounts(_ list: String?) -> [DeliveryState: Int] {
        var states: [DeliveryState: Int] = [:]
        guard let list, !list.isEmpty else { return states }
        for name in list.split(separator: ",") {
            if let state = DeliveryState(rawValue: String(name)) { states[state, default: 0] += 1 }
        }
        return states
    }
}
