import Foundation
import PatchbayHub
import PatchbayStore
import PatchbayText

/// GETs from a SaaS API for a batch pull (`quickbooks-online`, `xero-invoices-pull`): the configured
/// headers, a bearer token from `auth:` when there is one (a 401 brings one refresh and one more
/// try), a 429 waited out when its `Retry-After` is within `maxWait` (three times at most), and each
/// answer's rate-limit headers handed to `quota`.
///
/// Anything else that is not 2xx or 304 is a `Failure` with the provider's own words (`describe`),
/// never with a token in it: the pull stops its run with that reason and resumes later.
struct APIReader: Sendable {
    /// How the provider is named in messages: "Xero", "QuickBooks".
    var provider: String
    var baseURL: String
    var headers: [String: String]
    var timeout: Duration
    var maxWait: TimeInterval
    var oauth: OAuthBinding?
    var quota: QuotaBinding?
    var transport: any HTTPTransport
    /// How many 429s in a row one request waits out before it gives up.
    static let maxWaits = 3

    struct Failure: Error, Equatable {
        var message: String
    }

    /// GETs `url`; returns a 2xx or 304 answer. `describe` words any other answer that is final.
    func get(_ url: String, headers extra: [String: String] = [:], what: String? = nil,
             describe: (OutboundResponse) -> String) async throws(Failure) -> OutboundResponse {
        var request = OutboundRequest(method: "GET", url: url, headers: headers, body: [])
        request.headers["Accept"] = "application/json"
        request.headers.merge(extra) { _, new in new }
        var sent: [String] = []
        // The token the API refused, once: the next one is refreshed. A token is asked for before
        // every send, so one that expired while a 429 was waited out is not sent.
        var rejected: String?
        var waits = 0
        while true {
            var bearer: String?
            if oauth != nil {
                bearer = try await token(rejected: rejected)
                sent.append(bearer!)
                request.headers["Authorization"] = "Bearer \(bearer!)"
            }
            let response: OutboundResponse
            do {
                response = try await transport.send(request, timeout: timeout)
            } catch {
                let subject = what.map { " \($0)" } ?? ""
                switch error {
                case .timeout: throw Failure(message: "\(provider) did not answer\(subject) within the timeout")
                case .connection(let why): throw Failure(message: "cannot reach \(provider) at \(baseURL): \(why)")
                }
            }
            quota?.observe(response.headers)
            switch response.status {
            case 200..<300, 304:
                return response
            case 429:
                let retryAfter = FailureClassifier.retryAfter(response.header("Retry-After"))
                if let retryAfter, retryAfter <= maxWait, waits < Self.maxWaits {
                    waits += 1
                    do {
                        try await Task.sleep(for: .milliseconds(Int64(max(0, retryAfter) * 1000)))
                    } catch {
                        throw Failure(message: "stopped while waiting out \(provider)'s rate limit")
                    }
                    continue
                }
                throw Failure(message: hiding(sent, in: describe(response)))
            case 401 where oauth != nil && rejected == nil:
                // The token expired early or was revoked: one fresh token, one more try.
                rejected = bearer
            case 401 where oauth != nil:
                throw Failure(message: hiding(sent, in: describe(response))
                    + "; HTTP 401 again with a freshly refreshed token: check the app's scopes and that the organisation is still connected")
            case 401:
                throw Failure(message: hiding(sent, in: describe(response))
                    + "; refresh the access token, or configure auth: {type: oauth2} to have the hub refresh it")
            default:
                throw Failure(message: hiding(sent, in: describe(response)))
            }
        }
    }

    private func token(rejected: String?) async throws(Failure) -> String {
        guard let oauth else { throw Failure(message: "no auth configured") }
        do {
            return try await oauth.bearerToken(rejected: rejected).value
        } catch {
            switch error {
            case .unavailable(let message): throw Failure(message: SafeText.line("no OAuth access token for \(provider): \(message)"))
            case .revoked(let reason): throw Failure(message: SafeText.line(reason))
            }
        }
    }

    private func hiding(_ tokens: [String], in text: String) -> String {
        tokens.reduce(text) { $0.replacingOccurrences(of: $1, with: "[redacted]") }
    }
}

extension BatchJob {
    /// Stops an API pull's run on what its pages met: a refused or failed request, or data it cannot
    /// read, becomes the run's reason (secrets removed, saying where the next run starts) and the run
    /// is suspended, resumable; any other error is thrown.
    static func stopPull(_ error: any Error, provider: String, cursor: BatchRunCursor, done: Int, loaded: Int,
                         secrets: [String], context: BatchContext) throws -> BatchReport {
        let reason: String
        switch error {
        case let failure as APIReader.Failure: reason = failure.message
        case let data as QuickBooksDataError: reason = "\(provider) answered data Patchbay cannot read: \(data.message)"
        default: throw error
        }
        let next = done > 0 ? "; \(done) rows read so far: the next run resumes after them" : "; nothing read yet: the next run starts again"
        let message = Redaction(secrets).apply(reason + next)
        try context.store.suspendBatchRun(cursor.runId, error: message, now: context.now)
        context.logger.warning("api pull stopped", metadata: ["job": "\(context.connector.name)", "provider": "\(provider)",
                                                              "error": "\(message)"])
        return BatchReport(runId: cursor.runId, rowsRead: done, rowsLoaded: loaded, rowsRejected: 0, resumed: cursor.resumed)
    }
}

extension ConnectorModule {
    /// The `headers:` of an API pull: credentials only by environment reference (they join
    /// `secrets`), and no `Authorization` beside `auth:`.
    static func readAPIHeaders(_ options: OptionReader, example: String, secrets: inout [String]) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value, _) in options.stringMap("headers") ?? [] {
            let sensitive = OptionReader.isCredentialHeader(name)
            if sensitive, !value.contains("${") {
                options.problem("headers", "\(name) holds a credential: reference an environment variable, like '\(example)'")
                continue
            }
            guard let resolved = options.interpolated(value, key: "headers") else { continue }
            headers[name] = resolved
            secrets += options.referencedSecrets(value)
            if sensitive { secrets += [resolved] + options.referencedValues(value) }
        }
        if options.has("auth"), let header = headers.keys.first(where: { $0.lowercased() == "authorization" }) {
            options.problem("headers", "\(header) conflicts with auth: oauth2, which sends its own bearer token: remove the header")
        }
        return headers
    }

    /// `base_url:` of an API pull: http:// or https://, `fallback` when absent.
    static func readBaseURL(_ options: OptionReader, fallback: String, example: String) -> String? {
        let base = options.interpolated(options.string("base_url") ?? fallback, key: "base_url")
        if let base, URL(string: base)?.host == nil || !["http", "https"].contains(URL(string: base)?.scheme ?? "") {
            options.problem("base_url", "expected an http:// or https:// URL like \(example)")
        }
        return base
    }
}
