import Crypto
import Foundation
import PatchbayStore

/// The `webhook` source: turns one signed HTTP request into one event.
///
/// `receive` checks, in this order: body size (413), signature (401), UTF-8 (400), JSON (400), topic
/// and idempotency key (400), transform (400). The first failure decides the answer, so an oversized
/// body is never hashed and an unsigned one is never parsed.
public struct WebhookConnector: WebhookSource {
    /// Where an event's topic comes from.
    public enum TopicRule: Sendable, Equatable {
        /// Always this topic.
        case fixed(String)
        /// The value of a request header, e.g. `X-Shopify-Topic` or `X-GitHub-Event`.
        case header(String)
        /// A string field at the top level of the JSON body, e.g. `type` for Stripe.
        case bodyField(String)
    }

    /// Where an event's idempotency (dedupe) key comes from.
    public enum IdempotencyRule: Sendable, Equatable {
        /// The value of a request header, e.g. `X-GitHub-Delivery`.
        case header(String)
        /// A string field at the top level of the JSON body, e.g. `id` for Stripe.
        case bodyField(String)
        /// `"sha256:"` + hex SHA-256 of the raw body, for senders that give no delivery id.
        case bodyHash
    }

    /// Longest accepted idempotency key, in Unicode scalars.
    public static let maxKeyLength = 200

    public var verifier: WebhookVerifier
    public var topic: TopicRule
    public var idempotency: IdempotencyRule
    public var transform: (any PayloadTransform)?
    public var maxBodyBytes: Int
    /// A header whose value becomes the event's correlation id; a value that is empty, longer than
    /// `maxKeyLength` or not printable is ignored rather than refused.
    public var correlationHeader: String?
    /// How long a repeat of a signed body counts as a replay, for schemes whose signature does not
    /// cover the headers the key or topic come from (Shopify, GitHub); 0 turns the check off.
    public var replayWindow: TimeInterval

    public init(verifier: WebhookVerifier, topic: TopicRule, idempotency: IdempotencyRule,
                transform: (any PayloadTransform)? = nil, maxBodyBytes: Int = 1_048_576,
                correlationHeader: String? = nil, replayWindow: TimeInterval = 86400) {
        self.verifier = verifier
        self.topic = topic
        self.idempotency = idempotency
        self.transform = transform
        self.maxBodyBytes = maxBodyBytes
        self.correlationHeader = correlationHeader
        self.replayWindow = replayWindow
    }

    /// Whether someone holding one signed request could change the key or topic and still pass the
    /// signature: true when either comes from a header the scheme does not sign. Stripe and
    /// Standard Webhooks sign what they are read from (the body; `webhook-id`); an unsigned source
    /// (`none`) has nothing to replay.
    public var headersUnsigned: Bool {
        let signed: Set<String>
        switch verifier.scheme {
        case .none: return false
        case .standardWebhooks: signed = ["webhook-id", "webhook-timestamp"]
        case .shopify, .github, .stripe: signed = []
        }
        var names: [String] = []
        if case .header(let name) = topic { names.append(name.lowercased()) }
        if case .header(let name) = idempotency { names.append(name.lowercased()) }
        return names.contains { !signed.contains($0) }
    }

    /// The usual topic and key for a sender that signs with `scheme`.
    public static func defaults(for scheme: WebhookSignatureScheme)
        -> (topic: TopicRule, idempotency: IdempotencyRule) {
        switch scheme {
        case .shopify: (.header("X-Shopify-Topic"), .header("X-Shopify-Webhook-Id"))
        case .github: (.header("X-GitHub-Event"), .header("X-GitHub-Delivery"))
        case .stripe: (.bodyField("type"), .bodyField("id"))
        case .standardWebhooks: (.bodyField("type"), .header("webhook-id"))
        case .none: (.fixed("webhook"), .bodyHash)
        }
    }

    public func receive(_ request: InboundRequest, now: Date) throws(Rejection) -> [SourceEvent] {
        let body = request.body
        guard body.count <= maxBodyBytes else {
            throw .tooLarge("body is \(body.count) bytes; limit is \(maxBodyBytes)")
        }
        try verifier.verify(request, now: now)
        if let offset = Self.firstInvalidUTF8Offset(body) {
            throw .badRequest("body is not valid UTF-8 at byte \(offset)")
        }
        let text = String(decoding: body, as: UTF8.self)
        let json = try Self.parseJSON(body)

        let eventTopic = try Self.printable(try extractTopic(request, json: json), what: "topic")
        let key = try Self.printable(try extractKey(request, json: json), what: "idempotency key")

        var outTopic = eventTopic
        var payload = text
        if let transform {
            do throws(TransformError) {
                (outTopic, payload) = try transform.apply(topic: eventTopic, payload: text)
            } catch {
                throw .badRequest("transform failed: \(error.description)")
            }
        }
        let replayGuard = replayWindow > 0 && headersUnsigned
            ? ReplayGuard(digest: WebhookBytes.hex(SHA256.hash(data: body)), window: replayWindow) : nil
        return [SourceEvent(topic: outTopic, idempotencyKey: key, payload: payload, occurredAt: nil,
                            correlationId: correlationId(request), replayGuard: replayGuard)]
    }

    // MARK: - Extraction

    private func extractTopic(_ request: InboundRequest, json: Any) throws(Rejection) -> String {
        switch topic {
        case .fixed(let value): value
        case .header(let name): try Self.headerValue(name, in: request, for: "topic")
        case .bodyField(let field): try Self.bodyField(field, in: json, for: "topic")
        }
    }

    private func extractKey(_ request: InboundRequest, json: Any) throws(Rejection) -> String {
        switch idempotency {
        case .header(let name): try Self.headerValue(name, in: request, for: "idempotency key")
        case .bodyField(let field): try Self.bodyField(field, in: json, for: "idempotency key")
        case .bodyHash: "sha256:" + WebhookBytes.hex(SHA256.hash(data: request.body))
        }
    }

    private func correlationId(_ request: InboundRequest) -> String? {
        guard let correlationHeader, let value = request.header(correlationHeader),
              (try? Self.printable(value, what: "correlation id")) != nil else { return nil }
        return value
    }

    private static func headerValue(_ name: String, in request: InboundRequest, for what: String) throws(Rejection)
        -> String {
        guard let value = request.header(name) else { throw .badRequest("missing header \(name) (the \(what))") }
        guard !value.isEmpty else { throw .badRequest("header \(name) (the \(what)) is empty") }
        return value
    }

    private static func bodyField(_ field: String, in json: Any, for what: String) throws(Rejection) -> String {
        guard let object = json as? [String: Any] else {
            throw .badRequest("body is a JSON array; the \(what) is read from field \"\(field)\" of an object")
        }
        guard let value = object[field] else {
            throw .badRequest("body has no field \"\(field)\" (the \(what))")
        }
        guard let string = value as? String else {
            throw .badRequest("body field \"\(field)\" (the \(what)) is not a string")
        }
        guard !string.isEmpty else { throw .badRequest("body field \"\(field)\" (the \(what)) is empty") }
        return string
    }

    /// Refuses values that would be awkward as keys: too long, or holding control, format or
    /// unassigned characters.
    private static func printable(_ value: String, what: String) throws(Rejection) -> String {
        let length = value.unicodeScalars.count
        guard length <= maxKeyLength else {
            throw .badRequest("\(what) is \(length) characters; limit is \(maxKeyLength)")
        }
        for (offset, scalar) in value.unicodeScalars.enumerated() {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                throw .badRequest("\(what) has an unprintable character (U+\(String(scalar.value, radix: 16, uppercase: true))) at position \(offset)")
            default:
                continue
            }
        }
        return value
    }

    // MARK: - Parsing

    private static func parseJSON(_ body: [UInt8]) throws(Rejection) -> Any {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            let nsError = error as NSError
            let detail = nsError.userInfo["NSDebugDescription"] as? String ?? nsError.localizedDescription
            throw .badRequest("body is not valid JSON: \(detail)")
        }
        guard value is [String: Any] || value is [Any] else {
            throw .badRequest("body must be a JSON object or array")
        }
        return value
    }

    /// The offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode
    /// table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or nil.
    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 { index += 1; continue }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return index
            }
            guard index + length <= count else { return index }
            guard (low...high).contains(bytes[index + 1]) else { return index }
            for next in (index + 2)..<(index + length) where !(0x80...0xBF).contains(bytes[next]) {
                return index
            }
            index += length
        }
        return nil
    }
}
