import Foundation
import PatchbayModel
import PostgresNIO

/// A WHERE clause with its parameters, built piece by piece.
private struct OperatorClause {
    var parts: [String] = []
    var binds = PostgresBindings()

    /// Binds `value` and returns its placeholder (`$n`).
    mutating func bind<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value) throws -> String {
        try binds.append(value)
        return "$\(binds.count)"
    }

    /// `SELECT <columns> FROM deliveries WHERE <parts> <tail>`, with the binds.
    func query(_ head: String, tail: String = "") -> PostgresQuery {
        PostgresQuery(unsafeSQL: head + " WHERE " + parts.joined(separator: " AND ") + tail, binds: binds)
    }
}

extension PostgresStore {
    /// How many deliveries an operator action reads and changes per statement (as on SQLite).
    private static let operatorChunkSize = 10_000

    // MARK: Retry

    /// Requeues deliveries now, with a fresh set of attempts.
    ///
    /// Only `retrying`, `dead` and `discarded` deliveries move; a delivery that is already pending
    /// (for instance requeued a moment ago by another dashboard) is skipped, so a retry pressed twice
    /// requeues once. The named deliveries are locked (`FOR UPDATE`, in id order) before their
    /// states are read, so a worker's claim or record on another node cannot interleave.
    public func retry(_ ids: [DeliveryID], reason: String? = nil, now: Date = Date()) throws -> OperatorResult {
        try write { session in
            var rollups = RollupDelta()
            var due = Set<ConnectorID>()
            let millis = now.millis
            let result = try Self.forEachMovable(
                ids, session: session, allowed: \.isRequeueable,
                refusal: "only retrying, dead or discarded deliveries can be retried"
            ) { rows in
                try Self.requeue(rows, reason: reason, session: session, now: millis, rollups: &rollups)
                due.formUnion(rows.map(\.connector))
            }
            try rollups.apply(session)
            if !due.isEmpty { try PostgresChanges.notify(session, due: due) }
            return result
        }
    }

    /// Requeues every delivery the filter selects, in one transaction.
    public func retry(matching filter: FailureFilter, reason: String? = nil, now: Date = Date()) throws
        -> OperatorResult
    {
        try write { session in
            var result = OperatorResult()
            // States were named but none is failing, or the group belongs to another connector.
            guard let clause = try Self.operatorFailingWhere(filter, session: session) else { return result }
            // Locked in id order; a row a worker claimed meanwhile no longer matches and drops out.
            let rows = try session.rows(clause.query(
                "SELECT id, state, connector_id, error_signature FROM deliveries", tail: " ORDER BY id FOR UPDATE"))
                .map { try Self.operatorRow($0, session) }
            var rollups = RollupDelta()
            let millis = now.millis
            for start in stride(from: 0, to: rows.count, by: Self.operatorChunkSize) {
                let chunk = Array(rows[start..<min(start + Self.operatorChunkSize, rows.count)])
                try Self.requeue(chunk, reason: reason, session: session, now: millis, rollups: &rollups)
                result.changed += chunk.map(\.id)
            }
            try rollups.apply(session)
            if !rows.isEmpty { try PostgresChanges.notify(session, due: Set(rows.map(\.connector))) }
            return result
        }
    }

    /// Moves requeueable deliveries (locked by the caller) to pending, due now, with a fresh set of attempts.
    private static func requeue(_ rows: [OperatorDelivery], reason: String?, session: Session, now: Int64,
                                rollups: inout RollupDelta) throws {
        let ids = rows.map(\.id)
        try recordTransitions(of: ids, to: .pending, reason: reason ?? "requeued by operator", session: session, now: now)
        try session.run("""
            UPDATE deliveries SET state = \(DeliveryState.pending.rawValue), attempts = 0, next_attempt_at = \(now),
              updated_at = \(now)
            WHERE id = ANY(\(ids))
            """)
        for row in rows {
            rollups.moved(connector: row.connector, from: row.state, to: .pending, at: now,
                          oldSignature: row.signature, newSignature: row.signature)
        }
    }

    // MARK: Discard

    /// Marks deliveries discarded: they will not be tried again unless an operator retries them.
    public func discard(_ ids: [DeliveryID], reason: String? = nil, now: Date = Date()) throws -> OperatorResult {
        try write { session in try Self.discard(ids, reason: reason, session: session, now: now.millis) }
    }

    /// Discards every pending, retrying and dead delivery of one connector (or only those in
    /// `states`), in one transaction: what is left of a connector the configuration no longer names.
    public func discard(connector: ConnectorID, states: Set<DeliveryState> = [], reason: String? = nil,
                        now: Date = Date()) throws -> OperatorResult {
        try write { session in
            let chosen = DeliveryState.allCases.filter { $0.isDiscardable && (states.isEmpty || states.contains($0)) }
            // Locked in id order; a delivery a worker claimed meanwhile no longer matches and drops out.
            let ids = try session.rows("""
                SELECT id FROM deliveries WHERE connector_id = \(connector) AND state = ANY(\(chosen.map(\.rawValue)))
                ORDER BY id FOR UPDATE
                """).map { try $0.decode(DeliveryID.self) }
            return try Self.discard(ids, reason: reason, session: session, now: now.millis)
        }
    }

    private static func discard(_ ids: [DeliveryID], reason: String?, session: Session, now: Int64) throws
        -> OperatorResult
    {
        var rollups = RollupDelta()
        let why = reason ?? "discarded by operator"
        let result = try forEachMovable(
            ids, session: session, allowed: \.isDiscardable,
            refusal: "only pending, retrying or dead deliveries can be discarded"
        ) { rows in
            let ids = rows.map(\.id)
            try recordTransitions(of: ids, to: .discarded, reason: why, session: session, now: now)
            try session.run("""
                UPDATE deliveries SET state = \(DeliveryState.discarded.rawValue), next_attempt_at = NULL,
                  updated_at = \(now)
                WHERE id = ANY(\(ids))
                """)
            for row in rows {
                rollups.moved(connector: row.connector, from: row.state, to: .discarded, at: now,
                              oldSignature: row.signature, newSignature: row.signature)
            }
        }
        try rollups.apply(session)
        if !result.changed.isEmpty { try PostgresChanges.notifyWrite(session) }
        return result
    }

    // MARK: Retarget

    /// Moves deliveries to another sink connector and requeues them there, due now, with a fresh set
    /// of attempts: how an operator rescues the deliveries of a connector that was removed from the
    /// configuration or renamed (`patchbay retry ID... --to NEW`). The rules are the SQLite store's
    /// (`Store.retarget(_:to:)`).
    public func retarget(_ ids: [DeliveryID], to connector: String, reason: String? = nil,
                         now: Date = Date()) throws -> OperatorResult {
        try write { session in
            let target = try Self.retargetDestination(connector, session: session)
            return try Self.retarget(ids, to: target, reason: reason, session: session, now: now.millis)
        }
    }

    /// Moves every delivery the filter selects from its connector (which the filter must name) to
    /// `connector`, as `retarget(_:to:)` does, in one transaction.
    ///
    /// Without states or an error group, the filter selects the connector's pending deliveries too,
    /// not only its failing ones: a connector no worker serves has a queue that never moves.
    public func retarget(matching filter: FailureFilter, to connector: String, reason: String? = nil,
                         now: Date = Date()) throws -> OperatorResult {
        guard let source = filter.connectorId else {
            throw StoreError.invalidInput("name the connector to move deliveries from (--connector)")
        }
        return try write { session in
            let target = try Self.retargetDestination(connector, session: session)
            var ids: [DeliveryID] = []
            if var clause = try Self.operatorFailingWhere(filter, session: session) {
                if filter.states.isEmpty && filter.errorGroupId == nil {
                    // The failing ones or the pending ones, in one statement so they lock in id order.
                    var pending = ["connector_id = \(try clause.bind(source))", "state = 'pending'"]
                    if let date = filter.since { pending.append("updated_at >= \(try clause.bind(date.millis))") }
                    if let date = filter.until { pending.append("updated_at < \(try clause.bind(date.millis))") }
                    clause.parts = ["((" + clause.parts.joined(separator: " AND ") + ") OR ("
                        + pending.joined(separator: " AND ") + "))"]
                }
                ids = try session.rows(clause.query("SELECT id FROM deliveries", tail: " ORDER BY id FOR UPDATE"))
                    .map { try $0.decode(DeliveryID.self) }
            }
            return try Self.retarget(ids, to: target, reason: reason, session: session, now: now.millis)
        }
    }

    /// The connector deliveries may move to: a sink the running configuration names.
    static func retargetDestination(_ name: String, session: Session) throws -> RetargetDestination {
        guard let row = try session.rows("""
            SELECT id, direction, orphaned_at, max_attempts FROM connectors WHERE name = \(name)
            """).first else {
            throw StoreError.unknownConnector(name)
        }
        let (id, direction, orphanedAt, maxAttempts) = try row.decode((ConnectorID, String, Int64?, Int?).self)
        return try RetargetDestination(id: id, name: name, direction: direction, orphaned: orphanedAt != nil,
                                       maxAttempts: maxAttempts)
    }

    private static func retarget(_ ids: [DeliveryID], to target: RetargetDestination, reason: String?,
                                 session: Session, now: Int64) throws -> OperatorResult {
        var result = OperatorResult()
        var rollups = RollupDelta()
        let unique = uniqued(ids)
        // Every named delivery, locked in id order before anything is decided.
        var byId: [DeliveryID: RetargetCandidate] = [:]
        for chunk in chunks(of: unique.sorted()) {
            for row in try session.rows("""
                SELECT d.id, d.state, d.connector_id, d.error_signature, d.event_id, o.id
                FROM deliveries d LEFT JOIN deliveries o ON o.event_id = d.event_id AND o.connector_id = \(target.id)
                WHERE d.id = ANY(\(chunk))
                ORDER BY d.id
                FOR UPDATE OF d
                """) {
                let (id, state, connector, signature, event, existing) =
                    try row.decode((DeliveryID, String, ConnectorID, String?, EventID, DeliveryID?).self)
                byId[id] = RetargetCandidate(
                    delivery: OperatorDelivery(id: id, state: try deliveryState(state, session), connector: connector,
                                               signature: signature),
                    event: event, existing: existing)
            }
        }
        let why = target.transitionReason(reason)
        var eventsTaken = Set<EventID>()
        for chunk in chunks(of: unique) {
            let movable = result.retargetable(chunk, found: byId, to: target, eventsTaken: &eventsTaken)
            guard !movable.isEmpty else { continue }
            let moving = movable.map(\.id)
            // History stays where it happened: the transitions so far count for the old connector.
            try session.run("""
                UPDATE transitions t SET connector_id = d.connector_id
                FROM deliveries d
                WHERE d.id = t.delivery_id AND t.delivery_id = ANY(\(moving)) AND t.connector_id IS NULL
                """)
            try session.run("""
                INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason)
                SELECT d.id, \(now), d.state, \(DeliveryState.pending.rawValue), \(Actor.operator_.rawValue),
                  'moved from ''' || c.name || ''' ' || \(why)
                FROM deliveries d JOIN connectors c ON c.id = d.connector_id
                WHERE d.id = ANY(\(moving))
                ORDER BY d.id
                """)
            try session.run("""
                UPDATE deliveries SET connector_id = \(target.id), state = \(DeliveryState.pending.rawValue), attempts = 0,
                  max_attempts = coalesce(\(target.maxAttempts)::integer, max_attempts), next_attempt_at = \(now),
                  updated_at = \(now)
                WHERE id = ANY(\(moving))
                """)
            for row in movable {
                rollups.retargeted(from: row.connector, to: target.id, state: row.state, signature: row.signature, at: now)
            }
            result.changed += moving
        }
        try rollups.apply(session)
        if !result.changed.isEmpty { try PostgresChanges.notify(session, due: [target.id]) }
        return result
    }

    // MARK: Pause

    /// Pauses or resumes a connector; returns whether its paused state changed.
    @discardableResult
    public func setPaused(_ name: String, paused: Bool, reason: String? = nil) throws -> Bool {
        try write { session in
            guard let row = try session.rows("SELECT id, paused, paused_by FROM connectors WHERE name = \(name) FOR UPDATE")
                .first
            else {
                throw StoreError.unknownConnector(name)
            }
            let (id, current, by) = try row.decode((ConnectorID, Bool, String?).self)
            // An operator's pause takes over the breaker's: no probe resumes it then.
            if current == paused, !(paused && by == PauseCause.breaker.rawValue) { return false }
            let why: String? = paused ? (reason ?? "paused by operator") : nil
            let cause: String? = paused ? PauseCause.operator.rawValue : nil
            try session.run("""
                UPDATE connectors SET paused = \(paused), paused_reason = \(why), paused_by = \(cause) WHERE id = \(id)
                """)
            // Resumed, its queue is due again: every node's worker for it wakes.
            if paused { try PostgresChanges.notifyWrite(session) } else { try PostgresChanges.notify(session, due: [id]) }
            return true
        }
    }

    // MARK: Shared

    /// Locks the named deliveries (in id order, in chunks), reads each once, and hands `move` those
    /// whose state is `allowed`, chunk by chunk in the order given; the others are reported skipped
    /// (missing, or "it is dead; `refusal`"), in the order given, and the moved ones changed.
    private static func forEachMovable(
        _ ids: [DeliveryID], session: Session, allowed: (DeliveryState) -> Bool, refusal: String,
        _ move: ([OperatorDelivery]) throws -> Void
    ) throws -> OperatorResult {
        var result = OperatorResult()
        let unique = uniqued(ids)
        var byId: [DeliveryID: OperatorDelivery] = [:]
        for chunk in chunks(of: unique.sorted()) {
            for row in try session.rows("""
                SELECT id, state, connector_id, error_signature FROM deliveries WHERE id = ANY(\(chunk))
                ORDER BY id FOR UPDATE
                """) {
                let found = try operatorRow(row, session)
                byId[found.id] = found
            }
        }
        for chunk in chunks(of: unique) {
            let movable = result.movable(chunk, found: byId, allowed: allowed, refusal: refusal)
            guard !movable.isEmpty else { continue }
            try move(movable)
            result.changed += movable.map(\.id)
        }
        return result
    }

    /// Records the operator's transitions of the deliveries `ids` (locked) from their current state
    /// to `state`, with one `INSERT … SELECT` that reads the states from the rows: run it before the UPDATE.
    private static func recordTransitions(of ids: [DeliveryID], to state: DeliveryState, reason: String,
                                          session: Session, now: Int64) throws {
        try session.run("""
            INSERT INTO transitions(delivery_id, at, from_state, to_state, actor, reason)
            SELECT id, \(now), state, \(state.rawValue), \(Actor.operator_.rawValue), \(reason)
            FROM deliveries WHERE id = ANY(\(ids))
            ORDER BY id
            """)
    }

    /// The WHERE clause selecting a filter's failing deliveries, or nil when it selects none (states
    /// were named but none is failing, or the error group belongs to another connector than the
    /// filter's). Throws `unknownErrorGroup` as SQLite's `failingWhere` does, in the same order.
    private static func operatorFailingWhere(_ filter: FailureFilter, session: Session) throws -> OperatorClause? {
        var clause = OperatorClause()
        // The state test reads exactly like the partial indices' WHERE, so the planner can use them.
        clause.parts.append("state IN ('retrying', 'dead')")
        let states = filter.effectiveStates
        if states.isEmpty { return nil }
        if states.count == 1 { clause.parts.append("state = \(try clause.bind(states[0].rawValue))") }
        var connectorId = filter.connectorId
        if let groupId = filter.errorGroupId {
            guard let row = try session.rows(
                "SELECT connector_id, signature FROM error_groups WHERE id = \(groupId)").first else {
                throw StoreError.unknownErrorGroup(groupId)
            }
            let (groupConnector, signature) = try row.decode((ConnectorID, String).self)
            if let connectorId, connectorId != groupConnector { return nil }
            connectorId = groupConnector
            clause.parts.append("error_signature = \(try clause.bind(signature))")
        }
        if let connectorId { clause.parts.append("connector_id = \(try clause.bind(connectorId))") }
        if let since = filter.since { clause.parts.append("updated_at >= \(try clause.bind(since.millis))") }
        if let until = filter.until { clause.parts.append("updated_at < \(try clause.bind(until.millis))") }
        return clause
    }

    /// From `SELECT id, state, connector_id, error_signature`.
    private static func operatorRow(_ row: PostgresRow, _ session: Session) throws -> OperatorDelivery {
        let (id, state, connector, signature) = try row.decode((DeliveryID, String, ConnectorID, String?).self)
        return OperatorDelivery(id: id, state: try deliveryState(state, session), connector: connector, signature: signature)
    }

    private static func deliveryState(_ text: String, _ session: Session) throws -> DeliveryState {
        guard let state = DeliveryState(rawValue: text) else {
            throw StoreError.database(path: session.location.description, detail: "unknown delivery state '\(text)'")
        }
        return state
    }

    /// The ids without repeats, in the order first given.
    private static func uniqued(_ ids: [DeliveryID]) -> [DeliveryID] {
        var seen = Set<DeliveryID>()
        return ids.filter { seen.insert($0).inserted }
    }

    /// `ids` in slices of `operatorChunkSize`.
    private static func chunks(of ids: [DeliveryID]) -> [[DeliveryID]] {
        stride(from: 0, to: ids.count, by: operatorChunkSize).map {
            Array(ids[$0..<min($0 + operatorChunkSize, ids.count)])
        }
    }
}

extension PostgresStore: OperatorActions {}
