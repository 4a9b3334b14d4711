import Foundation
import Logging
import PatchbayConnectors
import PatchbayHub
import PatchbayStore
import ServiceLifecycle

/// One delivery worker per sink connector.
struct DeliveryService: Service, CustomStringConvertible {
    var description: String { "DeliveryService" }
    let runtime: HubRuntime
    let sinks: [(ConnectorDefinition, any Sink)]

    func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for (definition, sink) in sinks {
                    let worker = DeliveryWorker(runtime: runtime, definition: definition, sink: sink)
                    group.addTask { await worker.run() }
                }
            }
        } onGracefulShutdown: {
            runtime.stop.raise()
            Task { for wake in runtime.wakes.values { await wake.signal() } }
        }
    }
}

/// Claims due deliveries of one connector and runs its sink on them.
///
/// At most `concurrency` deliveries run at once; the token bucket (when the connector has a rate
/// limit) is drawn before claiming, so no lease burns while a delivery waits for its turn. After a
/// 429 or 503 with `Retry-After`, the whole connector holds off until then. When nothing is due the
/// worker sleeps until the next due time (read from the index, no write), at most one second so that
/// an operator's retry from another process is picked up promptly, or until an ingest wakes it.
final class DeliveryWorker: Sendable {
    let runtime: HubRuntime
    let definition: ConnectorDefinition
    let sink: any Sink
    let id: ConnectorID
    let policy: OutcomePolicy
    let inFlight = Counter64()
    let bucket: TokenBucket?
    let redaction: Redaction
    private let hold = HoldBox()
    /// Attempts in a row that failed with retryable errors (the breaker's count, this node's).
    private let failedInARow = Counter64()
    private let nextProbe = HoldBox()

    init(runtime: HubRuntime, definition: ConnectorDefinition, sink: any Sink) {
        self.runtime = runtime
        self.definition = definition
        self.sink = sink
        self.id = runtime.id(of: definition.name)
        self.policy = OutcomePolicy(retry: definition.retry)
        self.bucket = definition.rateLimit.map { TokenBucket(rate: $0.perSecond, burst: $0.burst) }
        self.redaction = Redaction(sink.secrets)
    }

    var wake: Wake { runtime.wakes[id]! }

    func run() async {
        let store = runtime.store
        let logger = runtime.logger
        let lease = max(runtime.config.lease, definition.minimumLease)
        let owner = runtime.owner
        let poll = runtime.config.poll
        await withDiscardingTaskGroup { group in
            while !runtime.stopping {
                if let until = hold.until, until > Date() {
                    await wake.wait(timeout: min(1, until.timeIntervalSinceNow))
                    continue
                }
                let running = inFlight.current
                let free = definition.concurrency - running
                // Claim in batches: with deliveries still running, wait until a quarter of the slots
                // are free instead of paying one durable claim transaction per finished delivery.
                if free <= 0 || (running > 0 && free < max(1, definition.concurrency / 4)) {
                    await wake.wait(timeout: 1)
                    continue
                }
                var wanted = min(free, runtime.config.claimBatch)
                if let bucket {
                    let (taken, nextIn) = bucket.take(upTo: wanted)
                    if taken == 0 {
                        await wake.wait(timeout: max(0.01, nextIn))
                        continue
                    }
                    wanted = taken
                }
                let claims: [Claim]
                do {
                    let id = self.id
                    let limit = wanted
                    claims = try await Blocking.run {
                        try store.claimDueDeliveries(connector: id, limit: limit, lease: lease, owner: owner)
                    }
                } catch {
                    bucket?.giveBack(wanted)
                    logger.error("cannot claim deliveries", metadata: ["connector": "\(definition.name)", "error": "\(error)"])
                    await wake.wait(timeout: 1)
                    continue
                }
                if claims.count < wanted { bucket?.giveBack(wanted - claims.count) }
                if claims.isEmpty {
                    if await probeIfBreakerOpen() { continue }
                    let id = self.id
                    let next = try? await Blocking.run { try store.nextDueAt(connector: id) }
                    // With a change feed every ingest, recovery and operator retry on any node wakes
                    // this worker, so it sleeps until the next due time (at most 30 s); without one
                    // it looks again within a second, for another process's retry.
                    let idle = runtime.hasChangeFeed ? 30.0 : 1.0
                    var wait = idle
                    if let next {
                        let dueIn = Double(next - Date().millis) / 1000
                        // Due now yet nothing claimed: the connector is paused, at its shared limit,
                        // or another hub took it.
                        wait = dueIn <= 0 ? max(poll, 0.25) : min(idle, dueIn)
                    }
                    await wake.wait(timeout: wait)
                    continue
                }
                inFlight.add(claims.count)
                for claim in claims {
                    group.addTask {
                        await self.deliver(claim)
                        self.inFlight.add(-1)
                        await self.wake.signal()
                    }
                }
            }
        }
    }

    /// With the breaker open (this connector paused by it), one waiting delivery is sent every
    /// `probe_every`; when it succeeds the connector resumes. True when a probe ran.
    private func probeIfBreakerOpen() async -> Bool {
        guard let breaker = definition.breaker, let store = runtime.store as? any CircuitBreaking else { return false }
        let now = Date()
        if let at = nextProbe.until, at > now { return false }
        let name = definition.name
        guard let connector = try? await Blocking.run({ try self.runtime.store.connector(named: name) }),
              connector.paused, connector.pausedBy == .breaker else {
            // Not open: look again in a few seconds, not on every idle turn of the loop (another
            // node's trip is seen within that).
            nextProbe.reset(now.addingTimeInterval(min(breaker.probeEvery, 5)))
            return false
        }
        nextProbe.reset(now.addingTimeInterval(breaker.probeEvery))
        let (id, lease, owner) = (self.id, max(runtime.config.lease, definition.minimumLease), runtime.owner)
        guard let claim = try? await Blocking.run({ try store.claimProbe(connector: id, lease: lease, owner: owner, now: Date()) })
        else { return false }
        inFlight.add(1)
        let delivered = await deliver(claim) == .delivered
        inFlight.add(-1)
        if delivered, (try? await Blocking.run({ try store.closeBreaker(connector: id, now: Date()) })) == true {
            failedInARow.reset()
            runtime.logger.notice("breaker closed: a probe was delivered; the connector resumes", metadata: ["connector": "\(name)"])
        } else if !delivered {
            runtime.logger.info("breaker probe failed; the connector stays paused", metadata: [
                "connector": "\(name)", "next_probe_in_s": "\(Int(breaker.probeEvery))",
            ])
        }
        return true
    }

    /// Counts retryable failures in a row; at `breaker.after` the connector is paused by the breaker.
    private func noteForBreaker(_ result: SinkResult, outcome: DeliveryOutcome) async {
        guard let breaker = definition.breaker else { return }
        switch FailureClassifier.classify(result) {
        case .delivered, .permanent:
            failedInARow.reset()
        case .retryable:
            failedInARow.add(1)
            guard failedInARow.current >= breaker.after, let store = runtime.store as? any CircuitBreaking else { return }
            failedInARow.reset()
            let reason = "paused by the breaker: the last \(breaker.after) attempts failed (\(outcome.error ?? "retryable error"))"
            let id = self.id
            if (try? await Blocking.run({ try store.tripBreaker(connector: id, reason: reason, now: Date()) })) == true {
                nextProbe.reset(Date().addingTimeInterval(breaker.probeEvery))
                runtime.logger.warning("breaker open: connector paused; probing every \(Int(breaker.probeEvery)) s", metadata: [
                    "connector": "\(definition.name)", "reason": "\(reason)",
                ])
            }
        }
    }

    @discardableResult
    private func deliver(_ claim: Claim) async -> OutcomeKind? {
        Faults.pause("delivery.before-send")
        // A worker that reaches a delivery after its lease ran out (its process was stopped or
        // starved) does not send it: the delivery is another worker's to take, and sending now would
        // run beside that worker's attempt, past the connector's concurrency. Recovery counts the attempt.
        if Date().millis >= claim.leaseExpiresAt - 200 {
            runtime.logger.warning("lease ran out before the send; not sent", metadata: [
                "connector": "\(definition.name)", "delivery": "\(claim.deliveryId)",
            ])
            return nil
        }
        let startedAt = Date()
        let clock = ContinuousClock.now
        let result = await sink.deliver(OutboundDelivery(
            deliveryId: claim.deliveryId, eventId: claim.eventId, topic: claim.topic, payload: claim.payload,
            idempotencyKey: claim.idempotencyKey, attempt: claim.attempt, correlationId: claim.correlationId))
            .redacting(redaction)
        let elapsed = clock.duration(to: .now)
        Faults.check("delivery.after-sink")
        let outcome = policy.outcome(for: claim, result: result, startedAt: startedAt, finishedAt: Date())
        let label: String
        switch outcome.result {
        case .delivered: label = "delivered"
        case .retry: label = "retrying"
        case .dead: label = "dead"
        }
        await noteForBreaker(result, outcome: outcome)
        runtime.metrics.delivery(id, outcome: label, duration: elapsed)
        if case .httpError(let status, _, let retryAfter?, _) = result, status == 429 || status == 503 {
            hold.set(Date().addingTimeInterval(min(retryAfter, definition.retry.maxRetryAfter)))
            runtime.logger.notice("target asked to slow down", metadata: [
                "connector": "\(definition.name)", "status": "\(status)", "retry_after_s": "\(Int(retryAfter))",
            ])
        }
        do {
            let record = try await runtime.outcomes.submit(outcome)
            if record == .leaseLost {
                runtime.logger.warning("lease lost before the outcome was recorded; the new holder decides", metadata: [
                    "connector": "\(definition.name)", "delivery": "\(claim.deliveryId)",
                ])
            }
        } catch {
            // The lease will expire and the delivery will be tried again: at least once.
            runtime.logger.error("cannot record an outcome", metadata: [
                "connector": "\(definition.name)", "delivery": "\(claim.deliveryId)", "error": "\(error)",
            ])
        }
        switch outcome.result {
        case .delivered: return .delivered
        case .retry: return .retry
        case .dead: return .dead
        }
    }
}

enum OutcomeKind { case delivered, retry, dead }

private final class HoldBox: @unchecked Sendable {
    private let lock = NSLock()
    private var date: Date?
    var until: Date? { lock.withLock { date } }
    func set(_ d: Date) { lock.withLock { date = max(date ?? d, d) } }
    func reset(_ d: Date) { lock.withLock { date = d } }
}

/// Lease recovery and retention.
struct MaintenanceService: Service, CustomStringConvertible {
    var description: String { "MaintenanceService" }
    let runtime: HubRuntime

    func run() async throws {
        let store = runtime.store
        let logger = runtime.logger
        let every = max(0.5, min(5, runtime.config.lease / 4))
        var lastPrune = Date.distantPast
        while !runtime.stopping {
            do {
                let recovered = try await Blocking.run { try store.recoverExpiredLeases() }
                if !recovered.isEmpty {
                    logger.notice("recovered expired leases", metadata: ["count": "\(recovered.count)"])
                    for wake in runtime.wakes.values { await wake.signal() }
                }
                if Date().timeIntervalSince(lastPrune) >= runtime.config.pruneEvery {
                    lastPrune = Date()
                    if let keep = runtime.config.keepDelivered {
                        let cutoff = Date().addingTimeInterval(-keep)
                        let pruned = try await Blocking.run { try store.prune(receivedBefore: cutoff) }
                        if pruned > 0 { logger.info("pruned finished events", metadata: ["count": "\(pruned)"]) }
                    }
                    // Signed bodies are kept for the longest replay window of any source.
                    let window = runtime.config.connectors.compactMap { definition -> TimeInterval? in
                        guard case .source(let source) = definition.built else { return nil }
                        return (source as? WebhookConnector)?.replayWindow
                    }.max() ?? 0
                    let bodyCutoff = Date().addingTimeInterval(-window)
                    _ = try await Blocking.run { try store.pruneSignedBodies(before: bodyCutoff) }
                    let rejectedCutoff = Date().addingTimeInterval(-runtime.config.keepRejected)
                    let refused = try await Blocking.run { try store.pruneRejections(before: rejectedCutoff) }
                    if refused > 0 { logger.info("pruned refused requests", metadata: ["count": "\(refused)"]) }
                    // Minute detail for a week; the hourly rollup keeps the long history.
                    let week = Date().addingTimeInterval(-8 * 86400)
                    _ = try await Blocking.run { try store.pruneMinuteRollups(before: week) }
                }
            } catch {
                logger.error("maintenance failed", metadata: ["error": "\(error)"])
            }
            try? await gracefulShutdownSleep(every)
        }
    }
}

/// Runs each batch job on its schedule; a run that did not finish (a crash) resumes at start.
struct BatchService: Service, CustomStringConvertible {
    var description: String { "BatchService" }
    let runtime: HubRuntime

    func run() async throws {
        let jobs = runtime.config.connectors.compactMap { definition -> (ConnectorDefinition, any BatchJob)? in
            guard case .batch(let job) = definition.built else { return nil }
            return (definition, job)
        }
        guard !jobs.isEmpty else { return }
        await withDiscardingTaskGroup { group in
            for (definition, job) in jobs {
                group.addTask { await self.loop(definition, job) }
            }
        }
    }

    private func loop(_ definition: ConnectorDefinition, _ job: any BatchJob) async {
        let store = runtime.store
        let logger = runtime.logger
        guard let schedule = definition.schedule else { return }
        while !runtime.stopping {
            let name = definition.name
            let last = try? await Blocking.run { try store.lastBatchRun(job: name) }
            let unfinished = last?.status == .running
            let lastStart = last.map { Date(millis: $0.startedAt) }
            // An operator's "run now" (CLI or dashboard, from another process) makes it due at once.
            let requested = try? await Blocking.run { try (store as? any BatchRunRequests)?.batchRunRequest(job: name) }
            let due = unfinished || requested != nil ? Date() : schedule.next(after: lastStart, now: Date())
            if due > Date() {
                try? await gracefulShutdownSleep(min(5, due.timeIntervalSinceNow))
                continue
            }
            guard let connector = try? await Blocking.run({ try store.connector(named: name) }) else { return }
            if connector.paused {
                try? await gracefulShutdownSleep(5)
                continue
            }
            // Several nodes: the job runs where its lock is taken. Another node that finished a run
            // while this one waited has moved the schedule on, so it is read again under the lock.
            var lock: (any JobLock)?
            if let locks = store as? any JobLocks {
                guard let taken = try? await Blocking.run({ try locks.tryJobLock(name) }) else {
                    try? await gracefulShutdownSleep(5)
                    continue
                }
                let again = try? await Blocking.run { try store.lastBatchRun(job: name) }
                let stillRequested = try? await Blocking.run { try (store as? any BatchRunRequests)?.batchRunRequest(job: name) }
                let dueAgain = again?.status == .running || stillRequested != nil
                    ? Date() : schedule.next(after: again.map { Date(millis: $0.startedAt) }, now: Date())
                if dueAgain > Date() {
                    taken.release()
                    continue
                }
                lock = taken
            }
            defer { lock?.release() }
            if let requested = requested ?? nil {
                logger.notice("batch run requested by an operator", metadata: ["job": "\(name)"])
                _ = try? await Blocking.run { try (store as? any BatchRunRequests)?.clearBatchRunRequest(job: name, upTo: requested) }
            }
            do {
                let runtime = self.runtime
                let report = try await job.run(BatchContext(
                    store: store, connector: connector, now: Date(), logger: logger,
                    targets: { topic in
                        runtime.config.targets(topic: topic, from: name).map {
                            DeliveryTarget(connectorId: runtime.id(of: $0.name), maxAttempts: $0.retry.maxAttempts)
                        }
                    }))
                for target in runtime.config.connectors where target.role == .sink {
                    await runtime.wake(runtime.id(of: target.name))
                }
                if let skipped = report.skipped {
                    logger.debug("batch run skipped", metadata: ["job": "\(name)", "why": "\(skipped)"])
                    // Nothing new (or no file yet): look again soon, at most once per period.
                    try? await gracefulShutdownSleep(min(scheduleInterval(schedule), 10))
                } else {
                    logger.info("batch run finished", metadata: [
                        "job": "\(name)", "run": "\(report.runId ?? 0)", "read": "\(report.rowsRead)",
                        "loaded": "\(report.rowsLoaded)", "rejected": "\(report.rowsRejected)", "resumed": "\(report.resumed)",
                    ])
                }
            } catch {
                logger.error("batch run failed", metadata: ["job": "\(name)", "error": "\(error)"])
                try? await gracefulShutdownSleep(5)
            }
        }
    }

    private func scheduleInterval(_ schedule: Schedule) -> TimeInterval {
        switch schedule {
        case .every(let s): return s
        case .daily: return 60
        }
    }
}

func gracefulShutdownSleep(_ seconds: TimeInterval) async throws {
    try await cancelWhenGracefulShutdown {
        try await Task.sleep(for: .milliseconds(Int64(max(0.001, seconds) * 1000)))
    }
}
