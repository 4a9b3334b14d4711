import Foundation

/// Removes a connector's own secrets from what a target said before any of it is stored or shown.
///
/// Targets echo credentials more often than one would hope: a 401 page that repeats the
/// `Authorization` header, a debug body, a script that prints its environment. Whatever a sink's
/// result carries (the error message, the response excerpt) goes into `attempts`, `last_error`,
/// `status` and the dashboard, so each secret the connector was configured with is replaced by
/// `[redacted]` first, in the forms a body is likely to hold it: as is, JSON-escaped (`/` as `\/`),
/// and cut short at the end of an excerpt.
public struct Redaction: Sendable, Equatable {
    public static let marker = "[redacted]"
    /// Longest first, so a secret that contains another is replaced whole.
    public let secrets: [String]

    /// Values shorter than three characters are not secrets worth the noise of redacting them everywhere.
    public init(_ secrets: [String]) {
        var forms = Set<String>()
        for secret in secrets where secret.count >= 3 {
            forms.insert(secret)
            forms.insert(secret.replacingOccurrences(of: "/", with: "\\/"))
        }
        self.secrets = forms.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    public var isEmpty: Bool { secrets.isEmpty }

    public func apply(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var out = text
        for secret in secrets where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: Self.marker)
        }
        // An excerpt cut inside a secret ends with its first characters (then "…"): drop those too.
        let body = out.hasSuffix("…") ? String(out.dropLast()) : out
        for secret in secrets {
            var length = min(secret.count - 1, body.count)
            while length >= 4 {
                if body.hasSuffix(secret.prefix(length)) {
                    return String(body.dropLast(length)) + Self.marker + (out.hasSuffix("…") ? "…" : "")
                }
                length -= 1
            }
        }
        return out
    }

    public func apply(_ text: String?) -> String? { text.map { apply($0) } }
}

extension SinkResult {
    /// The same result with every secret of `redaction` removed from its texts.
    public func redacting(_ redaction: Redaction) -> SinkResult {
        guard !redaction.isEmpty else { return self }
        switch self {
        case .noted(let inner, let note):
            return .noted(inner.redacting(redaction), note: redaction.apply(note))
        case .success(let status, let excerpt):
            return .success(status: status, excerpt: redaction.apply(excerpt))
        case .httpError(let status, let message, let retryAfter, let excerpt):
            return .httpError(status: status, message: redaction.apply(message), retryAfter: retryAfter,
                              excerpt: redaction.apply(excerpt))
        case .timeout:
            return self
        case .connectionError(let message):
            return .connectionError(redaction.apply(message))
        case .permanentError(let message):
            return .permanentError(redaction.apply(message))
        case .transientError(let message):
            return .transientError(redaction.apply(message))
        }
    }
}
