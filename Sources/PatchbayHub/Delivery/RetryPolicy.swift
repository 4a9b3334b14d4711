import Foundation

/// When to try a failed delivery again, and when to give up.
///
/// The default is 20 attempts: the delay doubles from 15 s and is capped at 2 h, with ±20 % jitter,
/// so the attempts span about 22 hours. Why not Sidekiq's 25 attempts over three weeks: an order that
/// has not become an invoice within a day is a problem someone must see, so a delivery that still
/// fails after an overnight outage is dead-lettered and shows up on the dashboard the next morning,
/// instead of retrying quietly for weeks. Short outages (a deploy, a rate limit) are absorbed within
/// the first minutes. Every field can be set per connector.
public struct RetryPolicy: Sendable, Equatable, Codable {
    public var maxAttempts: Int
    /// Delay before the second attempt, in seconds.
    public var baseDelay: TimeInterval
    public var multiplier: Double
    public var maxDelay: TimeInterval
    /// Fraction of the delay added or removed at random, so retries of a burst spread out.
    public var jitter: Double
    /// The longest `Retry-After` honoured; longer requests are clamped to it.
    public var maxRetryAfter: TimeInterval

    public static let `default` = RetryPolicy(
        maxAttempts: 20, baseDelay: 15, multiplier: 2, maxDelay: 7200, jitter: 0.2, maxRetryAfter: 86_400)

    public init(maxAttempts: Int, baseDelay: TimeInterval, multiplier: Double, maxDelay: TimeInterval,
                jitter: Double, maxRetryAfter: TimeInterval = 86_400) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.multiplier = multiplier
        self.maxDelay = maxDelay
        self.jitter = jitter
        self.maxRetryAfter = maxRetryAfter
    }

    /// The delay after failed attempt number `attempt` (1-based), before jitter.
    public func nominalDelay(afterAttempt attempt: Int) -> TimeInterval {
        let exponent = Double(max(0, attempt - 1))
        let delay = baseDelay * pow(multiplier, exponent)
        return min(maxDelay, delay.isFinite ? delay : maxDelay)
    }

    /// The delay after failed attempt `attempt`, with jitter drawn from `random` (0..<1).
    public func delay(afterAttempt attempt: Int, retryAfter: TimeInterval? = nil,
                      random: Double = Double.random(in: 0..<1)) -> TimeInterval {
        if let retryAfter {
            // The server said when: never earlier, and a little later so a burst does not return at once.
            let wait = min(maxRetryAfter, max(0, retryAfter))
            return wait + min(5, wait * 0.1) * random
        }
        let nominal = nominalDelay(afterAttempt: attempt)
        return max(0, nominal * (1 + jitter * (2 * random - 1)))
    }

    /// Total nominal time from the first failure to the last attempt.
    public var nominalSpan: TimeInterval {
        (1..<max(1, maxAttempts)).reduce(0) { $0 + nominalDelay(afterAttempt: $1) }
    }
}
