import Foundation

/// What happened on one try of a sink.
public enum SinkResult: Sendable, Equatable {
    /// The target accepted it (2xx, or the equivalent for non-HTTP sinks).
    case success(status: Int?, excerpt: String?)
    /// The target answered with an error status.
    case httpError(status: Int, message: String, retryAfter: TimeInterval?, excerpt: String?)
    case timeout(after: TimeInterval)
    case connectionError(String)
    /// A failure that no retry can fix (bad configuration, an unmappable payload).
    case permanentError(String)
    /// A failure that may pass on its own (a command's non-zero exit, a full disk).
    case transientError(String)
    /// A result with what the sink did around the send, for the attempt's history (an OAuth token
    /// refreshed before it, or after a 401 and sent again). Classified as the result it wraps.
    indirect case noted(SinkResult, note: String)

    /// The result without its note.
    public var plain: SinkResult {
        if case .noted(let result, _) = self { return result.plain }
        return self
    }

    /// The note, if any (the innermost one when notes were nested).
    public var note: String? {
        if case .noted(let result, let note) = self { return result.note ?? note }
        return nil
    }

    /// This result with `note` attached; nil leaves it as it is.
    public func noting(_ note: String?) -> SinkResult {
        guard let note, !note.isEmpty else { return self }
        return .noted(plain, note: note)
    }
}

/// The policy's verdict on a result.
public enum FailureClass: Sendable, Equatable {
    case delivered
    /// Try again; `retryAfter` when the target said when.
    case retryable(retryAfter: TimeInterval?)
    /// Dead-letter now; `pauseConnector` when the target is gone for good (HTTP 410).
    case permanent(pauseConnector: Bool)
}

public enum FailureClassifier {
    /// Timeouts, connection errors, 5xx, 408 and 429 retry; other 4xx are permanent; 410 also
    /// pauses the target connector. A redirect is a failure, never a delivery: 301 and 308 are
    /// permanent, other 3xx retry.
    public static func classify(_ result: SinkResult) -> FailureClass {
        switch result {
        case .noted(let inner, _):
            return classify(inner)
        case .success:
            return .delivered
        case .timeout, .connectionError, .transientError:
            return .retryable(retryAfter: nil)
        case .permanentError:
            return .permanent(pauseConnector: false)
        case .httpError(let status, _, let retryAfter, _):
            switch status {
            case 301, 308: return .permanent(pauseConnector: false)  // moved for good: fix the URL
            case 300..<400: return .retryable(retryAfter: nil)  // never delivered: redirects are not followed
            case 408, 425: return .retryable(retryAfter: nil)
            case 429: return .retryable(retryAfter: retryAfter)
            case 410: return .permanent(pauseConnector: true)
            case 400..<500: return .permanent(pauseConnector: false)
            case 500..<600: return .retryable(retryAfter: status == 503 ? retryAfter : nil)
            default: return .retryable(retryAfter: nil)
            }
        }
    }

    /// Parses a `Retry-After` header: delta seconds or an HTTP date.
    public static func retryAfter(_ header: String?, now: Date = Date()) -> TimeInterval? {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { return nil }
        if let seconds = Int(header), seconds >= 0 { return TimeInterval(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: header) { return max(0, date.timeIntervalSince(now)) }
        return nil
    }
}

extension SinkResult {
    public var statusCode: Int? {
        switch self {
        case .noted(let inner, _): return inner.statusCode
        case .success(let status, _): return status
        case .httpError(let status, _, _, _): return status
        default: return nil
        }
    }

    /// The error as an operator should read it; nil on success.
    public var errorMessage: String? {
        switch self {
        case .noted(let inner, _): return inner.errorMessage
        case .success: return nil
        case .httpError(let status, let message, _, _):
            return message.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(message)"
        case .timeout(let after): return "timed out after \(Int(after.rounded())) s"
        case .connectionError(let message): return "connection failed: \(message)"
        case .permanentError(let message), .transientError(let message): return message
        }
    }

    public var excerpt: String? {
        switch self {
        case .noted(let inner, _): return inner.excerpt
        case .success(_, let excerpt), .httpError(_, _, _, let excerpt): return excerpt
        default: return nil
        }
    }
}
