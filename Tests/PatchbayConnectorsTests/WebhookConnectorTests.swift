import Crypto
import Foundation
import PatchbayStore
import PatchbayConnectors
import Testing
import TestSupport

@Suite struct WebhookConnectorTests {
    // MARK: - Helpers (static members, so names cannot clash with other test files)

    static let githubSecret = "It's a Secret to Everybody"

    static func githubSignature(_ body: [UInt8], secret: String = githubSecret) -> String {
        "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// A GitHub-signed request; `extra` headers are added after the signature.
    static func githubRequest(_ body: [UInt8], event: String? = "push", delivery: String? = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                              extra: [(name: String, value: String)] = [], signature: String? = nil) -> InboundRequest {
        var headers: [(name: String, value: String)] = [("X-Hub-Signature-256", signature ?? githubSignature(body))]
        if let event { headers.append(("X-GitHub-Event", event)) }
        if let delivery { headers.append(("X-GitHub-Delivery", delivery)) }
        return InboundRequest(path: "/webhooks/github", headers: headers + extra, body: body)
    }

    static func github(maxBodyBytes: Int = 1_048_576, transform: (any PayloadTransform)? = nil,
                       correlationHeader: String? = nil) -> WebhookConnector {
        let rules = WebhookConnector.defaults(for: .github)
        return WebhookConnector(verifier: WebhookVerifier(scheme: .github, secrets: [githubSecret]),
                                topic: rules.topic, idempotency: rules.idempotency, transform: transform,
                                maxBodyBytes: maxBodyBytes, correlationHeader: correlationHeader)
    }

    static func unsigned(topic: WebhookConnector.TopicRule, idempotency: WebhookConnector.IdempotencyRule)
        -> WebhookConnector {
        WebhookConnector(verifier: WebhookVerifier(scheme: .none, secrets: []), topic: topic, idempotency: idempotency)
    }

    static func request(_ body: String, headers: [(name: String, value: String)] = []) -> InboundRequest {
        InboundRequest(path: "/webhooks/test", headers: headers, body: Array(body.utf8))
    }

    static func outcome(_ connector: WebhookConnector, _ request: InboundRequest, now: Date = .now)
        -> Result<[SourceEvent], Rejection> {
        do throws(Rejection) {
            return .success(try connector.receive(request, now: now))
        } catch {
            return .failure(error)
        }
    }

    static func rejection(_ connector: WebhookConnector, _ request: InboundRequest, now: Date = .now) -> Rejection? {
        if case .failure(let rejection) = outcome(connector, request, now: now) { return rejection }
        return nil
    }

    static func event(_ connector: WebhookConnector, _ request: InboundRequest, now: Date = .now) throws -> SourceEvent {
        let events = try outcome(connector, request, now: now).get()
        try #require(events.count == 1)
        return events[0]
    }

    struct Renaming: PayloadTransform {
        func apply(topic: String, payload: String) throws(TransformError) -> (topic: String, payload: String) {
            guard payload.contains("\"ref\"") else { throw TransformError(path: "$.ref", message: "is missing") }
            return ("renamed_" + topic, #"{"canonical":true}"#)
        }
    }

    static let pushBody = Array(#"{"ref":"refs/heads/main","after":"a1b2c3"}"#.utf8)

    // MARK: - The happy paths

    @Test func githubDeliveryBecomesOneEventWithTheRawBody() throws {
        let event = try Self.event(Self.github(), Self.githubRequest(Self.pushBody))
        // GitHub signs the body only: the body's SHA-256 (sha256sum of pushBody) guards against replays.
        #expect(event == SourceEvent(topic: "push", idempotencyKey: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                                     payload: #"{"ref":"refs/heads/main","after":"a1b2c3"}"#,
                                     replayGuard: ReplayGuard(digest: "7fd38ee2d848e4c1c53b15e5b7930937da55b41dab768ff26b00438cec1fa960",
                                                              window: 86400)))
    }

    @Test func replayGuardWhereTheSignatureLeavesTheKeyOrTopicHeaderUnsigned() {
        func unsigned(_ scheme: WebhookSignatureScheme, topic: WebhookConnector.TopicRule? = nil,
                      key: WebhookConnector.IdempotencyRule? = nil) -> Bool {
            let defaults = WebhookConnector.defaults(for: scheme)
            return WebhookConnector(verifier: WebhookVerifier(scheme: scheme, secrets: ["c2VjcmV0LXNlY3JldA=="]),
                                    topic: topic ?? defaults.topic, idempotency: key ?? defaults.idempotency).headersUnsigned
        }
        #expect(unsigned(.shopify))
        #expect(unsigned(.github))
        #expect(!unsigned(.stripe))
        #expect(unsigned(.stripe, topic: .header("X-Event-Type")))
        #expect(!unsigned(.standardWebhooks))
        #expect(unsigned(.standardWebhooks, key: .header("X-Request-Id")))
        #expect(!unsigned(.none))
    }

    @Test func shopifyFixtureWithDefaultsTakesTopicAndKeyFromHeaders() throws {
        let vectors = try JSONSerialization.jsonObject(with: Fixtures.data("webhooks/signature-vectors.json")) as? [String: Any]
        let secret = try #require((vectors?["shopify"] as? [String: Any])?["secret"] as? String)
        let body = Array(try Fixtures.data("shopify/orders-create.json"))
        let headerText = String(decoding: try Fixtures.data("shopify/orders-create.headers"), as: UTF8.self)
        var headers: [(name: String, value: String)] = []
        for line: Substring in headerText.split(whereSeparator: \.isNewline) {
            guard let colon: String.Index = line.firstIndex(of: ":") else { continue }
            let value: Substring = line[line.index(after: colon)...]
            headers.append((String(line[..<colon]), String(value).trimmingCharacters(in: .whitespaces)))
        }
        let rules = WebhookConnector.defaults(for: .shopify)
        let connector = WebhookConnector(verifier: WebhookVerifier(scheme: .shopify, secrets: [secret]),
                                         topic: rules.topic, idempotency: rules.idempotency)
        let event = try Self.event(connector, InboundRequest(path: "/webhooks/shopify", headers: headers, body: body))
        #expect(event.topic == "orders/create")
        #expect(event.idempotencyKey == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
        #expect(event.payload == String(decoding: body, as: UTF8.self))
        #expect(event.occurredAt == nil)
    }

    @Test func defaultsPerScheme() {
        typealias C = WebhookConnector
        let expected: [WebhookSignatureScheme: (C.TopicRule, C.IdempotencyRule)] = [
            .shopify: (.header("X-Shopify-Topic"), .header("X-Shopify-Webhook-Id")),
            .github: (.header("X-GitHub-Event"), .header("X-GitHub-Delivery")),
            .stripe: (.bodyField("type"), .bodyField("id")),
            .standardWebhooks: (.bodyField("type"), .header("webhook-id")),
            .none: (.fixed("webhook"), .bodyHash),
        ]
        for scheme in WebhookSignatureScheme.allCases {
            let rules = C.defaults(for: scheme)
            #expect(rules.topic == expected[scheme]?.0, "\(scheme)")
            #expect(rules.idempotency == expected[scheme]?.1, "\(scheme)")
        }
    }

    @Test func stripeDefaultsReadTypeAndIdFromTheBody() throws {
        let secret = "whsec_test_secret"
        let body = #"{"id":"evt_1QxYz","object":"event","type":"invoice.paid","data":{}}"#
        let t = 1_795_611_248
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(t).\(body)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        let header = "t=\(t),v1=" + mac.map { String(format: "%02x", $0) }.joined()
        let rules = WebhookConnector.defaults(for: .stripe)
        let connector = WebhookConnector(verifier: WebhookVerifier(scheme: .stripe, secrets: [secret]),
                                         topic: rules.topic, idempotency: rules.idempotency)
        let event = try Self.event(connector, Self.request(body, headers: [("Stripe-Signature", header)]),
                                   now: Date(timeIntervalSince1970: TimeInterval(t + 5)))
        #expect(event.topic == "invoice.paid")
        #expect(event.idempotencyKey == "evt_1QxYz")
    }

    @Test func transformOutputIsStoredAndMayRenameTheTopic() throws {
        let event = try Self.event(Self.github(transform: Renaming()), Self.githubRequest(Self.pushBody))
        #expect(event.topic == "renamed_push")
        #expect(event.payload == #"{"canonical":true}"#)
    }

    @Test func transformErrorIs400WithItsDescription() {
        let body = Array(#"{"after":"a1b2c3"}"#.utf8)
        #expect(Self.rejection(Self.github(transform: Renaming()), Self.githubRequest(body))
            == .badRequest("transform failed: $.ref: is missing"))
    }

    @Test func correlationHeaderIsCopiedWhenPrintable() throws {
        let connector = Self.github(correlationHeader: "X-Request-Id")
        let with = try Self.event(connector, Self.githubRequest(Self.pushBody, extra: [("x-request-id", "req-42")]))
        #expect(with.correlationId == "req-42")
        let without = try Self.event(connector, Self.githubRequest(Self.pushBody))
        #expect(without.correlationId == nil)
        let hostile = try Self.event(connector, Self.githubRequest(Self.pushBody, extra: [("X-Request-Id", "a\u{1B}[2Jb")]))
        #expect(hostile.correlationId == nil)
    }

    // MARK: - Idempotency keys

    @Test func bodyHashKeyIsStableAndPrefixed() throws {
        let connector = Self.unsigned(topic: .fixed("webhook"), idempotency: .bodyHash)
        let body = #"{"a":1}"#
        let first = try Self.event(connector, Self.request(body))
        let second = try Self.event(connector, Self.request(body, headers: [("X-Other", "differs")]))
        let digest = SHA256.hash(data: Array(body.utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(first.idempotencyKey == "sha256:" + digest)
        #expect(second.idempotencyKey == first.idempotencyKey)
        #expect(first.topic == "webhook")
        let other = try Self.event(connector, Self.request(#"{"a":2}"#))
        #expect(other.idempotencyKey != first.idempotencyKey)
    }

    @Test func keyAndTopicFromBodyFields() throws {
        let connector = Self.unsigned(topic: .bodyField("type"), idempotency: .bodyField("id"))
        let event = try Self.event(connector, Self.request(#"{"type":"invoice.paid","id":"evt_9","data":{"id":"inner"}}"#))
        #expect(event.topic == "invoice.paid")
        #expect(event.idempotencyKey == "evt_9")
    }

    @Test func missingTopicOrKeyIs400NamingIt() {
        #expect(Self.rejection(Self.github(), Self.githubRequest(Self.pushBody, event: nil))
            == .badRequest("missing header X-GitHub-Event (the topic)"))
        #expect(Self.rejection(Self.github(), Self.githubRequest(Self.pushBody, delivery: nil))
            == .badRequest("missing header X-GitHub-Delivery (the idempotency key)"))
        #expect(Self.rejection(Self.github(), Self.githubRequest(Self.pushBody, delivery: ""))
            == .badRequest("header X-GitHub-Delivery (the idempotency key) is empty"))
        let fields = Self.unsigned(topic: .bodyField("type"), idempotency: .bodyField("id"))
        #expect(Self.rejection(fields, Self.request(#"{"id":"evt_9"}"#))
            == .badRequest("body has no field \"type\" (the topic)"))
        #expect(Self.rejection(fields, Self.request(#"{"type":"x","id":42}"#))
            == .badRequest("body field \"id\" (the idempotency key) is not a string"))
        #expect(Self.rejection(fields, Self.request(#"{"type":"x","data":{"id":"nested"}}"#))
            == .badRequest("body has no field \"id\" (the idempotency key)"))
        #expect(Self.rejection(fields, Self.request(#"[{"type":"x","id":"y"}]"#))
            == .badRequest("body is a JSON array; the topic is read from field \"type\" of an object"))
    }

    @Test func keysLongerThan200OrUnprintableAre400() throws {
        let connector = Self.unsigned(topic: .fixed("t"), idempotency: .header("Idempotency-Key"))
        let max = String(repeating: "k", count: 200)
        #expect(try Self.event(connector, Self.request("{}", headers: [("Idempotency-Key", max)])).idempotencyKey == max)
        #expect(Self.rejection(connector, Self.request("{}", headers: [("Idempotency-Key", max + "k")]))
            == .badRequest("idempotency key is 201 characters; limit is 200"))
        #expect(Self.rejection(connector, Self.request("{}", headers: [("Idempotency-Key", "ab\u{7}c")]))
            == .badRequest("idempotency key has an unprintable character (U+7) at position 2"))
        #expect(Self.rejection(connector, Self.request("{}", headers: [("Idempotency-Key", "a\u{200B}")]))?.status == 400)
        #expect(try Self.event(connector, Self.request("{}", headers: [("Idempotency-Key", "commande-é-42")])).idempotencyKey
            == "commande-é-42")
    }

    // MARK: - Order of checks: 413, then 401, then 400

    @Test func oversizedBodyIs413BeforeTheSignatureIsChecked() {
        let body = [UInt8](repeating: UInt8(ascii: " "), count: 5_242_880)
        let rejection = Self.rejection(Self.github(), Self.githubRequest(body, signature: "sha256=bad"))
        #expect(rejection == .tooLarge("body is 5242880 bytes; limit is 1048576"))
        // Exactly at the limit is not too large: the next check (signature) decides.
        let atLimit = [UInt8](repeating: UInt8(ascii: " "), count: 16)
        #expect(Self.rejection(Self.github(maxBodyBytes: 16), Self.githubRequest(atLimit, signature: "sha256=bad"))?.status == 401)
        #expect(Self.rejection(Self.github(maxBodyBytes: 15), Self.githubRequest(atLimit, signature: "sha256=bad"))
            == .tooLarge("body is 16 bytes; limit is 15"))
    }

    @Test func badSignatureIs401BeforeTheBodyIsParsed() {
        let notJSON = Array("not json at all \u{FF}".utf8) + [0xFF]
        let rejection = Self.rejection(Self.github(), Self.githubRequest(notJSON, event: nil, signature: Self.githubSignature(notJSON, secret: "wrong")))
        #expect(rejection == .unauthorized("header X-Hub-Signature-256: no signature matched (1 secret tried)"))
        let unsigned = InboundRequest(path: "/", headers: [("X-GitHub-Event", "push")], body: notJSON)
        #expect(Self.rejection(Self.github(), unsigned) == .unauthorized("missing header X-Hub-Signature-256"))
        // Correctly signed, the same body gets as far as the UTF-8 check.
        #expect(Self.rejection(Self.github(), Self.githubRequest(notJSON))
            == .badRequest("body is not valid UTF-8 at byte \(notJSON.count - 1)"))
    }

    @Test func nonUTF8BodyIs400WithTheByteOffset() {
        var body = Array(#"{"ref":"refs/heads/main"}"#.utf8)
        body[17] = 0xC3  // a lead byte followed by an ASCII byte
        #expect(Self.rejection(Self.github(), Self.githubRequest(body))
            == .badRequest("body is not valid UTF-8 at byte 17"))
        let cases: [([UInt8], Int)] = [
            ([0x7B, 0xFF, 0x7D], 1),                  // never valid
            ([0x7B, 0xC0, 0xAF, 0x7D], 1),            // overlong "/"
            ([0x7B, 0xED, 0xA0, 0x80, 0x7D], 1),      // a surrogate
            ([0x7B, 0xF4, 0x90, 0x80, 0x80, 0x7D], 1),// above U+10FFFF
            ([0x7B, 0x22, 0xE2, 0x82], 2),            // truncated at the end
        ]
        for (bytes, offset) in cases {
            #expect(Self.rejection(Self.github(), Self.githubRequest(bytes))
                == .badRequest("body is not valid UTF-8 at byte \(offset)"), "\(bytes)")
        }
    }

    @Test func validMultibyteUTF8IsAccepted() throws {
        let body = Array(#"{"name":"Inès Moreau 🧾 – 東京"}"#.utf8)
        #expect(try Self.event(Self.github(), Self.githubRequest(body)).payload == #"{"name":"Inès Moreau 🧾 – 東京"}"#)
    }

    @Test func malformedJSONIs400() {
        for text in [#"{"ref":"#, "{'a':1}", "", "   ", #"{"a":1} trailing"#] {
            let rejection = Self.rejection(Self.github(), Self.githubRequest(Array(text.utf8)))
            #expect(rejection?.status == 400, "\(text)")
            #expect(rejection?.reason.hasPrefix("body is not valid JSON: ") == true, "\(rejection?.reason ?? "accepted")")
        }
    }

    @Test func jsonScalarsAreRefused() {
        for text in ["42", #""text""#, "null", "true"] {
            #expect(Self.rejection(Self.github(), Self.githubRequest(Array(text.utf8)))
                == .badRequest("body must be a JSON object or array"), "\(text)")
        }
        // An array is accepted when the rules do not read the body.
        #expect(Self.rejection(Self.github(), Self.githubRequest(Array("[1,2]".utf8))) == nil)
    }

    @Test func deeplyNestedJSONDoesNotCrash() {
        let body = Array(String(repeating: "[", count: 100_000).utf8)
        #expect(Self.rejection(Self.github(), Self.githubRequest(body))?.status == 400)
    }

    // MARK: - Hostile input

    @Test func hostileHeaderValuesDoNotCrash() {
        let values = ["", "\u{0}", "\r\n", String(repeating: "ä", count: 100_000), "t=,v1=", "sha256=\u{1F600}",
                      "\u{202E}evil", String(repeating: "=,", count: 50_000)]
        let names = ["X-Hub-Signature-256", "X-GitHub-Event", "X-GitHub-Delivery", "X-Request-Id", "Content-Type"]
        let connector = Self.github(correlationHeader: "X-Request-Id")
        for value in values {
            // The hostile value in every position, signature included (401) ...
            let everywhere = InboundRequest(path: "/", headers: names.map { ($0, value) }, body: Self.pushBody)
            #expect(Self.rejection(connector, everywhere)?.status == 401)
            // ... and, with a valid signature, as topic, key and correlation id (400 or accepted).
            let signed = Self.githubRequest(Self.pushBody, event: value, delivery: value, extra: [("X-Request-Id", value)])
            switch Self.outcome(connector, signed) {
            case .success(let events): #expect(events.count == 1)
            case .failure(let rejection): #expect(rejection.status == 400, "\(rejection)")
            }
        }
    }
}
