import Foundation
import PatchbayHub
@testable import PatchbayStore
import TestSupport
import Testing

/// 2026-11-18 12:00:00 UTC, a Wednesday.
private let t0 = Date(timeIntervalSince1970: 1_795_003_200)

@Suite("Delivery policies: retry, classification, signatures, outcomes")
struct PolicyTests {
    // MARK: RetryPolicy

    @Test("the nominal delay doubles from 15 s and is capped at 2 h")
    func nominalSchedule() {
        let policy = RetryPolicy.default
        #expect(policy.maxAttempts == 20)
        #expect((1...12).map { policy.nominalDelay(afterAttempt: $0) }
                == [15, 30, 60, 120, 240, 480, 960, 1920, 3840, 7200, 7200, 7200])
        #expect(policy.nominalDelay(afterAttempt: 0) == 15)
        #expect(policy.nominalDelay(afterAttempt: 10_000) == 7200)  // no overflow to infinity
        let custom = RetryPolicy(maxAttempts: 4, baseDelay: 2, multiplier: 3, maxDelay: 20, jitter: 0)
        #expect((1...4).map { custom.nominalDelay(afterAttempt: $0) } == [2, 6, 18, 20])
        #expect(custom.nominalSpan == 26)
    }

    @Test("jitter stays within ±20 % of the nominal delay")
    func jitterBounds() {
        let policy = RetryPolicy.default
        for attempt in 1...25 {
            let nominal = policy.nominalDelay(afterAttempt: attempt)
            #expect(policy.delay(afterAttempt: attempt, random: 0) == nominal * 0.8)
            #expect(policy.delay(afterAttempt: attempt, random: 0.5) == nominal)
            for random in stride(from: 0.0, to: 1.0, by: 0.05) {
                let delay = policy.delay(afterAttempt: attempt, random: random)
                #expect(delay >= nominal * 0.8 && delay < nominal * 1.2, "attempt \(attempt), random \(random)")
            }
            #expect(policy.delay(afterAttempt: attempt, random: 0.999_999) < nominal * 1.2)
        }
        // The default draws its own randomness and stays within the same bounds.
        for _ in 0..<200 {
            let delay = policy.delay(afterAttempt: 3)
            #expect(delay >= 48 && delay < 72)
        }
    }

    @Test("Retry-After is honoured over the backoff, never earlier, and clamped to the policy's maximum")
    func retryAfterHonoured() {
        let policy = RetryPolicy.default
        #expect(policy.delay(afterAttempt: 1, retryAfter: 27, random: 0) == 27)
        #expect(policy.delay(afterAttempt: 12, retryAfter: 27, random: 0) == 27)  // not the 2 h backoff
        let spread = policy.delay(afterAttempt: 1, retryAfter: 27, random: 0.999)
        #expect(spread >= 27 && spread < 27 + 2.7)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 600, random: 0.999) < 605)  // at most 5 s later
        #expect(policy.delay(afterAttempt: 1, retryAfter: 0, random: 0.5) == 0)
        #expect(policy.delay(afterAttempt: 1, retryAfter: -30, random: 0) == 0)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 10 * 86_400, random: 0) == 86_400)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 10 * 86_400, random: 0.999) < 86_405)
        var short = policy
        short.maxRetryAfter = 60
        #expect(short.delay(afterAttempt: 1, retryAfter: 3600, random: 0) == 60)
    }

    @Test("the default schedule spans about a day (between 20 and 26 hours)")
    func defaultSpan() {
        let span = RetryPolicy.default.nominalSpan
        #expect(span == 79_665)  // 15 s doubling over 9 delays, then ten of 2 h
        #expect(span > 20 * 3600 && span < 26 * 3600)
        // Even with every delay at the jitter's extremes the last attempt lands within a day and a bit.
        #expect(span * 0.8 > 16 * 3600 && span * 1.2 < 27 * 3600)
    }

    // MARK: FailureClassifier

    @Test("timeouts, connection errors, 5xx, 408 and 429 retry; other 4xx are permanent; 410 pauses")
    func classification() {
        func http(_ status: Int, retryAfter: TimeInterval? = nil) -> SinkResult {
            .httpError(status: status, message: "", retryAfter: retryAfter, excerpt: nil)
        }
        #expect(FailureClassifier.classify(.success(status: 200, excerpt: nil)) == .delivered)
        #expect(FailureClassifier.classify(.success(status: nil, excerpt: nil)) == .delivered)
        #expect(FailureClassifier.classify(.timeout(after: 30)) == .retryable(retryAfter: nil))
        #expect(FailureClassifier.classify(.connectionError("connection refused")) == .retryable(retryAfter: nil))
        #expect(FailureClassifier.classify(.transientError("exit 75")) == .retryable(retryAfter: nil))
        #expect(FailureClassifier.classify(.permanentError("no mapping for SKU")) == .permanent(pauseConnector: false))
        for status in [500, 501, 502, 503, 504, 599, 408, 425, 429] {
            #expect(FailureClassifier.classify(http(status)) == .retryable(retryAfter: nil), "\(status)")
        }
        #expect(FailureClassifier.classify(http(429, retryAfter: 27)) == .retryable(retryAfter: 27))
        #expect(FailureClassifier.classify(http(503, retryAfter: 120)) == .retryable(retryAfter: 120))
        for status in [400, 401, 403, 404, 405, 409, 413, 415, 422, 451, 499] {
            #expect(FailureClassifier.classify(http(status, retryAfter: 5)) == .permanent(pauseConnector: false),
                    "\(status)")
        }
        #expect(FailureClassifier.classify(http(410)) == .permanent(pauseConnector: true))
        // A redirect is never a delivery: moved for good is dead at once, the others retry.
        for status in [301, 308] {
            #expect(FailureClassifier.classify(http(status)) == .permanent(pauseConnector: false), "\(status)")
        }
        for status in [300, 302, 303, 307] {
            #expect(FailureClassifier.classify(http(status)) == .retryable(retryAfter: nil), "\(status)")
        }
    }

    @Test("the Retry-After header is read as delta seconds or as an HTTP date")
    func retryAfterHeader() {
        #expect(FailureClassifier.retryAfter("27", now: t0) == 27)
        #expect(FailureClassifier.retryAfter(" 120 ", now: t0) == 120)
        #expect(FailureClassifier.retryAfter("0", now: t0) == 0)
        #expect(FailureClassifier.retryAfter("Wed, 18 Nov 2026 12:01:30 GMT", now: t0) == 90)
        #expect(FailureClassifier.retryAfter("Wed, 18 Nov 2026 11:00:00 GMT", now: t0) == 0)  // already past
        #expect(FailureClassifier.retryAfter("Thu, 19 Nov 2026 12:00:00 GMT", now: t0) == 86_400)
        for bad: String? in [nil, "", "  ", "-5", "1.5", "soon", "2026-11-18T12:01:30Z"] {
            #expect(FailureClassifier.retryAfter(bad, now: t0) == nil, "\(bad ?? "nil")")
        }
        // The Xero fixture's header, as the sink would read it.
        let headers = (try? String(contentsOf: Fixtures.url("xero/rate-limit-429.headers"), encoding: .utf8)) ?? ""
        let value = headers.split(separator: "\n").first { $0.lowercased().hasPrefix("retry-after:") }
            .map { String($0.dropFirst("retry-after:".count)) }
        #expect(FailureClassifier.retryAfter(value, now: t0) == 27)
    }

    @Test("a sink result reads as an error message, a status and an excerpt")
    func sinkResultText() {
        #expect(SinkResult.httpError(status: 503, message: "", retryAfter: nil, excerpt: nil).errorMessage == "HTTP 503")
        #expect(SinkResult.httpError(status: 429, message: "Too Many Requests", retryAfter: 27, excerpt: "{}")
            .errorMessage == "HTTP 429: Too Many Requests")
        #expect(SinkResult.timeout(after: 29.6).errorMessage == "timed out after 30 s")
        #expect(SinkResult.connectionError("refused").errorMessage == "connection failed: refused")
        #expect(SinkResult.success(status: 201, excerpt: "ok").errorMessage == nil)
        #expect(SinkResult.success(status: 201, excerpt: "ok").statusCode == 201)
        #expect(SinkResult.timeout(after: 1).statusCode == nil)
        #expect(SinkResult.httpError(status: 400, message: "x", retryAfter: nil, excerpt: "body").excerpt == "body")
    }

    // MARK: ErrorSignature

    @Test("Xero rate-limit texts that differ only in numbers are one signature; 429 and 503 are two")
    func signatureGroupsRateLimits() {
        let a = ErrorSignature.of("HTTP 429: Too Many Requests (retry in 27 s)")
        let b = ErrorSignature.of("HTTP 429: Too Many Requests (retry in 3 s)")
        #expect(a == "HTTP 429: Too Many Requests (retry in # s)")
        #expect(a == b)
        let minute = ErrorSignature.of("HTTP 429: Rate limit exceeded. X-Rate-Limit-Problem: minute, X-MinLimit-Remaining: 0, X-DayLimit-Remaining: 4211")
        let later = ErrorSignature.of("HTTP 429: Rate limit exceeded. X-Rate-Limit-Problem: minute, X-MinLimit-Remaining: 0, X-DayLimit-Remaining: 17")
        #expect(minute == later)
        #expect(minute.hasPrefix("HTTP 429: Rate limit exceeded."))
        #expect(ErrorSignature.of("HTTP 503: Too Many Requests (retry in 27 s)") != a)
        // A bare status, as SinkResult.errorMessage writes it for an empty body.
        #expect(ErrorSignature.of("HTTP 429") == "HTTP 429")
        #expect(ErrorSignature.of("HTTP 429") != ErrorSignature.of("HTTP 503"))
        #expect(ErrorSignature.of("HTTP 503: Service Unavailable") == "HTTP 503: Service Unavailable")
    }

    @Test("UUIDs, quoted values, e-mail addresses, invoice numbers and times are normalised")
    func signatureNormalises() {
        #expect(ErrorSignature.of("Invoice 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed not found")
                == "Invoice <id> not found")
        #expect(ErrorSignature.of("Invoice 6f1c2a3e-0d2b-4c57-9e41-3f5a2b7c9d10 not found")
                == ErrorSignature.of("Invoice 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed not found"))
        // The messages of the Xero validation fixture.
        #expect(ErrorSignature.of("HTTP 400: Account code '2000' is not a valid code for this document.")
                == "HTTP 400: Account code '…' is not a valid code for this document.")
        #expect(ErrorSignature.of("The TaxType code 'OUTPUT9' does not exist or cannot be used for this type of transaction.")
                == ErrorSignature.of("The TaxType code 'OUTPUT2' does not exist or cannot be used for this type of transaction."))
        #expect(ErrorSignature.of(#"Field "Reference" is too long"#) == #"Field "…" is too long"#)
        #expect(ErrorSignature.of("Contact ines.moreau@example.fr already exists") == "Contact <email> already exists")
        #expect(ErrorSignature.of("No contact for a.b@example.com.") == "No contact for <email>.")
        #expect(ErrorSignature.of("Invoice number INV-1043 already exists")
                == ErrorSignature.of("Invoice number SHP-1042 already exists"))
        #expect(ErrorSignature.of("Invoice number INV-1043 already exists") == "Invoice number <id> already exists")
        #expect(ErrorSignature.of("deadline 2026-11-25T13:35:14Z passed") == ErrorSignature.of("deadline 2026-12-01T00:00:00Z passed"))
        #expect(ErrorSignature.of("timed out after 30 s") == ErrorSignature.of("timed out after 5 s"))
        #expect(ErrorSignature.of("amount 1,930.74 exceeds 1000") == "amount #,# exceeds #")
        // Words without digits are the message itself and stay.
        #expect(ErrorSignature.of("connection failed: connection refused") == "connection failed: connection refused")
        #expect(ErrorSignature.of("  spaced \n\t out  ") == "spaced out")
        #expect(ErrorSignature.of("") == "")
        // Long texts are cut.
        #expect(ErrorSignature.of(String(repeating: "word ", count: 200)).count == 200)
        #expect(ErrorSignature.of(String(repeating: "word ", count: 200), maxLength: 20).count == 20)
        // An unmatched quote is kept as text.
        #expect(ErrorSignature.of("it's 5 o'clock") == "it'…'clock")
    }

    // MARK: OutcomePolicy

    private func claim(attempt: Int, of maxAttempts: Int) -> Claim {
        Claim(deliveryId: 42, eventId: 7, connectorId: 3, attempt: attempt, maxAttempts: maxAttempts,
              leaseToken: 99, leaseExpiresAt: 0, topic: "orders/create", payload: "{}", correlationId: nil,
              idempotencyKey: "patchbay-delivery-42")
    }

    @Test("a success is delivered with its status, excerpt and duration")
    func outcomeDelivered() {
        let outcome = OutcomePolicy().outcome(
            for: claim(attempt: 1, of: 5), result: .success(status: 201, excerpt: "{\"Status\":\"OK\"}"),
            startedAt: t0, finishedAt: t0.addingTimeInterval(1.5), random: 0.5)
        #expect(outcome.result == .delivered)
        #expect(outcome.deliveryId == 42 && outcome.leaseToken == 99)
        #expect(outcome.statusCode == 201)
        #expect(outcome.durationMs == 1500)
        #expect(outcome.error == nil && outcome.errorSignature == nil && outcome.pauseConnectorReason == nil)
        #expect(outcome.responseExcerpt == "{\"Status\":\"OK\"}")
        #expect(outcome.startedAt == t0)
    }

    @Test("a retryable failure is retried after the policy's delay")
    func outcomeRetry() {
        let outcome = OutcomePolicy().outcome(
            for: claim(attempt: 2, of: 5), result: .httpError(status: 503, message: "Service Unavailable",
                                                               retryAfter: nil, excerpt: nil),
            startedAt: t0, finishedAt: t0.addingTimeInterval(2), random: 0.5)
        #expect(outcome.result == .retry(at: t0.addingTimeInterval(2 + 30)))
        #expect(outcome.error == "HTTP 503: Service Unavailable")
        #expect(outcome.errorSignature == "HTTP 503: Service Unavailable")
        #expect(outcome.statusCode == 503)
        // A clock that went backwards gives no negative duration.
        #expect(OutcomePolicy().outcome(for: claim(attempt: 1, of: 5), result: .timeout(after: 30), startedAt: t0,
                                        finishedAt: t0.addingTimeInterval(-1), random: 0).durationMs == 0)
    }

    @Test("a 429 is tried again no sooner than its Retry-After")
    func outcome429() {
        for random in [0.0, 0.3, 0.999] {
            let outcome = OutcomePolicy().outcome(
                for: claim(attempt: 1, of: 20),
                result: .httpError(status: 429, message: "Too Many Requests", retryAfter: 27, excerpt: nil),
                startedAt: t0, finishedAt: t0.addingTimeInterval(1), random: random)
            guard case .retry(let at) = outcome.result else {
                Issue.record("expected a retry, got \(outcome.result)")
                continue
            }
            let wait = at.timeIntervalSince(t0.addingTimeInterval(1))
            #expect(wait >= 27 && wait < 27 + 2.7, "random \(random)")
        }
    }

    @Test("the last attempt is dead-lettered, with the count in the error but not in the signature")
    func outcomeLastAttemptIsDead() {
        let result = SinkResult.httpError(status: 503, message: "Service Unavailable", retryAfter: nil, excerpt: nil)
        let outcome = OutcomePolicy().outcome(for: claim(attempt: 5, of: 5), result: result, startedAt: t0,
                                              finishedAt: t0, random: 0.5)
        #expect(outcome.result == .dead)
        #expect(outcome.error == "HTTP 503: Service Unavailable (gave up after 5 attempts)")
        #expect(outcome.errorSignature == "HTTP 503: Service Unavailable")
        #expect(outcome.pauseConnectorReason == nil)
        let before = OutcomePolicy().outcome(for: claim(attempt: 4, of: 5), result: result, startedAt: t0,
                                             finishedAt: t0, random: 0.5)
        #expect(before.result == .retry(at: t0.addingTimeInterval(120)))
    }

    @Test("a permanent failure is dead at once; a 410 also pauses the connector")
    func outcomePermanent() {
        let bad = OutcomePolicy().outcome(
            for: claim(attempt: 1, of: 20),
            result: .httpError(status: 400, message: "A validation exception occurred", retryAfter: nil, excerpt: nil),
            startedAt: t0, finishedAt: t0, random: 0)
        #expect(bad.result == .dead)
        #expect(bad.pauseConnectorReason == nil)
        #expect(bad.error == "HTTP 400: A validation exception occurred")
        let gone = OutcomePolicy().outcome(
            for: claim(attempt: 1, of: 20), result: .httpError(status: 410, message: "Gone", retryAfter: nil, excerpt: nil),
            startedAt: t0, finishedAt: t0, random: 0)
        #expect(gone.result == .dead)
        #expect(gone.pauseConnectorReason == "paused by the hub: the target answered 410 Gone")
    }

    @Test("a noted result is classified, worded and redacted as the result it wraps, and its note reaches the attempt")
    func notedResults() {
        let note = "HTTP 401 with the OAuth access token held: refreshed it and sent again"
        let delivered = SinkResult.success(status: 201, excerpt: "ok").noting(note)
        #expect(FailureClassifier.classify(delivered) == .delivered)
        #expect(delivered.statusCode == 201 && delivered.excerpt == "ok" && delivered.errorMessage == nil)
        let outcome = OutcomePolicy().outcome(for: claim(attempt: 1, of: 5), result: delivered, startedAt: t0, finishedAt: t0, random: 0)
        #expect(outcome.result == .delivered && outcome.note == note)
        // Classified as what it wraps: a noted 400 dead-letters, a noted 429 retries after Retry-After.
        let refused = SinkResult.httpError(status: 400, message: "bad", retryAfter: nil, excerpt: nil).noting(note)
        #expect(FailureClassifier.classify(refused) == .permanent(pauseConnector: false))
        #expect(FailureClassifier.classify(SinkResult.httpError(status: 429, message: "", retryAfter: 7, excerpt: nil).noting("x"))
            == .retryable(retryAfter: 7))
        #expect(refused.errorMessage == "HTTP 400: bad")
        // Noting twice keeps one note; nil and empty notes leave the result plain.
        #expect(delivered.noting("again") == .noted(.success(status: 201, excerpt: "ok"), note: "again"))
        #expect(SinkResult.timeout(after: 3).noting(nil) == .timeout(after: 3))
        #expect(SinkResult.timeout(after: 3).noting("") == .timeout(after: 3))
        #expect(OutcomePolicy().outcome(for: claim(attempt: 1, of: 5), result: .timeout(after: 3), startedAt: t0, finishedAt: t0,
                                        random: 0).note == nil)
        // Secrets leave the note too.
        let leaky = SinkResult.success(status: 200, excerpt: "tok-123456").noting("sent tok-123456")
        #expect(leaky.redacting(Redaction(["tok-123456"])) == .noted(.success(status: 200, excerpt: "[redacted]"), note: "sent [redacted]"))
    }
}
