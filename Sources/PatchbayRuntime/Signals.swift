import Foundation

/// A wake-up call for a sleeping loop: `wait(timeout:)` returns when `signal()` is called or the
/// timeout passes. A signal sent while nobody waits is kept, so it is never lost between a check
/// and the wait that follows it.
actor Wake {
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var next = 0
    private var pending = false

    func signal() {
        if waiters.isEmpty { pending = true; return }
        let all = waiters
        waiters = [:]
        for (_, continuation) in all { continuation.resume() }
    }

    /// Also returns when the waiting task is cancelled, so a loop that checks for cancellation
    /// after each wait stops at once instead of after its timeout.
    func wait(timeout: TimeInterval) async {
        if pending { pending = false; return }
        if Task.isCancelled { return }
        let id = next
        next += 1
        registering.insert(id)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                registering.remove(id)
                if cancelledEarly.remove(id) != nil { continuation.resume(); return }
                waiters[id] = continuation
                Task {
                    try? await Task.sleep(nanoseconds: UInt64(min(3600, max(0.001, timeout)) * 1e9))
                    self.expire(id)
                }
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    /// Ids between `wait` and their continuation's registration, and those of them already cancelled.
    private var registering: Set<Int> = []
    private var cancelledEarly: Set<Int> = []

    private func expire(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }

    private func cancel(_ id: Int) {
        if let waiter = waiters.removeValue(forKey: id) { waiter.resume() } else if registering.contains(id) { cancelledEarly.insert(id) }
    }
}

/// A flag set once, read from anywhere.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    var isSet: Bool { lock.withLock { set } }
    func raise() { lock.withLock { set = true } }
}

/// A counter shared between a dispatcher and its delivery tasks.
final class Counter64: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    var current: Int { lock.withLock { value } }
    func add(_ n: Int) { lock.withLock { value += n } }
    func reset() { lock.withLock { value = 0 } }
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
final class TokenBucket: @unchecked Sendable {
    private let lock = NSLock()
    private let rate: Double
    private let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(1, burst))
        self.tokens = Double(max(1, burst))
        self.last = .now
    }

    /// Takes up to `wanted` tokens; returns how many it took, and when the next one will be there.
    func take(upTo wanted: Int) -> (taken: Int, nextIn: TimeInterval) {
        lock.withLock {
            let now = ContinuousClock.now
            let elapsed = last.duration(to: now)
            last = now
            tokens = min(burst, tokens + rate * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
            let taken = min(wanted, Int(tokens))
            tokens -= Double(taken)
            let nextIn = tokens >= 1 ? 0 : (1 - tokens) / rate
            return (taken, nextIn)
        }
    }

    /// Returns unused tokens (claims that found less work than tokens taken).
    func giveBack(_ n: Int) {
        lock.withLock { tokens = min(burst, tokens + Double(n)) }
    }
}
