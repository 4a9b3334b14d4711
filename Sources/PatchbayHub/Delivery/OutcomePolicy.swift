import Foundation
import PatchbayStore

/// Turns what a sink did into what the store records: the retry policy and the classifier applied.
public struct OutcomePolicy: Sendable {
    public var retry: RetryPolicy

    public init(retry: RetryPolicy = .default) {
        self.retry = retry
    }

    /// The outcome to record for `claim` after the sink returned `result`.
    public func outcome(for claim: Claim, result: SinkResult, startedAt: Date, finishedAt: Date,
                        random: Double = Double.random(in: 0..<1)) -> DeliveryOutcome {
        let duration = Int64(max(0, finishedAt.timeIntervalSince(startedAt)) * 1000)
        let classification = FailureClassifier.classify(result)
        let error = result.errorMessage
        var outcome = DeliveryOutcome(
            deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: .delivered, startedAt: startedAt,
            durationMs: duration, statusCode: result.statusCode, error: error,
            errorSignature: error.map { ErrorSignature.of($0) }, responseExcerpt: result.excerpt,
            note: result.note)
        switch classification {
        case .delivered:
            outcome.result = .delivered
        case .retryable(let retryAfter):
            let delay = retry.delay(afterAttempt: claim.attempt, retryAfter: retryAfter, random: random)
            outcome.result = claim.attempt >= claim.maxAttempts ? .dead : .retry(at: finishedAt.addingTimeInterval(delay))
            if claim.attempt >= claim.maxAttempts, let message = error {
                outcome.error = "\(message) (gave up after \(claim.attempt) attempts)"
            }
        case .permanent(let pause):
            outcome.result = .dead
            if pause {
                outcome.pauseConnectorReason = "paused by the hub: the target answered \(result.statusCode ?? 410) Gone"
            }
        }
        return outcome
    }
}
