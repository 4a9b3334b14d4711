import Crypto
import Foundation
import PatchbayHub
import PatchbayText

/// `http`: delivers each event as a JSON request (POST or PUT) to one URL.
///
/// Every request carries the delivery's idempotency key (the same on every attempt), so a target
/// that honours `Idempotency-Key` absorbs the one repeat a crash can cause. The response is mapped
/// into the retry policy's classes: 2xx delivered; 408/425/429/5xx, timeouts and connection errors
/// retry (429 and 503 after `Retry-After`); other 4xx are dead at once, with the target's message.
/// A 3xx is never delivered: 301 and 308 are dead at once, other redirects retry, each naming its
/// `Location` (redirects are not followed, so credentials never go to another origin).
///
/// With `signing: standard-webhooks`, every request is signed as https://www.standardwebhooks.com
/// describes (`webhook-id`, `webhook-timestamp`, `webhook-signature`), so a receiver can check it
/// came from this hub and was not replayed.
///
/// With `auth: {type: oauth2}`, each request carries `Authorization: Bearer` with a token from the
/// runtime's token provider; a 401 asks it for a fresh token once and sends once more, and a
/// second 401 is a failure of this attempt (it retries later), never another refresh.
public struct HTTPSink: Sink {
    public var url: String
    public var method: String
    public var headers: [String: String]
    public var timeout: Duration
    public var transform: (any PayloadTransform)?
    public var idempotencyHeader: String
    /// Reads a target's error body into one line (Xero's ValidationException); nil falls back to the body.
    public var describeError: (@Sendable (_ status: Int, _ body: [UInt8]) -> String?)?
    /// Reads a 429's headers into a reason (Xero's `X-Rate-Limit-Problem`).
    public var describeRateLimit: (@Sendable (_ headers: [String: String]) -> String?)?
    public var excerptLimit: Int
    /// The configured credential header values and the secrets referenced in the URL and headers.
    public var secrets: [String]
    /// Signs each request (Standard Webhooks); nil sends it unsigned.
    public var signer: StandardWebhooksSigner?
    /// OAuth 2.0 (`auth:`): where the bearer token of each request comes from; nil sends none.
    public var oauth: OAuthBinding?
    /// Where the provider's rate-limit headers go (the `xero` sink's daily quota); nil reads none.
    public var quota: QuotaBinding?
    let transport: any HTTPTransport

    public init(url: String, method: String = "POST", headers: [String: String] = [:], timeout: Duration = .seconds(10),
                transform: (any PayloadTransform)? = nil, idempotencyHeader: String = "Idempotency-Key",
                describeError: (@Sendable (Int, [UInt8]) -> String?)? = nil,
                describeRateLimit: (@Sendable ([String: String]) -> String?)? = nil,
                excerptLimit: Int = 512, secrets: [String] = [], signer: StandardWebhooksSigner? = nil,
                oauth: OAuthBinding? = nil, transport: any HTTPTransport) {
        self.url = url
        self.method = method
        self.headers = headers
        self.timeout = timeout
        self.transform = transform
        self.idempotencyHeader = idempotencyHeader
        self.describeError = describeError
        self.describeRateLimit = describeRateLimit
        self.excerptLimit = excerptLimit
        self.secrets = secrets
        self.signer = signer
        self.oauth = oauth
        self.transport = transport
    }

    /// The request for one attempt; `now` is the signature's timestamp when the sink signs.
    public func request(for delivery: OutboundDelivery, now: Date = Date()) throws(TransformError) -> OutboundRequest {
        var body = delivery.payload
        if let transform {
            body = try transform.apply(topic: delivery.topic, payload: delivery.payload).payload
        }
        var headers = self.headers
        headers["Content-Type"] = headers["Content-Type"] ?? "application/json"
        headers["Accept"] = headers["Accept"] ?? "application/json"
        headers[idempotencyHeader] = delivery.idempotencyKey
        headers["X-Patchbay-Event-Id"] = String(delivery.eventId)
        headers["X-Patchbay-Topic"] = delivery.topic
        headers["X-Patchbay-Attempt"] = String(delivery.attempt)
        if let correlation = delivery.correlationId { headers["X-Correlation-Id"] = correlation }
        let bytes = Array(body.utf8)
        if let signer {
            // The id is the idempotency key, the same on every attempt, as the standard asks; the
            // timestamp is this attempt's, so a receiver's replay window applies to each try.
            headers.merge(signer.headers(id: delivery.idempotencyKey, timestamp: Int64(now.timeIntervalSince1970), body: bytes)) { _, new in new }
        }
        return OutboundRequest(method: method, url: url, headers: headers, body: bytes)
    }

    public func deliver(_ delivery: OutboundDelivery) async -> SinkResult {
        var request: OutboundRequest
        do {
            request = try self.request(for: delivery)
        } catch {
            return .permanentError("cannot map the payload for this target: \(error)")
        }
        var bearer: BearerToken?
        if let oauth {
            do {
                bearer = try await oauth.bearerToken(rejected: nil)
            } catch {
                return Self.result(of: error)
            }
            request.headers["Authorization"] = "Bearer \(bearer!.value)"
        }
        var note = bearer?.refreshNote
        var response: OutboundResponse
        switch await send(request) {
        case .success(let answer): response = answer
        case .failure(let failed): return failed.result.noting(note)
        }
        quota?.observe(response.headers)
        if response.status == 401, let oauth, let rejected = bearer?.value {
            // The token expired early or was revoked: one fresh token, one more try.
            do {
                bearer = try await oauth.bearerToken(rejected: rejected)
            } catch {
                return Self.result(of: error).noting("HTTP 401 with the OAuth access token held; no new one")
            }
            note = "HTTP 401 with the OAuth access token held: "
                + (bearer!.refreshed ? "refreshed it" : "took the one another request had just refreshed") + " and sent again"
            request.headers["Authorization"] = "Bearer \(bearer!.value)"
            switch await send(request) {
            case .success(let answer): response = answer
            case .failure(let failed): return failed.result.noting(note)
            }
            quota?.observe(response.headers)
            if response.status == 401 {
                let detail = describeError?(401, response.body) ?? Self.problemMessage(response.body)
                    ?? Self.firstLine(Self.excerpt(response.body, limit: excerptLimit))
                return .transientError(SafeText.line("HTTP 401 again with a freshly refreshed token"
                    + (detail.isEmpty ? "" : ": \(Self.hiding(bearer!.value, in: Self.hiding(rejected, in: detail)))")
                    + "; retrying later"))
            }
        }
        guard let bearer = bearer?.value else { return result(of: response) }
        // A target that echoes the request would put the access token in a stored excerpt.
        switch result(of: response) {
        case .success(let status, let excerpt):
            return SinkResult.success(status: status, excerpt: excerpt.map { Self.hiding(bearer, in: $0) }).noting(note)
        case .httpError(let status, let message, let retryAfter, let excerpt):
            return SinkResult.httpError(status: status, message: Self.hiding(bearer, in: message), retryAfter: retryAfter,
                                        excerpt: excerpt.map { Self.hiding(bearer, in: $0) }).noting(note)
        case let other:
            return other.noting(note)
        }
    }

    static func hiding(_ token: String, in text: String) -> String {
        text.replacingOccurrences(of: token, with: "[redacted]")
    }

    /// What a target's answer means for the delivery.
    private func result(of response: OutboundResponse) -> SinkResult {
        let excerpt = Self.excerpt(response.body, limit: excerptLimit)
        if (200..<300).contains(response.status) {
            return .success(status: response.status, excerpt: excerpt)
        }
        if (300..<400).contains(response.status) {
            // Never delivered: redirects are not followed (the transport refuses them), so the
            // payload is not where the target says it should go. `Location` tells the operator
            // where to point the connector.
            let location = response.header("Location").map { "redirected to \($0)" } ?? "redirect without a Location"
            return .httpError(status: response.status, message: SafeText.line("\(location); redirects are not followed, fix the connector's url"),
                              retryAfter: nil, excerpt: excerpt)
        }
        var message = describeError?(response.status, response.body) ?? Self.problemMessage(response.body)
            ?? Self.firstLine(excerpt)
        if response.status == 429, let problem = describeRateLimit?(response.headers) {
            message = message.isEmpty ? problem : "\(problem): \(message)"
        }
        let retryAfter = FailureClassifier.retryAfter(response.header("Retry-After"))
        if let retryAfter, response.status == 429 || response.status == 503 {
            message += message.isEmpty ? "retry after \(Int(retryAfter)) s" : " (retry after \(Int(retryAfter)) s)"
        }
        return .httpError(status: response.status, message: SafeText.line(message), retryAfter: retryAfter, excerpt: excerpt)
    }

    /// A failed send, as the result it records.
    struct SendFailure: Error {
        var result: SinkResult
    }

    private func send(_ request: OutboundRequest) async -> Result<OutboundResponse, SendFailure> {
        do {
            return .success(try await transport.send(request, timeout: timeout))
        } catch {
            switch error {
            case .timeout:
                return .failure(SendFailure(result: .timeout(
                    after: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)))
            case .connection(let message):
                return .failure(SendFailure(result: .connectionError(message)))
            }
        }
    }

    /// No token for this attempt: it waits for a retry (a revoked grant has paused the connector).
    static func result(of failure: OAuthTokenFailure) -> SinkResult {
        switch failure {
        case .unavailable(let message): return .transientError(SafeText.line("no OAuth access token: \(message)"))
        case .revoked(let reason): return .transientError(SafeText.line(reason))
        }
    }

    /// The start of a body as safe text: invalid UTF-8 replaced, control sequences removed.
    public static func excerpt(_ body: [UInt8], limit: Int) -> String? {
        guard !body.isEmpty else { return nil }
        let head = Array(body.prefix(limit))
        var text = String(decoding: head, as: UTF8.self)
        if body.count > limit { text += "…" }
        return SafeText.multiline(text)
    }

    /// The message of a JSON error body: `{"error": "insufficient stock", "sku": "X"}`,
    /// `{"message": ...}`, `{"error": {"message": ...}}`, RFC 9457's `title`/`detail`. Other short
    /// string fields follow in parentheses, so `insufficient stock (sku POT-CER-1L)`.
    static func problemMessage(_ body: [UInt8]) -> String? {
        guard body.first == UInt8(ascii: "{"),
              let object = try? JSONSerialization.jsonObject(with: Data(body.prefix(64 * 1024))) as? [String: Any] else { return nil }
        let keys = ["message", "error_description", "error", "detail", "title", "Message", "Detail", "Title"]
        var main: (key: String, text: String)?
        for key in keys {
            if let text = object[key] as? String, !text.isEmpty { main = (key, text); break }
            if let nested = object[key] as? [String: Any], let text = nested["message"] as? String { main = (key, text); break }
        }
        guard let main else { return nil }
        let extras = object.keys.sorted().filter { $0 != main.key && !keys.contains($0) }.compactMap { key -> String? in
            switch object[key] {
            case let s as String where s.count <= 40: return "\(key) \(s)"
            case let n as NSNumber: return "\(key) \(n)"
            default: return nil
            }
        }.prefix(3)
        let text = extras.isEmpty ? main.text : "\(main.text) (\(extras.joined(separator: ", ")))"
        return String(text.prefix(300))
    }

    static func firstLine(_ excerpt: String?) -> String {
        guard let excerpt else { return "" }
        let line = excerpt.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return String(line.prefix(300))
    }
}

extension ConnectorModule {
    /// Reads the keys every HTTP-based sink shares.
    static func httpSink(_ options: OptionReader, _ context: ModuleContext, defaultTimeout: TimeInterval = 10,
                         transform: (any PayloadTransform)?? = nil) -> HTTPSink? {
        var secrets: [String] = []
        let rawURL = options.string("url", required: true)
        // The URL as written, with any inline password hidden: it is quoted in problems.
        let shownURL = rawURL.map(OptionReader.hidingURLPassword)
        if let rawURL, let inline = OptionReader.inlineURLPassword(rawURL) {
            options.problem("url", "holds a password inline (\(inline)): reference an environment variable, like https://user:${API_PASSWORD}@host/")
        }
        let url = rawURL.flatMap { options.interpolated($0, key: "url") }
        if let rawURL { secrets += options.referencedSecrets(rawURL) }
        if let url, let parsed = URL(string: url), !["http", "https"].contains(parsed.scheme ?? "") {
            options.problem("url", "expected an http:// or https:// URL, found '\(shownURL ?? "")'")
        } else if let url, URL(string: url)?.host == nil {
            options.problem("url", "expected an absolute URL like https://api.example.com/orders, found '\(shownURL ?? "")'")
        }
        if let url, let password = URLComponents(string: url)?.password, !password.isEmpty { secrets.append(password) }
        let method = options.oneOf("method", ["POST", "PUT", "PATCH"]) ?? "POST"
        let headers = readAPIHeaders(options, example: "Bearer ${API_TOKEN}", secrets: &secrets)
        let timeout = options.duration("timeout", in: 0.1...600) ?? defaultTimeout
        let idempotencyHeader = options.string("idempotency_header") ?? "Idempotency-Key"
        let signer = readSigning(options, secrets: &secrets)
        let oauth = readOAuth(options, secrets: &secrets)
        let chosen: (any PayloadTransform)?
        if let transform { chosen = transform } else {
            guard let read = context.transforms.transform(from: options) else { return nil }
            chosen = read
        }
        guard let url else { return nil }
        return HTTPSink(url: url, method: method, headers: headers, timeout: .milliseconds(Int64(timeout * 1000)),
                        transform: chosen, idempotencyHeader: idempotencyHeader, secrets: secrets.uniqued(),
                        signer: signer, oauth: oauth.map(OAuthBinding.init(client:)),
                        transport: context.transport ?? context.deferredTransport)
    }

    /// `signing: standard-webhooks` with `secret: ${WEBHOOK_SECRET}` (`whsec_` and base64, as the
    /// standard's secrets are; the base64 alone is accepted too, as the webhook source accepts it).
    static func readSigning(_ options: OptionReader, secrets: inout [String]) -> StandardWebhooksSigner? {
        guard options.oneOf("signing", ["standard-webhooks"]) != nil else {
            if options.has("secret") {
                _ = options.node("secret")
                options.problem("secret", "a secret is only used to sign: add signing: standard-webhooks")
            }
            return nil
        }
        guard options.has("secret") else {
            options.problem(nil, "signing: standard-webhooks needs a secret: secret: ${WEBHOOK_SECRET}")
            return nil
        }
        guard let secret = options.secret("secret") else { return nil }
        secrets.append(secret)
        if secret.hasPrefix("whsec_") { secrets.append(String(secret.dropFirst("whsec_".count))) }
        guard let signer = StandardWebhooksSigner(secret: secret) else {
            options.problem("secret", "a Standard Webhooks secret is whsec_ followed by base64 (or the base64 alone); this value is not")
            return nil
        }
        return signer
    }
}

/// The transport HTTP sinks are built with when a configuration is loaded before any client
/// exists: the runtime binds its client when it starts (`HubConfig.transport.bind`). Until then
/// (a file only checked), nothing is ever sent. Every module that sends HTTP gets the same one, so
/// no module needs special handling by the runtime.
public final class DeferredTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var target: (any HTTPTransport)?

    public init() {}

    public func bind(_ transport: any HTTPTransport) { lock.withLock { target = transport } }

    public func send(_ request: OutboundRequest, timeout: Duration) async throws(TransportError) -> OutboundResponse {
        guard let target = lock.withLock({ target }) else {
            throw .connection("no HTTP client (configuration checked, not running)")
        }
        return try await target.send(request, timeout: timeout)
    }
}

/// Signs outgoing requests as Standard Webhooks (https://www.standardwebhooks.com):
/// `webhook-signature: v1,<base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))>`.
///
/// The key is read exactly as `WebhookVerifier` reads it, so what this hub signs its own webhook
/// source verifies.
public struct StandardWebhooksSigner: Sendable {
    private let key: SymmetricKey

    /// nil when `secret` is not `whsec_` + base64 (or the base64 alone), or decodes to nothing.
    public init?(secret: String) {
        guard let bytes = WebhookBytes.standardWebhooksKey(secret), !bytes.isEmpty else { return nil }
        key = SymmetricKey(data: bytes)
    }

    /// `v1,<base64>` for one message.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        let message = Array("\(id).\(timestamp).".utf8) + body
        return "v1," + Data(HMAC<SHA256>.authenticationCode(for: message, using: key)).base64EncodedString()
    }

    /// The three headers of a signed request.
    public func headers(id: String, timestamp: Int64, body: [UInt8]) -> [String: String] {
        ["webhook-id": id, "webhook-timestamp": String(timestamp),
         "webhook-signature": signature(id: id, timestamp: timestamp, body: body)]
    }
}

extension StandardWebhooksSigner: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Keeps the key out of logs, `print` and `dump`.
    public var description: String { "StandardWebhooksSigner(key redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
